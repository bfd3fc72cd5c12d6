"""pyrunc beside runc: the sample of differences issue 19 lists, each run under
Debian's runc 1.1.5 (the oracle) and under pyrunc on the same bundle, asserting on what
the CLI returned and what the container saw.  Where runtime-spec 1.3.0 or a runc 1.5
fix decides against 1.1.5, the test says so.

The differential tier (tests/differential/) compares whole observations; these are the
regression tests of the fixes, one behaviour each.
"""

import json
import os
import shutil
import subprocess

import pytest
from conftest import PYRUNC, Pyrunc

RUNC = os.environ.get("RUNC", "/usr/sbin/runc")

needs_runc = pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason=f"no runc at {RUNC} to compare with")


class Runc(Pyrunc):
    """runc with this test's own --root (the same call shape as the Pyrunc fixture)."""

    def cmd(self, *args: str, root: bool = True) -> list[str]:
        return [RUNC, "--root", self.root, *args] if root else [RUNC, *args]


@pytest.fixture
def runc(tmp_path):
    r = Runc(str(tmp_path / "runc-root"))
    yield r
    # Whatever a failed assertion left under runc's root goes (the leak check only sees pyrunc's).
    if os.path.isdir(r.root):
        for cid in os.listdir(r.root):
            r("delete", "--force", cid, timeout=30)


def both(pyrunc, runc):
    return (("runc", runc), ("pyrunc", pyrunc))


