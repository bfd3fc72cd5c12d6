"""Idmapped bind mounts (config.md "Mounts", runtime-spec 1.2+): ``idmap``, ``ridmap`` and a
mount's own ``uidMappings``/``gidMappings``, seen from inside the container and on disk."""

import os
import subprocess

import pytest

USERNS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
          "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


def _volume(path) -> str:
    os.makedirs(path)
    with open(os.path.join(path, "f"), "w") as f:
        f.write("x")
    os.chown(os.path.join(path, "f"), 0, 0)
    return str(path)


def _userns_bundle(make_bundle, args):
    b = make_bundle(args)
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"].update(USERNS)
    os.makedirs(os.path.join(b.rootfs, "mnt"), exist_ok=True)
    return b


def test_idmap_with_the_containers_user_namespace(pyrunc, make_bundle, tmp_path):
    """Root-owned files of the volume are the container's root inside a user namespace
    (without idmap they would be nobody), and what the container creates is root's on disk."""
    b = _userns_bundle(make_bundle, ["sh", "-c", "stat -c %u:%g /mnt/f /etc/passwd; touch /mnt/new"])
    vol = _volume(os.path.join(b.path, "vol"))  # reachable for the container's uids
    b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": vol, "options": ["rbind", "idmap"]})
    b.write()
    p = pyrunc("run", "-b", b.path, "idm")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0:0", "65534:65534"]
    st = os.stat(os.path.join(vol, "new"))
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_mount_mappings_without_a_user_namespace(pyrunc, make_bundle, tmp_path):
    """A mount's own mappings: on-disk uid 0 (containerID) shows as 1234 (hostID)."""
    vol = _volume(tmp_path / "vol")
    b = make_bundle(["stat", "-c", "%u:%g", "/mnt/f"])
    b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": vol, "options": ["bind"],
                               "uidMappings": [{"containerID": 0, "hostID": 1234, "size": 1}],
                               "gidMappings": [{"containerID": 0, "hostID": 4321, "size": 1}]})
    b.write()
    p = pyrunc("run", "-b", b.path, "own")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1234:4321"]
    assert os.stat(os.path.join(vol, "f")).st_uid == 0  # the disk is untouched


@pytest.mark.parametrize("option,expected", [("ridmap", "0:0"), ("idmap", "65534:65534")])
def test_ridmap_reaches_submounts(pyrunc, make_bundle, tmp_path, option, expected):
    b = _userns_bundle(make_bundle, ["stat", "-c", "%u:%g", "/mnt/f", "/mnt/sub/g"])
    vol = _volume(os.path.join(b.path, "vol"))
    sub = os.path.join(vol, "sub")
    os.makedirs(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "pyrunc-test", sub], check=True)
    try:
        with open(os.path.join(sub, "g"), "w") as f:
            f.write("y")
        b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": vol,
                                   "options": ["rbind", option]})
        b.write()
        p = pyrunc("run", "-b", b.path, "ridm")
    finally:
        subprocess.run(["umount", sub], check=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0:0", expected]


@pytest.mark.parametrize("change,needle", [
    (lambda m, c: m.update(uidMappings=[{"containerID": 0, "hostID": 1, "size": 1}]),
     "mounts[7].gidMappings: uidMappings and gidMappings must be specified together"),
    (lambda m, c: m.update(type="tmpfs", source="tmpfs", options=["idmap"]),
     "mounts[7].options: idmapped mounts are only supported for bind mounts"),
    (lambda m, c: m.update(options=["bind", "idmap"]),
     "mounts[7].options: idmap without uidMappings and gidMappings needs a user namespace"),
    (lambda m, c: m.update(uidMappings=[{"containerID": 0, "hostID": 1, "size": 0}],
                           gidMappings=[{"containerID": 0, "hostID": 1, "size": 1}]),
     "mounts[7].uidMappings[0].size"),
])
def test_bad_idmap_config(pyrunc, make_bundle, tmp_path, change, needle):
    vol = _volume(tmp_path / "vol")
    b = make_bundle(["true"])
    m = {"destination": "/mnt", "type": "bind", "source": vol, "options": ["bind"]}
    b.config["mounts"].append(m)
    change(m, b.config)
    b.write()
    p = pyrunc("run", "-b", b.path, "badidm")
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr


def test_idmap_on_a_filesystem_without_support_fails_cleanly(pyrunc, make_bundle):
    """sysfs cannot be idmapped: the kernel's refusal is one line naming the mount, and
    the half-made container is gone (the leak check)."""
    b = _userns_bundle(make_bundle, ["true"])
    b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": "/sys/kernel",
                               "options": ["rbind", "idmap"]})
    b.write()
    p = pyrunc("run", "-b", b.path, "nosupport")
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "mounts[7]: idmap /sys/kernel" in p.stderr, p.stderr
