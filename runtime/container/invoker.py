"""Who pyrunc runs as and on what host: the default state root, whether cgroup permission
errors are ignored and whether systemd can manage cgroups, by runc's rules (its ``--root``
default, global ``--rootless`` and ``--systemd-cgroup``).  What the CLI's flags mean here
is found out here, so that cli/ only parses.
Layer: container (may import process, spec, linux and the base).

- ``--root``: ``/run/pyrunc`` for the real root; ``$XDG_RUNTIME_DIR/pyrunc`` for any
  other euid (and for euid 0 inside a user namespace unless ``USER`` is ``root``) when
  ``XDG_RUNTIME_DIR`` is set.  runc has no other fallback: without it the default stays
  ``/run/pyrunc``, which an unprivileged user cannot write (the error says so).
- ``--rootless auto|true|false``: auto means true for a non-root euid and for euid 0 in
  a user namespace (it cannot know whether its cgroups were delegated), else false.
"""

import os

from pyrunc.runtime.errors import PyruncError

DEFAULT_ROOT = "/run/pyrunc"


def in_user_namespace() -> bool:
    """Not in the initial user namespace: /proc/self/uid_map is not the identity of all
    4294967295 ids (user_namespaces(7))."""
    try:
        with open("/proc/self/uid_map") as f:
            fields = f.read().split()
    except OSError:
        return False
    return fields != ["0", "0", "4294967295"]


def honours_xdg_runtime_dir() -> bool:
    if os.geteuid() != 0:
        return True
    if not in_user_namespace():
        return False  # the real root keeps /run/pyrunc even with XDG_RUNTIME_DIR=/run/user/0
    return os.environ.get("USER") != "root"


def default_root() -> str:
    """The state root when ``--root`` is not given; an XDG one is made 0700 and sticky
    (the XDG Base Directory spec: a file there without the sticky bit may be pruned)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if not xdg or not honours_xdg_runtime_dir():
        return DEFAULT_ROOT
    root = os.path.join(xdg, "pyrunc")
    try:
        os.makedirs(root, 0o700, exist_ok=True)
        os.chmod(root, 0o1700)
    except OSError as e:
        raise PyruncError(f"the path in $XDG_RUNTIME_DIR must be writable by the user: "
                          f"{root}: {(e.strerror or str(e)).lower()}") from None
    return root


def parse_bool_or_auto(value: str) -> bool | None:
    """None for auto (or empty); Go's strconv.ParseBool spellings otherwise."""
    if value == "" or value.lower() == "auto":
        return None
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise PyruncError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def rootless_cgroups(flag: str) -> bool:
    """Whether cgroup permission errors are ignored (``--rootless``)."""
    chosen = parse_bool_or_auto(flag)
    if chosen is not None:
        return chosen
    return os.geteuid() != 0 or in_user_namespace()


def check_systemd_cgroup() -> None:
    """--systemd-cgroup needs systemd managing the host (runc's check and text)."""
    if not os.path.isdir("/run/systemd/system"):
        raise PyruncError("systemd not running on this host, cannot use systemd cgroups manager")  # runc 1.1.5, 1.5
