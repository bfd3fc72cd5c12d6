"""The process of ``exec`` (runc exec), put together in one place and handed on whole:
from a process JSON (``--process``, checked like config.json's ``process``) or from the
container's own config.json with the command line's overrides (args, --tty, --cwd, --env,
--user, --additional-gids, --no-new-privs, --cap), then the container-wide fields a
process JSON cannot carry (linux.seccomp, linux.personality, linux.memoryPolicy) and the
LSM flags.
Layer: spec (between process and linux: may import linux's pure helpers and the base).

This is the one documented point where an exec Process is derived: the bundle's Plan is
built here for this call only and its process is copied, never changed in place, and
nothing below receives a Process that is changed afterwards.  Knows nothing of the
container's state: the caller gives the bundle (None: no state) and how to ask whether the
running container has a seccomp filter.
"""

import os
from collections.abc import Callable

from pyrunc.runtime.errors import PyruncError
from pyrunc.spec.plan import Plan, Process, derive


class ExecRequest:
    """exec's command line, as parsed by the CLI."""

    __slots__ = ("process_file", "args", "tty", "cwd", "env", "user", "additional_gids", "no_new_privs", "caps",
                 "apparmor", "process_label")

    def __init__(self, process_file: str, args: list[str], tty: bool, cwd: str, env: list[str], user: str,
                 additional_gids: list[str], no_new_privs: bool, caps: list[str], apparmor: str,
                 process_label: str) -> None:
        self.process_file = process_file
        self.args = args
        self.tty = tty
        self.cwd = cwd
        self.env = env
        self.user = user
        self.additional_gids = additional_gids
        self.no_new_privs = no_new_privs
        self.caps = caps
        self.apparmor = apparmor
        self.process_label = process_label


class _Bundle:
    """The plan of the bundle the container was created from, built at most once per call;
    None when the bundle is gone."""

    def __init__(self, bundle: str | None) -> None:
        self._bundle = bundle
        self._plan: Plan | None = None
        self._built = False

    def plan(self) -> Plan | None:
        if not self._built:
            from pyrunc.spec.load import build, read_config

            ok = self._bundle is not None and os.path.isdir(self._bundle)
            self._plan = build(read_config(self._bundle), self._bundle) if ok and self._bundle else None
            self._built = True
        return self._plan


def exec_process(req: ExecRequest, bundle: str | None, has_seccomp_filter: Callable[[], bool]) -> Process:
    """The checked Process ``exec`` runs (runc's rules and texts)."""
    b = _Bundle(bundle)
    proc = _process_only(req, b)
    _container_wide(req, proc, b, has_seccomp_filter)
    _lsm_flags(req, proc)
    return proc


def _lsm_flags(req: ExecRequest, proc: Process) -> None:
    """--apparmor and --process-label: the process's labels, refused as config.json's are
    where the host has no such LSM."""
    from pyrunc.spec.load import check_lsm

    if req.apparmor:
        check_lsm("--apparmor", "apparmor")
        proc.apparmor_profile = req.apparmor
    if req.process_label:
        check_lsm("--process-label", "selinux")
        proc.selinux_label = req.process_label


def _container_wide(req: ExecRequest, proc: Process, b: _Bundle, has_seccomp_filter: Callable[[], bool]) -> None:
    """The container's linux.seccomp and linux.personality apply to an exec'd process
    too (runc); a process JSON cannot carry them, so they come from the bundle's config."""
    if req.process_file:
        base = b.plan()
        if base is not None:
            proc.seccomp, proc.personality = base.seccomp, base.personality
            proc.memory_policy = base.memory_policy
        elif has_seccomp_filter():
            raise PyruncError("the container's bundle is gone: its seccomp profile cannot be applied to "
                              "the new process")


def _process_only(req: ExecRequest, b: _Bundle) -> Process:
    from pyrunc.spec import caps as capnames
    from pyrunc.spec.load import load_process_json

    if req.process_file:
        try:
            with open(req.process_file) as f:
                text = f.read()
        except OSError as e:
            raise PyruncError(f"open {req.process_file}: {(e.strerror or '').lower()}") from None
        proc = load_process_json(text)
        from pyrunc.runtime import jsonin

        raw = jsonin.loads(text)
        if isinstance(raw, dict) and ("capabilities" not in raw or "noNewPrivileges" not in raw
                                      or "execCPUAffinity" not in raw):
            # runc: what the process JSON leaves out comes from the container's config.
            plan = b.plan()
            base = plan.process if plan is not None else None
            if "capabilities" not in raw:
                if base is None:
                    raise PyruncError("--process has no capabilities and the container's bundle is gone")
                proc.capabilities = base.capabilities
            if "noNewPrivileges" not in raw and base is not None:
                proc.no_new_privileges = base.no_new_privileges
            if "execCPUAffinity" not in raw and base is not None:
                # runc: the container's execCPUAffinity unless the process JSON has its own.
                proc.exec_cpu_affinity = base.exec_cpu_affinity
        return proc
    if not req.args:
        raise PyruncError("process args cannot be empty")
    plan = b.plan()
    if plan is None:
        raise PyruncError("the container's bundle is gone: give the process with --process")
    if plan.process is None:
        raise PyruncError("the container's config.json has no process: give one with --process")
    # A copy: the bundle's process (and its lists) stay as config.json has them.
    proc = derive(plan.process)
    proc.args = list(req.args)
    proc.terminal = req.tty
    if req.cwd:
        proc.cwd = req.cwd
    env = list(proc.env)
    for e in req.env:
        if "=" not in e:
            raise PyruncError(f'unable to start container process: invalid environment variable: "{e}"')
        key = e.split("=", 1)[0] + "="
        env = [x for x in env if not x.startswith(key)] + [e]
    proc.env = env
    if req.user:
        uid, _, gid = req.user.partition(":")
        # runc's order and texts (strconv.Atoi's): the gid is parsed first.
        for what, v in (("gid", gid), ("uid", uid)):
            if (v or what == "uid") and not v.lstrip("+-").isdigit():
                raise PyruncError(f'parsing {v} as int for {what} failed: strconv.Atoi: parsing "{v}": '
                                  "invalid syntax")
        proc.uid = int(uid)
        proc.gid = int(gid) if gid else proc.gid
    gids = list(proc.additional_gids)
    for gid in req.additional_gids:
        try:
            gids.append(int(gid))
        except ValueError:
            raise PyruncError(f"--additional-gids {gid!r}: not a number") from None
    proc.additional_gids = gids
    if req.no_new_privs:
        proc.no_new_privileges = True
    if req.caps and proc.capabilities is not None:
        caps = derive(proc.capabilities)
        for field in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            setattr(caps, field, list(getattr(caps, field)))
        for name in req.caps:
            n = capnames.NUMBERS.get(name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper())
            if n is None:
                raise PyruncError(f"--cap {name!r}: unknown capability")
            for field in ("bounding", "effective", "permitted"):
                getattr(caps, field).append(n)
            if n in caps.inheritable:  # runc: ambient only where the spec already allows it
                caps.ambient.append(n)
        proc.capabilities = caps
    return proc


__all__ = ["ExecRequest", "exec_process"]