# 1. spec: runc's template adds a cgroup namespace only where /sys/fs/cgroup is cgroup2.
@needs_runc
def test_spec_template_namespaces_match_runc(tmp_path):
    out = {}
    for name, binary in (("runc", RUNC), ("pyrunc", Pyrunc("").cmd(root=False)[0])):
        d = tmp_path / name
        d.mkdir()
        p = subprocess.run([binary, "spec", "--bundle", str(d)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        out[name] = json.loads((d / "config.json").read_text())["linux"]["namespaces"]
    assert out["pyrunc"] == out["runc"]
    unified = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True,
                             text=True, timeout=10).stdout.strip() == "cgroup2fs"
    assert ({"type": "cgroup"} in out["pyrunc"]) == unified


def _tty_owner(out: bytes) -> tuple[str, str, str]:
    """(mode, uid, gid) of the ``ls -lnL /proc/self/fd/0`` line in a pty's output."""
    for line in out.decode(errors="replace").splitlines():
        if line.rstrip().endswith("/proc/self/fd/0"):
            f = line.split()
            return f[0], f[2], f[3]
    raise AssertionError(f"no ls line in {out!r}")


# 2. The console: runc chowns the pty to the process's uid only (fixStdioPermissions), so
# its group stays the one devpts gave it (gid=5, the tty group, in the template) and its
# mode 620; the same for `exec -t --user`.
@needs_runc
def test_console_pty_group_is_tty_group(pyrunc, runc, make_bundle):
    from conftest import run_in_pty

    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sh", "-c", "ls -lnL /proc/self/fd/0"], terminal=True)
        b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
        b.write()
        rc, out = run_in_pty(rt.cmd("run", "-b", b.path, f"tty-{name}"))
        assert rc == 0, out
        run_view = _tty_owner(out)
        d = make_bundle(["sleep", "100"])
        rt("run", "-d", "-b", d.path, f"ttyx-{name}", check=True)
        try:
            rc, out = run_in_pty(rt.cmd("exec", "-t", "--user", "1000:1000", f"ttyx-{name}",
                                        "ls", "-lnL", "/proc/self/fd/0"))
            assert rc == 0, out
            seen[name] = (run_view, _tty_owner(out))
        finally:
            rt("delete", "--force", f"ttyx-{name}", check=True)
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"][0] == ("crw--w----", "1000", "5")
    assert seen["pyrunc"][1] == ("crw--w----", "1000", "5")


# 3. cwd: runc's finalizeNamespace enters process.cwd before the user switch (with the
# runtime's privileges) and, only if that was refused for permission, once more after it;
# so a cwd only root may enter works for create and for `exec --user`, and the error text
# quotes the path as Go's %q.  The getcwd check (CVE-2024-21626) follows either way.
@needs_runc
def test_cwd_only_root_may_enter(pyrunc, runc, make_bundle):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sh", "-c", "pwd; id -u"])
        os.chmod(os.path.join(b.rootfs, "root"), 0o700)
        b.config["process"]["cwd"] = "/root"
        b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
        b.write()
        ran = rt("run", "-b", b.path, f"cwd-{name}")
        d = make_bundle(["sleep", "100"])
        os.chmod(os.path.join(d.rootfs, "root"), 0o700)
        d.config["process"]["cwd"] = "/root"
        d.write()
        rt("run", "-d", "-b", d.path, f"cwdx-{name}", check=True)
        try:
            ex = rt("exec", "--user", "1000:1000", f"cwdx-{name}", "pwd")
            bad = rt("exec", "--user", "1000:1000", "--cwd", '/no"such', f"cwdx-{name}", "pwd")
        finally:
            rt("delete", "--force", f"cwdx-{name}", check=True)
        seen[name] = ((ran.returncode, ran.stdout), (ex.returncode, ex.stdout), bad.returncode,
                      bad.stderr.split("unable to start container process: ")[-1].strip())
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"][0] == (0, "/root\n1000\n") and seen["pyrunc"][1] == (0, "/root\n")
    assert seen["pyrunc"][3].startswith('chdir to cwd (\\"/no\\\\\\"such\\") set in config.json failed: '
                                       'no such file or directory')


# 3'. The second attempt: a cwd the user may enter and the runtime may not is entered
# after the switch (runc's retry on a permission error).
def test_cwd_entered_as_user_after_permission_refused(pyrunc, make_bundle):
    b = make_bundle(["sh", "-c", "pwd"])
    home = os.path.join(b.rootfs, "home", "user")
    os.makedirs(home)
    os.chown(home, 101000, 5000)
    os.chmod(home, 0o700)
    for d in ("", "rootfs"):
        os.chmod(os.path.join(b.path, d), 0o755)
    b.config["process"]["cwd"] = "/home/user"
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["linux"]["namespaces"].append({"type": "user"})
    # Owned by the container's uid 1000 and a gid the namespace does not map: the
    # container's root has no CAP_DAC_OVERRIDE over it (capable_wrt_inode_uidgid needs
    # both mapped), its owner may enter it.
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.write()
    p = pyrunc("run", "-b", b.path, "cwd-user")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "/home/user\n"


USERNS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
          "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


def _mountinfo_line(out: str, dest: str) -> str:
    """The mount options and optional fields (propagation) of ``dest`` in a mountinfo."""
    for line in out.splitlines():
        f = line.split()
        if len(f) > 5 and f[4] == dest:
            return " ".join([f[5], *f[6:f.index("-")]])
    raise AssertionError(f"{dest} not in {out!r}")


# 4. Bind sources with a user namespace: runc opens them from its parent, with the
# host's credentials, in the container's mount namespace (nsexec's mount sources), so a
# source under a directory the mapped root may not traverse still mounts; the mount's
# options and propagation are those of binding the path.
@needs_runc
def test_bind_source_unreachable_by_mapped_root(pyrunc, runc, make_bundle, tmp_path):
    secret = tmp_path / "secret"
    (secret / "inner").mkdir(parents=True)
    (secret / "inner" / "f").write_text("hi\n")
    secret.chmod(0o700)
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sh", "-c", "cat /mnt/f; grep ' /mnt ' /proc/self/mountinfo"])
        os.mkdir(os.path.join(b.rootfs, "mnt"))  # the rootfs is the host root's: no mkdir inside
        b.config["linux"].update(USERNS)
        b.config["linux"]["namespaces"].append({"type": "user"})
        b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(secret / "inner"),
                                   "options": ["rbind", "ro", "nosuid"]})
        b.write()
        p = rt("run", "-b", b.path, f"src-{name}")
        assert p.returncode == 0, (name, p.stderr)
        seen[name] = (p.stdout.splitlines()[0], _mountinfo_line(p.stdout, "/mnt"))
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"][0] == "hi" and seen["pyrunc"][1].startswith("ro,nosuid")


