"""Recursive mount attributes (config.md "Mounts", mount_setattr with AT_RECURSIVE) and
relative mount destinations (runtime-spec 1.2), seen in the container's mountinfo."""

import os
import subprocess

import pytest


def _opts_of(mountinfo: str, mountpoint: str) -> set[str]:
    for line in mountinfo.splitlines():
        f = line.split()
        if f[4] == mountpoint:
            return set(f[5].split(","))
    raise AssertionError(f"{mountpoint} not mounted:\n{mountinfo}")


@pytest.fixture
def volume_with_submount(make_bundle):
    b = make_bundle(["cat", "/proc/self/mountinfo"])
    vol = os.path.join(b.path, "vol")
    sub = os.path.join(vol, "sub")
    os.makedirs(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "pyrunc-test", sub], check=True)
    yield b, vol
    subprocess.run(["umount", sub], check=True)


@pytest.mark.parametrize("option,flag", [("rro", "ro"), ("rnosuid", "nosuid"), ("rnodev", "nodev"),
                                         ("rnoexec", "noexec"), ("rnoatime", "noatime"),
                                         ("rnodiratime", "nodiratime"), ("rnosymfollow", "nosymfollow")])
def test_recursive_option_reaches_the_submount(pyrunc, volume_with_submount, option, flag):
    b, vol = volume_with_submount
    b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", option]})
    b.write()
    p = pyrunc("run", "-b", b.path, "rattr")
    assert p.returncode == 0, p.stderr
    assert flag in _opts_of(p.stdout, "/vol")
    assert flag in _opts_of(p.stdout, "/vol/sub")  # what plain "ro" on a bind would not do


def test_plain_ro_stays_on_the_top_mount(pyrunc, volume_with_submount):
    b, vol = volume_with_submount
    b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "ro"]})
    b.write()
    p = pyrunc("run", "-b", b.path, "plainro")
    assert p.returncode == 0, p.stderr
    assert "ro" in _opts_of(p.stdout, "/vol") and "rw" in _opts_of(p.stdout, "/vol/sub")


def test_recursive_rw_undoes_a_readonly_submount(pyrunc, make_bundle):
    b = make_bundle(["cat", "/proc/self/mountinfo"])
    vol = os.path.join(b.path, "vol")
    sub = os.path.join(vol, "sub")
    os.makedirs(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,mode=755", "pyrunc-test", sub], check=True)
    try:
        b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rrw"]})
        b.write()
        p = pyrunc("run", "-b", b.path, "rrw")
    finally:
        subprocess.run(["umount", sub], check=True)
    assert p.returncode == 0, p.stderr
    assert "rw" in _opts_of(p.stdout, "/vol/sub")


def test_relative_mount_destination(pyrunc, make_bundle):
    """runtime-spec 1.2: a relative destination is taken from the container's root."""
    b = make_bundle(["cat", "/proc/self/mountinfo"])
    b.config["mounts"].append({"destination": "relative/dir", "type": "tmpfs", "source": "tmpfs"})
    b.write()
    p = pyrunc("run", "-b", b.path, "reldest")
    assert p.returncode == 0, p.stderr
    assert "rw" in _opts_of(p.stdout, "/relative/dir")


def test_features_list_the_recursive_options(pyrunc):
    import json

    f = json.loads(pyrunc("features", check=True).stdout)
    assert {"rro", "rrw", "rnosymfollow", "rstrictatime", "ratime", "nosymfollow"} <= set(f["mountOptions"])


# --- runtime-spec 1.2 annotations ------------------------------------------------------

def test_image_stop_signal_is_kills_default(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "trap 'echo got-usr1 > /tmp/sig; exit 0' USR1; while true; do sleep 0.05; done"])
    b.config["root"]["readonly"] = False
    b.config["annotations"] = {"org.opencontainers.image.stopSignal": "SIGUSR1"}
    b.write()
    pyrunc("run", "-d", "-b", b.path, "stopsig", check=True)
    import time

    time.sleep(0.3)
    pyrunc("kill", "stopsig", check=True)
    deadline = time.time() + 10
    while pyrunc.state("stopsig")["status"] != "stopped":
        assert time.time() < deadline
        time.sleep(0.05)
    assert open(os.path.join(b.rootfs, "tmp", "sig")).read() == "got-usr1\n"
    pyrunc("delete", "stopsig", check=True)


@pytest.mark.parametrize("ann,needle", [
    ({"org.opencontainers.image.os": "windows"}, "annotations.org.opencontainers.image.os: the image is for 'windows'"),
    ({"org.opencontainers.image.stopSignal": "SIGBOGUS"}, "annotations.org.opencontainers.image.stopSignal"),
    ({"": "x"}, "annotations: keys must not be empty"),
])
def test_bad_image_annotations(pyrunc, make_bundle, ann, needle):
    b = make_bundle(["true"])
    b.config["annotations"] = ann
    b.write()
    p = pyrunc("run", "-b", b.path, "badann")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr


def test_foreign_architecture_is_a_warning(pyrunc, make_bundle):
    b = make_bundle(["true"])
    b.config["annotations"] = {"org.opencontainers.image.architecture": "s390x"}
    b.write()
    p = pyrunc("run", "-b", b.path, "arch")
    assert p.returncode == 0 and "image.architecture" in p.stderr and "warn" in p.stderr, p.stderr


@pytest.mark.parametrize("option", ["rsync", "rremount", "rdefaults", "rmand"])
def test_unknown_recursive_option(pyrunc, make_bundle, option):
    b = make_bundle(["true"])
    b.config["mounts"].append({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", option]})
    b.write()
    p = pyrunc("run", "-b", b.path, "badr")
    assert p.returncode == 1 and p.stderr.count("\n") == 1
    assert f"mounts[7].options[1]: unknown recursive mount option '{option}'" in p.stderr, p.stderr
