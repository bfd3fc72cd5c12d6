"""The process's credentials (credentials(7)): capabilities (all five sets), groups, gid and uid,
switched to the config's process.user and process.capabilities by :func:`switch`.
Layer: process (may import spec, linux and the base).

The order, and why (capabilities(7)):
1. drop from the bounding set what is not listed, while we still hold CAP_SETPCAP;
2. PR_SET_KEEPCAPS, so setuid away from 0 keeps the permitted set;
3. setgroups, then setgid, then setuid (setgroups/setgid need CAP_SETGID, lost after setuid);
4. capset the effective/permitted/inheritable sets;
5. raise the ambient set (each needs to be permitted and inheritable already).
python-prctl is not used here: it has no ambient call; ctypes covers all five steps.
"""

import os

from pyrunc.runtime import log
from pyrunc.runtime.errors import PyruncError, SysError
from pyrunc.runtime.linux import libc


def _mask(caps: list[int], last: int) -> int:
    m = 0
    for c in caps:
        if c <= last:
            m |= 1 << c
    return m


def switch(proc) -> None:  # proc: pyrunc.spec.plan.Process
    caps = proc.capabilities
    if caps is not None:
        from pyrunc.spec.caps import NAMES, last_cap

        last = last_cap()
        if caps.unknown:
            # config.md 1.3.0: unknown capabilities are a warning, not an error.  runc's one
            # line (1.1.5 and 1.5), the names sorted as Go prints a slice.
            names = " ".join(sorted({name for _path, name in caps.unknown}))
            log.warn(f"ignoring unknown or unavailable capabilities: [{names}]")
        for field in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            for cnum in getattr(caps, field):
                if cnum > last:
                    log.warn(f"process.capabilities.{field}: {NAMES[cnum]} is not supported by this kernel, ignored")
        # A capability the runtime does not hold itself (not in its bounding set) is not
        # dropped quietly: capset refuses it below and create fails, as with runc 1.1 and
        # later ("unable to apply caps: operation not permitted"), so that a container
        # never runs with less than it asked for.
        keep = set(caps.bounding)
        for cnum in range(last + 1):
            if cnum not in keep:
                libc.prctl(libc.PR_CAPBSET_DROP, cnum, what="drop bounding capability")
        libc.prctl(libc.PR_SET_KEEPCAPS, 1, what="set keep-caps")
    try:
        _setgroups(proc.additional_gids)
        os.setresgid(proc.gid, proc.gid, proc.gid)
        os.setresuid(proc.uid, proc.uid, proc.uid)
    except OSError as e:
        raise PyruncError(f"process.user: set uid {proc.uid} gid {proc.gid}: {(e.strerror or '').lower()}") from None
    if caps is not None:
        libc.prctl(libc.PR_SET_KEEPCAPS, 0, what="clear keep-caps")
        last_mask = (1 << (last + 1)) - 1
        try:
            libc.capset(_mask(caps.effective, last) & last_mask, _mask(caps.permitted, last) & last_mask,
                        _mask(caps.inheritable, last) & last_mask)
        except SysError as e:
            raise PyruncError(f"unable to apply caps: {os.strerror(e.errno).lower()}") from None
        libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_CLEAR_ALL, what="clear ambient capabilities")
        for cnum in caps.ambient:
            if cnum > last:
                continue
            try:
                libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_RAISE, cnum, what="raise ambient")
            except SysError as e:
                from pyrunc.spec.caps import NAMES

                # runc 1.5's warning and text (1.1.5 dropped it silently).
                log.warn(f"can't raise ambient capability {NAMES[cnum]}: {os.strerror(e.errno).lower()}")


def _setgroups(gids: list[int]) -> None:
    try:
        os.setgroups(gids)
    except PermissionError:
        # In a user namespace with setgroups denied, only an empty list could pass.
        if gids:
            raise