# 4'. A relative bind source: runc's is relative to the bundle (it chdirs there first),
# wherever the runtime was started.
@needs_runc
def test_relative_bind_source_is_bundle_relative(pyrunc, runc, make_bundle, tmp_path):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["cat", "/mnt/marker"])
        os.mkdir(os.path.join(b.path, "data"))
        with open(os.path.join(b.path, "data", "marker"), "w") as f:
            f.write(f"from {name}'s bundle\n")
        b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": "data", "options": ["rbind"]})
        b.write()
        p = rt("run", "-b", b.path, f"rel-{name}", cwd=str(tmp_path))
        seen[name] = (p.returncode, p.stdout.replace(name, "RT"))
    assert seen["pyrunc"] == seen["runc"] == (0, "from RT's bundle\n")


# 5. Hooks' state: prestart, createRuntime and createContainer run during create, so the
# status is "creating" (runtime.md "Lifecycle"), as runc 1.1.5 and 1.5.1 pass; the
# startContainer hook runs after start, "created".  Deliberately kept apart from runc
# 1.1.5: createContainer's and startContainer's pid is the host's (runtime.md "State":
# the pid "as seen by the host"; runc passes getpid() in the container, 1), and poststart's
# status is "running" (the program has been executed; runc 1.1.5 says "created").
@needs_runc
def test_hook_states_are_creating(pyrunc, runc, make_bundle, tmp_path):
    seen = {}
    for name, rt in both(pyrunc, runc):
        out = tmp_path / name
        out.mkdir()
        hook = tmp_path / f"hook-{name}"
        hook.write_text(f"#!/bin/sh\ncat > {out}/$1\n")
        hook.chmod(0o755)
        b = make_bundle(["cat", "/start.json"])
        b.config["root"]["readonly"] = False
        os.makedirs(os.path.join(b.rootfs, "hk"))
        with open(os.path.join(b.rootfs, "hk", "start"), "w") as f:
            f.write("#!/bin/sh\ncat > /start.json\n")
        os.chmod(os.path.join(b.rootfs, "hk", "start"), 0o755)
        kinds = ("prestart", "createRuntime", "createContainer")
        b.config["hooks"] = {k: [{"path": str(hook), "args": ["hook", k]}] for k in kinds}
        b.config["hooks"]["startContainer"] = [{"path": "/hk/start"}]
        b.write()
        p = rt("run", "-b", b.path, f"hk-{name}")
        assert p.returncode == 0, (name, p.stderr)
        seen[name] = {k: json.loads((out / k).read_text())["status"] for k in kinds}
        seen[name]["startContainer"] = json.loads(p.stdout)["status"]
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"] == {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
                              "startContainer": "created"}


def _cli_view(p) -> tuple[int, str, str]:
    """Exit code, stdout's first line and stderr's messages, the program's name and the
    log lines' times taken out."""
    import re

    def norm(s: str) -> str:  # runc names itself by its argv[0], as pyrunc does
        return re.sub(r"\bpy(runc)\b", r"\1", s.replace(PYRUNC, "runc").replace(RUNC, "runc"))

    msgs = [re.sub(r'^time="[^"]*" ', "", ln) for ln in p.stderr.splitlines()]
    return p.returncode, norm((p.stdout.splitlines() or [""])[0]), norm("\n".join(msgs))


# 6. Argument order: runc's urfave/cli v1 moves a command's known flags (with the next
# argument, unless that is a known flag too) ahead of the positionals, except for exec
# and ps, whose arguments after the id belong to the program / ps(1).  So
# `update ID --memory 1M` and `kill ID KILL --all` work, `kill ID --all KILL` reads KILL
# as the container, and unknown flags or extra arguments are refused as runc refuses
# them: the error line on stderr, "Incorrect Usage" and the help on stdout.
CLI_CASES = [
    ["update", "{id}", "--memory", "10M"],
    ["update", "{id}", "--pids-limit", "10", "--memory", "30M"],
    ["update", "{id}", "--memory-swap", "-1"],
    ["update", "{id}", "extra", "--memory", "1M"],
    ["update", "{id}", "--memory"],
    ["update", "{id}", "--", "--memory", "1M"],
    ["update", "--", "{id}"],
    ["update", "{id}", "--memory", "-5"],
    ["update", "{id}", "--memory", "1.5G"],
    ["update", "{id}", "--pids-limit", "x"],
    ["update", "{id}", "--cpu-quota", "x"],
    ["update", "{id}", "--cpu-period", "-5"],
    ["update", "{id}", "--cpu-shares", "5"],
    ["state", "{id}", "--bogus"],
    ["state", "--bogus", "{id}"],
    ["state", "{id}", "extra"],
    ["kill", "{id}", "--all=bad"],
    ["kill", "{id}", "KILL", "extra"],
    ["kill", "{id}", "--all", "KILL"],
    ["pause", "{id}", "extra"],
    ["exec", "{id}", "echo", "hi", "--all"],
    ["ps", "{id}", "--", "-o", "pid"],
    ["list", "-q", "extra"],
    ["--bogus", "list"],
    ["kill", "{id}", "KILL", "--all"],
    ["delete", "{id}", "--force"],
]


