"""The mount options of config.md "Mounts" (and runc's table for Linux): each either sets
or clears a mount(2) flag, changes propagation, or is an extension; anything else is
filesystem data, passed to the filesystem as runc does (``mode=755``, ``size=64k``).
"""

from pyrunc.runtime.linux import consts as c

#: option -> (clear?, flag)
FLAGS: dict[str, tuple[bool, int]] = {
    "defaults": (False, 0),
    "ro": (False, c.MS_RDONLY),
    "rw": (True, c.MS_RDONLY),
    "nosuid": (False, c.MS_NOSUID),
    "suid": (True, c.MS_NOSUID),
    "nodev": (False, c.MS_NODEV),
    "dev": (True, c.MS_NODEV),
    "noexec": (False, c.MS_NOEXEC),
    "exec": (True, c.MS_NOEXEC),
    "sync": (False, c.MS_SYNCHRONOUS),
    "async": (True, c.MS_SYNCHRONOUS),
    "dirsync": (False, c.MS_DIRSYNC),
    "remount": (False, c.MS_REMOUNT),
    "mand": (False, c.MS_MANDLOCK),
    "nomand": (True, c.MS_MANDLOCK),
    "atime": (True, c.MS_NOATIME),
    "noatime": (False, c.MS_NOATIME),
    "diratime": (True, c.MS_NODIRATIME),
    "nodiratime": (False, c.MS_NODIRATIME),
    "relatime": (False, c.MS_RELATIME),
    "norelatime": (True, c.MS_RELATIME),
    "strictatime": (False, c.MS_STRICTATIME),
    "nostrictatime": (True, c.MS_STRICTATIME),
    "nosymfollow": (False, c.MS_NOSYMFOLLOW),
    "symfollow": (True, c.MS_NOSYMFOLLOW),
    "bind": (False, c.MS_BIND),
    "rbind": (False, c.MS_BIND | c.MS_REC),
}

PROPAGATION: dict[str, int] = {
    "private": c.MS_PRIVATE,
    "rprivate": c.MS_PRIVATE | c.MS_REC,
    "shared": c.MS_SHARED,
    "rshared": c.MS_SHARED | c.MS_REC,
    "slave": c.MS_SLAVE,
    "rslave": c.MS_SLAVE | c.MS_REC,
    "unbindable": c.MS_UNBINDABLE,
    "runbindable": c.MS_UNBINDABLE | c.MS_REC,
}

EXTENSIONS = {"tmpcopyup", "idmap", "ridmap"}


def parse(options: list[str]) -> tuple[int, list[int], str, set[str]]:
    """(flags, propagation flags in order, data, extensions) of a mount's options."""
    flags = 0
    prop: list[int] = []
    data: list[str] = []
    ext: set[str] = set()
    for o in options:
        f = FLAGS.get(o)
        if f is not None:
            clear, bit = f
            flags = flags & ~bit if clear else flags | bit
        elif o in PROPAGATION:
            prop.append(PROPAGATION[o])
        elif o in EXTENSIONS:
            ext.add(o)
        else:
            data.append(o)
    return flags, prop, ",".join(data), ext
