"""--no-pivot: the host's full procfs and sysfs mounts go before the rootfs is moved over /.
Layer: linux (the bottom: imports only linux and the base).

With pivot_root the old root is unmounted; with MS_MOVE + chroot it stays in the
container's mount namespace, out of sight but there.  The kernel lets a new procfs or
sysfs be mounted (say in a nested user namespace) only if a full, uncovered one is
already visible in the mount namespace (mount_too_revealing), and the host's would be
that one: a nested ``mount -t proc`` would then give the container a /proc without its
masked paths.  So, as runc's msMoveRoot does, every procfs and sysfs mount of the whole
filesystem (root "/") outside the rootfs is unmounted, or covered with a tmpfs where it
cannot be (rootless), after making it a slave so the host does not see the unmount.
Fds opened on them before (the runtime's procfs handle) stay valid: the unmount is lazy.
"""

import errno

from pyrunc.runtime.errors import SysError
from pyrunc.runtime.linux import consts as c
from pyrunc.runtime.linux import libc
from pyrunc.runtime.linux.mountinfo import read as read_mountinfo


def full_pseudo_mounts(rootfs: str, mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Mount points of whole procfs/sysfs filesystems outside ``rootfs``, parents first."""
    inside = rootfs.rstrip("/") + "/"
    out = []
    for m in read_mountinfo(mountinfo):
        if m.root != "/" or m.fstype not in ("proc", "sysfs"):
            continue
        mp = m.mount_point
        if mp == rootfs.rstrip("/") or mp.startswith(inside):
            continue
        out.append(mp)
    return out


def hide_host_pseudo_filesystems(rootfs: str) -> None:
    for mp in full_pseudo_mounts(rootfs):
        try:
            # Our unmount must not propagate to the host's namespace.
            libc.mount(None, mp, None, c.MS_SLAVE | c.MS_REC, None, what=mp)
        except SysError as e:
            if e.errno == errno.ENOENT:
                continue  # under a mount already gone
            raise
        try:
            libc.umount2(mp, c.MNT_DETACH)
        except SysError as e:
            if e.errno not in (errno.EINVAL, errno.EPERM):
                raise
            libc.mount("tmpfs", mp, "tmpfs", 0, None, what=mp)