@needs_runc
def test_cli_argument_order_as_runc(pyrunc, runc, make_bundle):
    views = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sleep", "1000"])
        cid = f"argv-{name}"
        rt("run", "-d", "-b", b.path, cid, check=True)
        try:
            views[name] = [_cli_view(rt(*[a.format(id=cid) for a in argv])) for argv in CLI_CASES]
        finally:
            rt("delete", "--force", cid)
    for argv, mine, theirs in zip(CLI_CASES, views["pyrunc"], views["runc"], strict=True):
        theirs = tuple(x.replace("argv-runc", "argv-pyrunc") if isinstance(x, str) else x for x in theirs)
        assert mine == theirs, argv
    assert views["pyrunc"][0][0] == 0 and views["pyrunc"][-1][0] == 0


def _freezer_dir(cgroups_path: str) -> tuple[str, str, str, str]:
    """(directory, file, frozen value, thawed value) of the freezer for ``cgroups_path``:
    the v1 freezer hierarchy where there is one, else the unified tree's cgroup.freeze."""
    if os.path.isdir("/sys/fs/cgroup/freezer"):
        return f"/sys/fs/cgroup/freezer{cgroups_path}", "freezer.state", "FROZEN", "THAWED"
    base = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    return f"{base}{cgroups_path}", "cgroup.freeze", "1", "0"


# 7. A frozen cgroup in cgroupsPath: runc refuses it before anything joins it ("container's
# cgroup unexpectedly frozen"); the init would otherwise freeze as it joins and create
# wait for ever.
@needs_runc
def test_frozen_cgroup_is_refused(pyrunc, runc, make_bundle):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["true"])
        path = b.config["linux"]["cgroupsPath"]
        d, knob, frozen, thawed = _freezer_dir(path)
        os.makedirs(d)
        try:
            with open(os.path.join(d, knob), "w") as f:
                f.write(frozen)
            p = rt("create", "-b", b.path, f"frz-{name}", timeout=30)
            seen[name] = _cli_view(p)
            assert not os.listdir(rt.root) if os.path.isdir(rt.root) else True
        finally:
            with open(os.path.join(d, knob), "w") as f:
                f.write(thawed)
            rt("delete", "--force", f"frz-{name}")
            os.rmdir(d)
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"][0] == 1 and "container's cgroup unexpectedly frozen" in seen["pyrunc"][2]


