"""The mount options of config.md "Mounts" (and runc's table for Linux): each either sets
or clears a mount(2) flag, changes propagation, or is an extension; anything else is
filesystem data, passed to the filesystem as runc does (``mode=755``, ``size=64k``).
Layer: spec (between process and linux: may import linux's pure helpers and the base).
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

# mount_setattr(2) attributes, for the recursive options (config.md "Mounts", [^3]).
ATTR_RDONLY = 0x1
ATTR_NOSUID = 0x2
ATTR_NODEV = 0x4
ATTR_NOEXEC = 0x8
ATTR__ATIME = 0x70
ATTR_RELATIME = 0x0
ATTR_NOATIME = 0x10
ATTR_STRICTATIME = 0x20
ATTR_NODIRATIME = 0x80
ATTR_NOSYMFOLLOW = 0x200000

#: option -> (clear?, attribute), applied with AT_RECURSIVE to the mount and every
#: submount under it (runc's table).  An atime mode also clears the atime field.
RECURSIVE: dict[str, tuple[bool, int]] = {
    "rro": (False, ATTR_RDONLY), "rrw": (True, ATTR_RDONLY),
    "rnosuid": (False, ATTR_NOSUID), "rsuid": (True, ATTR_NOSUID),
    "rnodev": (False, ATTR_NODEV), "rdev": (True, ATTR_NODEV),
    "rnoexec": (False, ATTR_NOEXEC), "rexec": (True, ATTR_NOEXEC),
    "rnodiratime": (False, ATTR_NODIRATIME), "rdiratime": (True, ATTR_NODIRATIME),
    "rrelatime": (False, ATTR_RELATIME), "rnorelatime": (True, ATTR_RELATIME),
    "rnoatime": (False, ATTR_NOATIME), "ratime": (True, ATTR_NOATIME),
    "rstrictatime": (False, ATTR_STRICTATIME), "rnostrictatime": (True, ATTR_STRICTATIME),
    "rnosymfollow": (False, ATTR_NOSYMFOLLOW), "rsymfollow": (True, ATTR_NOSYMFOLLOW),
}
_ATIME_OPTS = {"rrelatime", "rnorelatime", "rnoatime", "ratime", "rstrictatime", "rnostrictatime"}


def unknown_recursive(option: str) -> bool:
    """``r`` + a flag that has no recursive form (``rsync``, ``rremount``...): a typo or an
    option this runtime cannot apply recursively, refused rather than passed as data."""
    return (option.startswith("r") and option[1:] in FLAGS and option not in RECURSIVE
            and option not in FLAGS and option not in PROPAGATION)


def recursive(options: list[str]) -> tuple[int, int]:
    """(attr_set, attr_clr) for mount_setattr(AT_RECURSIVE) from a mount's options."""
    aset = aclr = 0
    for o in options:
        r = RECURSIVE.get(o)
        if r is None:
            continue
        clear, attr = r
        if clear:
            aset &= ~attr
            aclr |= attr
        else:
            aclr &= ~attr
            aset |= attr
        if o in _ATIME_OPTS and not clear:
            aclr |= ATTR__ATIME  # the kernel takes an atime mode only with the field cleared
    return aset, aclr


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
        elif o in RECURSIVE:
            continue  # mount_setattr, after the mount: see recursive()
        else:
            data.append(o)
    return flags, prop, ",".join(data), ext
