"""spec/mountopts.py: config.md "Mounts" options as runc's table reads them: flags set and
cleared in order, propagation kept in order, extensions apart, the recursive forms for
mount_setattr(2), and everything else passed to the filesystem as data."""

import pytest
from pyrunc.runtime.linux import consts as c
from pyrunc.spec import mountopts


def test_flags_in_order_last_wins():
    flags, prop, data, ext = mountopts.parse(["ro", "nosuid", "rw", "noexec", "exec", "nodev"])
    assert flags == c.MS_NOSUID | c.MS_NODEV and (prop, data, ext) == ([], "", set())
    assert mountopts.parse(["defaults"])[0] == 0
    assert mountopts.parse(["rbind", "ro"])[0] == c.MS_BIND | c.MS_REC | c.MS_RDONLY
    assert mountopts.parse(["relatime", "norelatime", "strictatime"])[0] == c.MS_STRICTATIME
    assert mountopts.parse(["nosymfollow"])[0] == c.MS_NOSYMFOLLOW


def test_propagation_extensions_and_data():
    flags, prop, data, ext = mountopts.parse(["bind", "rprivate", "mode=755", "tmpcopyup", "shared",
                                              "size=64k", "idmap", "rro"])
    assert flags == c.MS_BIND
    assert prop == [c.MS_PRIVATE | c.MS_REC, c.MS_SHARED]  # each applied, in order
    assert data == "mode=755,size=64k"  # as written, for the filesystem
    assert ext == {"tmpcopyup", "idmap"}


@pytest.mark.parametrize("option,known", [
    ("rsync", False), ("rremount", False), ("rbind", True), ("rro", True), ("rprivate", True),
    ("rnoatime", True), ("rw", True), ("relatime", True), ("rmode=1", True),
])
def test_unknown_recursive(option, known):
    """``r`` + a flag without a recursive form is refused, not passed on as data."""
    assert mountopts.unknown_recursive(option) is not known


def test_recursive_attributes():
    assert mountopts.recursive(["rro", "rnosuid", "rnodev", "rnoexec"]) == (
        mountopts.ATTR_RDONLY | mountopts.ATTR_NOSUID | mountopts.ATTR_NODEV | mountopts.ATTR_NOEXEC, 0)
    # A later clearing form undoes an earlier set one (and the other way round).
    assert mountopts.recursive(["rro", "rrw"]) == (0, mountopts.ATTR_RDONLY)
    assert mountopts.recursive(["rrw", "rro"]) == (mountopts.ATTR_RDONLY, 0)
    # An atime mode is taken with the atime field cleared.
    assert mountopts.recursive(["rnoatime"]) == (mountopts.ATTR_NOATIME, mountopts.ATTR__ATIME)
    assert mountopts.recursive(["rrelatime"]) == (mountopts.ATTR_RELATIME, mountopts.ATTR__ATIME)
    assert mountopts.recursive(["ro", "nosuid", "mode=1"]) == (0, 0)