# 7'. Frozen while create waits on the init (here: during a createContainer hook, which
# runs in the container's cgroup): create ends with an error within seconds instead of
# waiting for ever (runc 1.1.5 would hang: no bound).
def test_cgroup_frozen_during_create_does_not_hang(pyrunc, make_bundle, tmp_path):
    import time

    b = make_bundle(["true"])
    flag = tmp_path / "in-hook"
    hook = tmp_path / "hook"
    hook.write_text(f"#!/bin/sh\ntouch {flag}\nexec sleep 30\n")
    hook.chmod(0o755)
    b.config["hooks"] = {"createContainer": [{"path": str(hook), "timeout": 60}]}
    b.write()
    d, knob, frozen, thawed = _freezer_dir(b.config["linux"]["cgroupsPath"])
    # stderr to a file: the init that create could not reap (frozen) holds it open.
    errf = open(tmp_path / "stderr", "w+")
    proc = subprocess.Popen(pyrunc.cmd("create", "-b", b.path, "frz-mid"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=errf, text=True)
    try:
        deadline = time.monotonic() + 20
        while not flag.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the hook never ran"
            time.sleep(0.05)
        with open(os.path.join(d, knob), "w") as f:
            f.write(frozen)
        t = time.monotonic()
        proc.wait(timeout=30)
        assert proc.returncode == 1 and time.monotonic() - t < 20
        errf.seek(0)
        err = errf.read()
        assert "container's cgroup unexpectedly frozen" in err, err
        assert os.listdir(pyrunc.root) == []  # nothing of the container's state is left
    finally:
        errf.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if os.path.isdir(d):
            with open(os.path.join(d, knob), "w") as f:
                f.write(thawed)
        # What create could not reap (frozen, SIGKILL pending) dies once thawed.
        deadline = time.monotonic() + 10
        while os.path.isdir(d) and time.monotonic() < deadline:
            try:
                for c in os.listdir("/sys/fs/cgroup"):
                    sub = os.path.join("/sys/fs/cgroup", c) + b.config["linux"]["cgroupsPath"]
                    if os.path.isdir(sub):
                        os.rmdir(sub)
            except OSError:
                time.sleep(0.1)
        pyrunc("delete", "--force", "frz-mid")


SYSNO_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
/* sysno N...: syscall N with invalid arguments (-1, NULL); prints N and its errno. */
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        long nr = strtol(argv[i], 0, 0);
        errno = 0;
        long r = syscall(nr, -1L, 0L, 0L, 0L, 0L, 0L);
        printf("%ld %s\n", nr, r < 0 ? strerrorname_np(errno) : "ok");
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def sysno(tmp_path_factory):
    d = tmp_path_factory.mktemp("sysno")
    (d / "sysno.c").write_text(SYSNO_C)
    built = subprocess.run(["gcc", "-static", "-O", "-o", str(d / "sysno"), str(d / "sysno.c")],
                           capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        pytest.skip(f"no static C toolchain for the syscall probe: {built.stderr[:200]}")
    return str(d / "sysno")


# 8. seccomp: runc (>= 1.0.2) answers ENOSYS for a syscall above the largest one the
# profile names on the architecture (clone3 435, faccessat2 439 above a profile that
# stops at 429), so programs fall back; one below it that the profile leaves out (mkdir,
# 83) keeps the default action.  No stub without listed architectures, with a permissive
# default, or with a default that already is ENOSYS (defaultErrnoRet 38).
@needs_runc
@pytest.mark.parametrize("shape", ["archs", "no-archs", "default-enosys", "default-allow"])
def test_seccomp_newer_syscalls_get_enosys(pyrunc, runc, make_bundle, sysno, shape):
    from pyrunc.runtime.linux.seccomp import syscall_names

    names = [n for n in syscall_names(0, 430) if n != "mkdir"]
    profile = {"defaultAction": "SCMP_ACT_ERRNO",
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]}
    if shape == "no-archs":
        del profile["architectures"]
    elif shape == "default-enosys":
        profile["defaultErrnoRet"] = 38
    elif shape == "default-allow":
        profile.update(defaultAction="SCMP_ACT_ALLOW",
                       syscalls=[{"names": ["mkdir", "getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}])
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["/sysno", "83", "435", "439", "1000"])
        shutil.copy(sysno, os.path.join(b.rootfs, "sysno"))
        b.config["linux"]["seccomp"] = profile
        b.write()
        p = rt("run", "-b", b.path, f"enosys-{name}")
        assert p.returncode == 0, (name, p.stderr)
        seen[name] = p.stdout
    assert seen["pyrunc"] == seen["runc"]
    want = {"archs": "83 EPERM\n435 ENOSYS\n439 ENOSYS\n1000 ENOSYS\n",
            "no-archs": "83 EPERM\n435 EPERM\n439 EPERM\n1000 EPERM\n",
            "default-enosys": "83 ENOSYS\n435 ENOSYS\n439 ENOSYS\n1000 ENOSYS\n",
            "default-allow": "83 EPERM\n435 EINVAL\n439 EFAULT\n1000 ENOSYS\n"}[shape]
    assert seen["pyrunc"] == want


# 9a. procfs or sysfs where the image has /proc or /sys as a symlink: runc refuses it
# ("must be mounted on ordinary directory"), else the mount lands where the link points
# (CVE-2019-19921, CVE-2023-27561).  pyrunc's text keeps the entry's JSON path.
@needs_runc
@pytest.mark.parametrize("where,fstype", [("proc", "proc"), ("sys", "sysfs")])
def test_pseudo_filesystem_on_a_symlink_is_refused(pyrunc, runc, make_bundle, where, fstype):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["true"])
        b.config["root"]["readonly"] = False
        os.rmdir(os.path.join(b.rootfs, where))
        os.makedirs(os.path.join(b.rootfs, "tmp", "x"))
        os.symlink("/tmp/x", os.path.join(b.rootfs, where))
        b.write()
        p = rt("run", "-b", b.path, f"lnk-{name}")
        seen[name] = (p.returncode, p.stderr.split(": error mounting ")[-1].strip())
        assert os.listdir(os.path.join(b.rootfs, "tmp", "x")) == []  # nothing was mounted there
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"] == (1, f'\\"{fstype}\\" to rootfs at \\"/{where}\\": filesystem \\"{fstype}\\" '
                                 'must be mounted on ordinary directory"')


# 9b. --no-pivot: the rootfs is moved over / and chrooted into, so the host's full /proc
# stays in the mount namespace; a nested user namespace could then mount a fresh procfs
# (the kernel allows it when a full one is visible).  runc's msMoveRoot unmounts the
# host's procfs and sysfs first: the nested mount is refused, as with pivot_root.
@needs_runc
@pytest.mark.parametrize("pivot", [True, False])
def test_no_pivot_hides_the_hosts_procfs(pyrunc, runc, make_bundle, pivot):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo MOUNTED; true"])
        caps = b.config["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] += ["CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETFCAP", "CAP_DAC_OVERRIDE"]
        b.config["root"]["readonly"] = False
        b.write()
        p = rt("run", *([] if pivot else ["--no-pivot"]), "-b", b.path, f"np-{name}")
        assert p.returncode == 0, (name, p.stderr)
        seen[name] = p.stdout
    assert seen["pyrunc"] == seen["runc"] == ""
    with open("/proc/self/mountinfo") as f:  # the host's own /proc is untouched
        assert any(line.split()[4] == "/proc" for line in f)


# 9c. SCMP_ACT_NOTIFY on write: runc refuses it (the runtime's own writes after the load
# would wait on a listener nobody answers yet).
@needs_runc
def test_notify_on_write_is_refused(pyrunc, runc, make_bundle, tmp_path):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["true"])
        b.config["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(tmp_path / "agent.sock"),
            "syscalls": [{"names": ["getpid", "write"], "action": "SCMP_ACT_NOTIFY"}]}
        b.write()
        p = rt("run", "-b", b.path, f"nw-{name}")
        seen[name] = (p.returncode, "SCMP_ACT_NOTIFY cannot be used for the write syscall" in p.stderr)
    assert seen["pyrunc"] == seen["runc"] == (1, True)


# update's Intel RDT flags (runc 1.1.5 accepts --l3-cache-schema and --mem-bw-schema and
# applies them through resctrl): where resctrl lacks the feature, runc's error, before
# any limit of the same call is written.
@needs_runc
@pytest.mark.skipif(os.path.isdir("/sys/fs/resctrl/info"), reason="resctrl is mounted here: the refusal needs a host "
                                                                   "without it")
@pytest.mark.parametrize("flag", ["--l3-cache-schema", "--mem-bw-schema"])
def test_update_rdt_flags_refused_without_resctrl(pyrunc, runc, make_bundle, flag):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sleep", "1000"])
        cid = f"rdt-{name}"
        rt("run", "-d", "-b", b.path, cid, check=True)
        try:
            p = rt("update", flag, "L3:0=f" if "l3" in flag else "MB:0=50", "--pids-limit", "77", cid)
            seen[name] = _cli_view(p)
            with open(f"/sys/fs/cgroup/pids{b.config['linux']['cgroupsPath']}/pids.max") as f:
                assert f.read().strip() == "max", name  # nothing of the call was applied
        finally:
            rt("delete", "--force", cid)
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"][0] == 1 and "Intel RDT/" in seen["pyrunc"][2]


# delete with a cgroup made below the container's own (by the container, or by an agent):
# runc's RemovePath removes the child cgroups first, then the container's, in every
# hierarchy; nothing stays, and delete does not wait for a busy directory's timeout.
@needs_runc
def test_delete_removes_child_cgroups(pyrunc, runc, make_bundle):
    from pyrunc.runtime.linux.cgroups.hierarchy import hierarchies

    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sleep", "1000"])
        rel = b.config["linux"]["cgroupsPath"]
        assert rt("run", "-d", "-b", b.path, f"cc-{name}").returncode == 0
        dirs = [mnt + rel for mnt, _root, _fs, _c in hierarchies() if os.path.isdir(mnt + rel)]
        assert dirs
        for d in dirs:
            os.makedirs(os.path.join(d, "child", "grandchild"))
        p = rt("delete", "--force", f"cc-{name}", timeout=30)
        seen[name] = (p.returncode, p.stderr.strip(), [d for d in dirs if os.path.exists(d)])
    assert seen["pyrunc"] == seen["runc"] == (0, "", [])


# A foreground run without a terminal copies its stdin into the container's pipe: a
# container that reads all of a large stdin gets all of it, and one that never reads it
# still has its output copied and its exit reported (runc copies each stream on its own).
@needs_runc
@pytest.mark.parametrize("cmd,out", [("wc -c", str(4 << 20)),
                                     ("head -c 4194304 /dev/zero | tr '\\0' y", "y" * (4 << 20))])
def test_foreground_stdin_larger_than_a_pipe(pyrunc, runc, make_bundle, cmd, out):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sh", "-c", cmd])
        p = rt("run", "-b", b.path, f"fi-{name}", input="x" * (4 << 20), timeout=60)
        seen[name] = (p.returncode, p.stdout.strip() == out, len(p.stdout))
    assert seen["pyrunc"] == seen["runc"] and seen["runc"][:2] == (0, True), seen


# 7. systemd socket activation (create and run read it as go-systemd's activation.Files):
# the caller's LISTEN_FDS fds pass from 3 on, and the process is told (LISTEN_FDS=n,
# LISTEN_PID=1 after the config's environment), only when LISTEN_PID is the runtime's
# own pid; another pid, none, or a LISTEN_FDS that is not a number pass nothing, silently.
@needs_runc
@pytest.mark.parametrize("listen_pid, listen_fds, passed", [
    ("$$", "1", True), ("1", "1", False), ("", "1", False), ("$$", "x", False), ("$$", "0", False),
])
def test_socket_activation_as_runc(pyrunc, runc, make_bundle, tmp_path, listen_pid, listen_fds, passed):
    import shlex

    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sh", "-c", "env | grep ^LISTEN_ | sort; ls /proc/self/fd | tr '\\n' ' '"])
        pid = "unset LISTEN_PID" if not listen_pid else f"export LISTEN_PID={listen_pid}"
        cmd = " ".join(shlex.quote(a) for a in rt.cmd("run", "-b", b.path, f"act-{name}"))
        # exec: the runtime keeps the shell's pid, the one $$ names.
        p = subprocess.run(["sh", "-c", f"{pid}; export LISTEN_FDS={listen_fds}; exec {cmd} 3</dev/null"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        seen[name] = (p.returncode, p.stdout, p.stderr)
    # ls's own directory is one fd more than the container was given.
    expected = "LISTEN_FDS=1\nLISTEN_PID=1\n0 1 2 3 4 " if passed else "0 1 2 3 "
    assert seen["pyrunc"] == seen["runc"] == (0, expected, ""), seen


# 8. The cgroups a container's processes are in, read from the host: the init and an exec'd
# process are in the container's directory of every hierarchy, as runc places them.  pyrunc's
# children join by themselves (a v1 ``tasks`` write of "0", clone3 into the cgroup2
# directory: Manager.placement), runc's parent writes their pid to cgroup.procs.
@needs_runc
def test_processes_are_in_every_cgroup_as_runc(pyrunc, runc, make_bundle, tmp_path):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["sleep", "1000"])
        rel = b.config["linux"]["cgroupsPath"]
        cid = f"cg-{name}"
        assert rt("run", "-d", "-b", b.path, cid).returncode == 0
        init = json.loads(rt("state", cid, check=True).stdout)["pid"]
        pid_file = tmp_path / f"{name}.pid"
        p = rt("exec", "-d", "--pid-file", str(pid_file), cid, "sleep", "1000")
        assert p.returncode == 0, p.stderr
        procs = {}
        for what, pid in (("init", init), ("exec", int(pid_file.read_text()))):
            with open(f"/proc/{pid}/cgroup") as f:
                procs[what] = sorted(line.strip().replace(rel, "<container>") for line in f)
        seen[name] = procs
        rt("delete", "--force", cid, check=True)
    with open("/proc/self/cgroup") as f:
        hierarchies = len(f.read().splitlines())
    assert seen["pyrunc"] == seen["runc"]
    assert seen["pyrunc"]["init"] == seen["pyrunc"]["exec"]
    assert len(seen["pyrunc"]["init"]) == hierarchies
    assert all(line.endswith("<container>") for line in seen["pyrunc"]["init"]), seen


# 9. cpu.cpus as the kernel reads it: runc writes the list verbatim, so the kernel's grammar
# (strides, "N" for the last CPU, empty elements) runs, and what it refuses fails at the
# write (exit 1; pyrunc's error names linux.resources.cpu.cpus).  pyrunc refused every form
# but "0-3,5" at load.
@needs_runc
@pytest.mark.parametrize("cpus", ["0-1:1/2", "0-N", "N", "0,N", "0,", "0,,N", "1-0", "zero"])
def test_cpuset_list_forms_as_runc(pyrunc, runc, make_bundle, cpus):
    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["cat", "/sys/fs/cgroup/cpuset/cpuset.cpus"])
        b.config["linux"].setdefault("resources", {})["cpu"] = {"cpus": cpus}
        b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"] if n["type"] != "cgroup"]
        b.write()
        p = rt("run", "-b", b.path, f"cs-{name}")
        seen[name] = (p.returncode, p.stdout.strip())
        if name == "pyrunc" and p.returncode:
            assert "linux.resources.cpu.cpus" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert seen["pyrunc"] == seen["runc"], seen


# 10. A failing hook, worded as runc's for every kind (configs.Command.Run, HookList.RunHooks):
# "error running hook #I: error running hook: exit status N, stdout: ..., stderr: ...", a
# signal as Go's "signal: killed", a timeout as "hook ran past specified timeout of 1.0s";
# createRuntime/prestart/createContainer inside "unable to start container process: error
# during container init: ", startContainer's on the container's stderr as it is.  poststop's
# is logged as a warning, not at runc's error level: runtime.md (Lifecycle) says warning.
_HOOK_KINDS = ["createRuntime", "prestart", "createContainer", "startContainer", "poststart", "poststop"]


@needs_runc
@pytest.mark.parametrize("kind,script,timeout",
                         [(k, "echo out; echo oops >&2; exit 3", None) for k in _HOOK_KINDS]
                         + [(k, "kill -9 $$", None) for k in _HOOK_KINDS]
                         # the timeout in the runtime's hooks and in the init's
                         + [(k, "sleep 30", 1) for k in ("createRuntime", "prestart", "createContainer")])
def test_failing_hook_worded_as_runc(pyrunc, runc, make_bundle, kind, script, timeout):
    import re

    seen = {}
    for name, rt in both(pyrunc, runc):
        b = make_bundle(["true"])
        hook = {"path": "/bin/sh", "args": ["sh", "-c", script]}
        if timeout is not None:
            hook["timeout"] = timeout
        b.config["hooks"] = {kind: [hook]}
        b.write()
        p = rt("run", "-b", b.path, f"hk-{name}", timeout=60)
        rt("delete", "--force", f"hk-{name}", timeout=30)
        err = re.sub(r'time="[^"]*" ', "", p.stderr).replace("pyrunc run failed", "RT run failed")
        err = err.replace("runc run failed", "RT run failed")
        # runc's failed start also warns that it found no memory cgroup to ask about OOM kills.
        err = "\n".join(x for x in err.splitlines() if "oom kill count" not in x)
        if kind == "poststop":
            err = err.replace("level=warning", "level=error")  # runtime.md: a warning (see above)
        seen[name] = (p.returncode, err)
    assert seen["pyrunc"] == seen["runc"], seen
    assert "error running hook #0" in seen["pyrunc"][1] or "hook ran past" in seen["pyrunc"][1]
