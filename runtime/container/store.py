"""The on-disk state of containers: ``<root>/<id>/state``, one directory per container.

The state file is written atomically (temporary file, fsync, rename, fsync of the
directory), so readers take no lock and never see a torn file.  Its format is lines of
``key=value`` with ``\\`` and newlines escaped: it loads without ``json`` (which costs
several milliseconds of start-up) on the paths of start/state/kill/delete.  Values that
are JSON (annotations, poststop hooks) are kept as JSON text and decoded only when used.

A directory without a state file is a container still being created (status
``creating``); the ``creator`` file names the creating process, so a crashed create can
be told from one in progress.
"""

import errno
import fcntl
import os

from pyrunc.runtime.errors import Exists, InvalidID, NotExist, PyruncError

STATE = "state"
FIFO = "exec.fifo"
CREATOR = "creator"
_MAGIC = "pyrunc-state 1"


_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def validate_id(cid: str) -> None:
    """runc (1.1.5 and 1.5): not empty, only [A-Za-z0-9_+-.], not . or .. (and, ours,
    at most 1024 characters)."""
    if not cid or cid in (".", "..") or not _ID_CHARS.issuperset(cid) or len(cid) > 1024:
        raise InvalidID()


def container_dir(root: str, cid: str) -> str:
    validate_id(cid)
    return os.path.join(root, cid)


class State:
    """What a container's state file holds."""

    __slots__ = ("id", "pid", "start", "bundle", "rootfs", "created", "annotations", "cgroups", "made_cgroups",
                 "hooks", "config_version", "tty", "own_pidns", "cgroup_driver")

    def __init__(self) -> None:
        self.id = ""
        self.pid = 0
        self.start = 0
        self.bundle = ""
        self.rootfs = ""
        self.created = ""
        self.annotations = ""  # JSON text of the annotations object, "" when none
        self.cgroups: list[str] = []  # the container's cgroup in each hierarchy
        self.made_cgroups: list[str] = []  # the directories create made (removed by delete)
        self.hooks = ""  # JSON text of the poststart/poststop hooks, "" when none
        self.config_version = ""
        self.tty = False
        self.own_pidns = True  # a new pid namespace: the init's death ends every process
        #: the cgroup manager's driver that made the cgroups ("fs", "fs2", "systemd"; "" in a
        #: state written before it was recorded: this host's fs driver)
        self.cgroup_driver = ""


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _unesc(v: str) -> str:
    if "\\" not in v:
        return v
    out = []
    i = 0
    while i < len(v):
        ch = v[i]
        if ch == "\\" and i + 1 < len(v):
            nxt = v[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def encode(st: State) -> str:
    lines = [_MAGIC]
    for key in ("id", "pid", "start", "bundle", "rootfs", "created", "annotations", "hooks",
                "config_version", "tty", "own_pidns", "cgroup_driver"):
        lines.append(f"{key}={_esc(str(getattr(st, key)))}")
    for cg in st.cgroups:
        lines.append(f"cgroup={_esc(cg)}")
    for cg in st.made_cgroups:
        lines.append(f"cgroup_made={_esc(cg)}")
    return "\n".join(lines) + "\n"


def decode(text: str, where: str) -> State:
    lines = text.split("\n")
    if not lines or lines[0] != _MAGIC:
        raise PyruncError(f"{where}: not a pyrunc state file")
    if "\x00" in text:
        raise PyruncError(f"{where}: corrupt state file")
    st = State()
    try:
        for line in lines[1:]:
            if not line:
                continue
            key, sep, val = line.partition("=")
            if not sep:
                raise ValueError(line)
            val = _unesc(val)
            if key == "cgroup":
                st.cgroups.append(val)
            elif key == "cgroup_made":
                st.made_cgroups.append(val)
            elif key in ("pid", "start"):
                setattr(st, key, int(val))
            elif key in ("tty", "own_pidns"):
                setattr(st, key, val == "True")
            elif key in State.__slots__:
                setattr(st, key, val)
    except ValueError:
        raise PyruncError(f"{where}: corrupt state file") from None
    if not st.id or st.pid < 0:
        raise PyruncError(f"{where}: corrupt state file")
    return st


def write_atomic(path: str, data: str, mode: int = 0o600) -> None:
    """tmp + fsync + rename + fsync(dir): a reader sees the old file or the new one."""
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, "." + os.path.basename(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_state(cdir: str) -> State | None:
    """The state, or None while the container is being created. NotExist if no such dir."""
    try:
        with open(os.path.join(cdir, STATE), "rb") as f:
            raw = f.read()
        text = raw.decode()
    except UnicodeDecodeError:
        raise PyruncError(f"state of {os.path.basename(cdir)}: corrupt state file (not UTF-8)") from None
    except FileNotFoundError:
        if os.path.isdir(cdir):
            return None
        raise NotExist() from None
    except NotADirectoryError:
        raise NotExist() from None
    except OSError as e:
        raise PyruncError(f"read state of {os.path.basename(cdir)}: {(e.strerror or '').lower()}") from None
    return decode(text, f"state of {os.path.basename(cdir)}")


def creator(cdir: str) -> tuple[int, int]:
    """(pid, start time) of the process creating this container; (0, 0) when none."""
    try:
        with open(os.path.join(cdir, CREATOR)) as f:
            pid, start = f.read().split()[:2]
            return int(pid), int(start)
    except (OSError, ValueError):
        return 0, 0


class Lock:
    """flock on the container's directory: serialises state changes of one id only."""

    def __init__(self, cdir: str) -> None:
        try:
            self.fd = os.open(cdir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotExist() from None
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        # A concurrent delete may have removed the directory while we waited (and a
        # create made another at its path): the lock is only good on the one there now.
        try:
            same = os.path.samestat(os.fstat(self.fd), os.stat(cdir))
        except (FileNotFoundError, NotADirectoryError):
            same = False
        if not same:
            self.release()
            raise NotExist()

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Lock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def make_dir(root: str, cid: str) -> str:
    """Create ``<root>/<id>``; Exists if it is there already."""
    cdir = container_dir(root, cid)
    try:
        os.makedirs(root, 0o711, exist_ok=True)
    except OSError as e:
        raise PyruncError(f"mkdir {e.filename or root}: {(e.strerror or '').lower()}") from None  # runc's text
    try:
        os.mkdir(cdir, 0o711)
    except FileExistsError:
        raise Exists() from None
    except OSError as e:
        raise PyruncError(f"create state directory {cdir}: {(e.strerror or '').lower()}") from None
    return cdir


def remove_dir(cdir: str) -> None:
    """Remove the container's directory (it holds only flat files).  A create that has
    not taken the lock yet may still write its creator file into it: listed again."""
    for attempt in range(5):
        try:
            names = os.listdir(cdir)
        except FileNotFoundError:
            return
        for n in names:
            try:
                os.unlink(os.path.join(cdir, n))
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                remove_dir(os.path.join(cdir, n))
        try:
            os.rmdir(cdir)
            return
        except OSError as e:
            if e.errno == errno.ENOENT:
                return
            if e.errno != errno.ENOTEMPTY or attempt == 4:
                raise


def list_ids(root: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(root) if not n.startswith(".") and os.path.isdir(os.path.join(root, n)))
    except FileNotFoundError:
        return []
