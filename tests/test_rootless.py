"""Rootless pyrunc, as a real unprivileged uid.

Each test forks children that drop to an unused uid/gid (no passwd entry; setgroups([])
then setresgid/setresuid) with a temporary HOME and XDG_RUNTIME_DIR (0700, its own), and
run pyrunc there: nothing is written to /etc/passwd, /etc/subuid or /etc/subgid, so the
only id mapping that uid may write is its own (config-linux.md "User namespace
mappings"; user_namespaces(7)).  The installed launcher is used when that uid can run
it; otherwise (a checkout under a 0700 home) the installed package is copied into a
0755 directory with a launcher on Debian's /usr/bin/python3.

Nothing is left behind: no process of the uid, no mount, no state directory, no cgroup.
"""

import copy
import json
import os
import pwd
import random
import shutil
import subprocess
import tempfile

import pytest
from conftest import PYRUNC, RUN_TOKEN, default_config

RUNC = "/usr/sbin/runc"
SYSTEM_PYTHON = "/usr/bin/python3"


def _unused_id() -> int:
    """A uid (used as the gid too) with no passwd or group entry and no process."""
    import grp

    busy = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                busy.add(os.stat(f"/proc/{pid}").st_uid)
            except OSError:
                continue
    for _ in range(100):
        n = 40000 + random.randrange(20000)
        if n in busy:
            continue
        try:
            pwd.getpwuid(n)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(n)
            continue
        except KeyError:
            return n
    raise RuntimeError("no unused uid found")


def _pids_of(uid: int) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if str(uid) in line.split()[1:]:
                            out.append(int(pid))
                        break
        except OSError:
            continue
    return out


def _lingering(uid: int, timeout: float = 5.0) -> list[int]:
    """The uid's processes still there after ``timeout``: a killed init is a zombie
    until the host's PID 1 reaps it, which is not a leak."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = _pids_of(uid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _chown_tree(path: str, uid: int) -> None:
    os.lchown(path, uid, uid)
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), uid, uid)


class User:
    """An unprivileged uid with its own HOME and XDG_RUNTIME_DIR, running pyrunc."""

    def __init__(self, base: str, uid: int, pyrunc: str) -> None:
        self.base = base
        self.uid = uid
        self.pyrunc = pyrunc
        self.home = os.path.join(base, "home")
        self.xdg = os.path.join(base, "xdg")
        self.state_root = os.path.join(self.xdg, "pyrunc")

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.home,
                "XDG_RUNTIME_DIR": self.xdg, "PYRUNC_TEST_TOKEN": RUN_TOKEN}

    def _drop(self) -> None:
        # Groups first: after setresuid we could not change them.
        os.setgroups([])
        os.setresgid(self.uid, self.uid, self.uid)
        os.setresuid(self.uid, self.uid, self.uid)

    def run(self, argv: list[str], cwd: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        """``argv`` as the uid; stdout/stderr through files (a created container keeps
        create's stdio open, so a pipe would never reach EOF)."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True,
                                env=self.env(), cwd=cwd or self.home, preexec_fn=self._drop,
                                timeout=timeout).returncode
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, rc, out.read(), err.read())

    def __call__(self, *args: str, check: bool = False, **kw) -> subprocess.CompletedProcess:
        p = self.run([self.pyrunc, *args], **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"pyrunc {' '.join(args)} as uid {self.uid} failed ({p.returncode}): {p.stderr}")
        return p

    def bundle(self, rootfs: str, args: list[str], resources: dict | None = None) -> str:
        """A bundle the uid owns: ``spec --rootless`` written by the uid itself, then made
        non-interactive; the rootfs copied and owned by the uid (root in the container)."""
        path = tempfile.mkdtemp(prefix="bundle-", dir=self.base)
        os.chmod(path, 0o755)
        shutil.copytree(rootfs, os.path.join(path, "rootfs"), symlinks=True)
        _chown_tree(path, self.uid)
        self("spec", "--rootless", "--bundle", path, check=True)
        cfg_path = os.path.join(path, "config.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        cfg["process"]["env"].append(f"PYRUNC_TEST_TOKEN={RUN_TOKEN}")
        # On a v1/hybrid host `spec` has no cgroup namespace (runc's template); the
        # /sys/fs/cgroup mount then needs runc's per-hierarchy binds, which the engines
        # work brings: until then these bundles ask for a cgroup namespace.
        if {"type": "cgroup"} not in cfg["linux"]["namespaces"]:
            cfg["linux"]["namespaces"].insert(-1, {"type": "cgroup"})
        if resources is not None:
            cfg["linux"]["resources"] = resources
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        return path


def _reachable_launcher(base: str, uid: int) -> str:
    """The installed pyrunc when ``uid`` can run it, else a copy it can reach."""
    try:
        reachable = User(base, uid, PYRUNC).run([PYRUNC, "--version"], cwd="/").returncode == 0
    except OSError:  # exec refused: a directory on the way is closed to the uid
        reachable = False
    if reachable and os.environ.get("PYRUNC_TEST_COPY_LAUNCHER") != "1":
        return PYRUNC
    import pyrunc.runtime

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(pyrunc.runtime.__file__)))
    lib = os.path.join(base, "lib")
    shutil.copytree(pkg, os.path.join(lib, "pyrunc"), ignore=shutil.ignore_patterns("__pycache__"))
    for top, _dirs, files in os.walk(lib):
        os.chmod(top, 0o755)
        for name in files:
            os.chmod(os.path.join(top, name), 0o644)
    launcher = os.path.join(base, "pyrunc")
    with open(launcher, "w") as f:
        f.write(f"#!{SYSTEM_PYTHON} -IS\n\"\"\"pyrunc launcher for the rootless tests.\"\"\"\nimport sys\n"
                f"sys.path.insert(0, {lib!r})\nfrom pyrunc.runtime.cli.main import entry\nentry()\n")
    os.chmod(launcher, 0o755)
    return launcher


@pytest.fixture
def user(base_dir):
    """An unprivileged uid, its directories and a pyrunc it can run; everything is
    removed afterwards, and anything the uid left is a failure."""
    uid = _unused_id()
    base = tempfile.mkdtemp(prefix="rootless-", dir=base_dir)
    os.chmod(base, 0o755)
    u = None
    try:
        for d in ("home", "xdg"):
            os.mkdir(os.path.join(base, d), 0o700)
            os.chown(os.path.join(base, d), uid, uid)
        u = User(base, uid, _reachable_launcher(base, uid))
        yield u
    finally:
        problems = []
        if u is not None and os.path.isdir(u.state_root):
            left = os.listdir(u.state_root)
            if left:
                problems.append(f"state left in {u.state_root}: {left}")
                for cid in left:
                    u("delete", "--force", cid)
        pids = _lingering(uid)
        if pids:
            problems.append(f"processes of uid {uid} left: {pids}")
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
        with open("/proc/self/mountinfo") as f:
            mounts = [line for line in f if base in line]
        if mounts:
            problems.append(f"mounts left: {mounts}")
        shutil.rmtree(base, ignore_errors=True)
        if problems:
            pytest.fail("rootless leak: " + "; ".join(problems))


def _no_cgroups_for(cid: str) -> list[str]:
    from pyrunc.runtime.linux import cgroups

    return [d for d in cgroups.resolve("", cid) if os.path.exists(d)]


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "level=warning" in line]


def test_spec_rootless_is_runcs(user, tmp_path):
    """`spec --rootless` as the uid: its ids mapped to 0 (size 1), a user namespace and no
    network one, /sys bound, no gid= on devpts, no resources; the same as runc's apart
    from what differs in the two runtimes' default configs."""
    mine = os.path.join(user.base, "spec-mine")
    os.mkdir(mine)
    os.chown(mine, user.uid, user.uid)
    user("spec", "--rootless", "--bundle", mine, check=True)
    with open(os.path.join(mine, "config.json")) as f:
        cfg = json.load(f)
    lx = cfg["linux"]
    assert lx["uidMappings"] == [{"containerID": 0, "hostID": user.uid, "size": 1}]
    assert lx["gidMappings"] == [{"containerID": 0, "hostID": user.uid, "size": 1}]
    types = [ns["type"] for ns in lx["namespaces"]]
    assert "network" not in types and types[-1] == "user" and types.count("user") == 1
    assert "resources" not in lx
    assert list(lx)[:2] == ["uidMappings", "gidMappings"]  # runc's (Go struct) order
    sysm = [m for m in cfg["mounts"] if m["destination"] == "/sys"]
    assert sysm == [{"destination": "/sys", "type": "none", "source": "/sys",
                     "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}]
    assert not any(o.startswith(("gid=", "uid=")) for m in cfg["mounts"] for o in m.get("options", []))
    # Only the rootless rewrite differs from the plain default.
    plain = copy.deepcopy(default_config())
    assert cfg["process"] == plain["process"] and cfg["root"] == plain["root"]
    assert lx["maskedPaths"] == plain["linux"]["maskedPaths"]
    # Compared with Debian's runc 1.1.5, where it is installed.
    if not os.access(RUNC, os.X_OK):
        return
    theirs = os.path.join(user.base, "spec-runc")
    os.mkdir(theirs)
    os.chown(theirs, user.uid, user.uid)
    p = user.run([RUNC, "spec", "--rootless", "--bundle", theirs])
    assert p.returncode == 0, p.stderr
    with open(os.path.join(theirs, "config.json")) as f:
        runc = json.load(f)
    assert cfg["mounts"] == runc["mounts"]
    assert lx["uidMappings"] == runc["linux"]["uidMappings"] and lx["gidMappings"] == runc["linux"]["gidMappings"]
    assert "resources" not in runc["linux"]
    assert list(lx) == list(runc["linux"])
    # The default configs differ (runc 1.5 vs 1.1.5): the version, 1.1.5's ambient set,
    # the cgroup namespace, pyrunc's masked powercap.
    assert [t for t in types if t != "cgroup"] == [ns["type"] for ns in runc["linux"]["namespaces"]]
    assert cfg["process"]["capabilities"] == \
        {k: v for k, v in runc["process"]["capabilities"].items() if k != "ambient"}
    assert set(lx["maskedPaths"]) - set(runc["linux"]["maskedPaths"]) == {"/sys/devices/virtual/powercap"}
    assert lx["readonlyPaths"] == runc["linux"]["readonlyPaths"]


def test_run_as_unprivileged_uid(user, busybox_rootfs):
    """`run` as the uid: root inside through its single mapping, setgroups denied, /proc
    mounted in the new user+pid namespace, /sys bound; no cgroup could be made: no
    warning (as runc), and the container runs."""
    script = ("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; "
              "echo pid=$$; test -d /sys/kernel && echo sys; ls /dev/null /dev/zero /dev/tty >/dev/null && echo dev")
    b = user.bundle(busybox_rootfs, ["sh", "-c", script])
    p = user("run", "--bundle", b, "r1")
    assert p.returncode == 0, p.stderr
    lines = [" ".join(x.split()) for x in p.stdout.splitlines()]
    assert lines == ["0", "0", f"0 {user.uid} 1", f"0 {user.uid} 1", "deny", "pid=1", "sys", "dev"], p.stdout
    warns = _warnings(p.stderr)
    assert warns == [], p.stderr  # runc 1.1.5 says nothing of the cgroups it may not use
    assert "level=error" not in p.stderr
    assert os.path.isdir(user.state_root) and os.listdir(user.state_root) == []
    assert os.stat(user.state_root).st_uid == user.uid
    assert not _no_cgroups_for("r1")


def test_terminal_as_unprivileged_uid(user, busybox_rootfs):
    """A foreground `run` with a terminal, as a user at a shell would: the devpts of the
    rootless config (no gid=5) gives the container its own pty."""
    from conftest import run_in_pty

    b = user.bundle(busybox_rootfs, ["sh", "-c", "tty; id -u"])
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = True
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    # The pty's child drops to the uid itself, then runs pyrunc with the uid's environment.
    code = (f"import os; os.setgroups([]); os.setresgid({user.uid}, {user.uid}, {user.uid}); "
            f"os.setresuid({user.uid}, {user.uid}, {user.uid}); os.chdir({b!r}); "
            f"os.execve({user.pyrunc!r}, [{user.pyrunc!r}, 'run', 't1'], {user.env()!r})")
    rc, out = run_in_pty([SYSTEM_PYTHON, "-I", "-c", code])
    text = out.decode(errors="replace")
    assert rc == 0, text
    assert "/dev/pts/0" in text and "\r\n0\r\n" in text, text


def test_lifecycle_as_unprivileged_uid(user, busybox_rootfs):
    """create, state, list, start, exec, kill, delete as the uid, against its own root
    ($XDG_RUNTIME_DIR/pyrunc, the default when the euid is not 0)."""
    b = user.bundle(busybox_rootfs, ["sleep", "1000"])
    p = user("create", "--bundle", b, "c1")
    assert p.returncode == 0, p.stderr
    assert _warnings(p.stderr) == []  # as runc: nothing said of the cgroups it may not use
    cdir = os.path.join(user.state_root, "c1")
    assert os.path.isdir(cdir) and os.stat(cdir).st_uid == user.uid
    st = json.loads(user("state", "c1", check=True).stdout)
    assert st["status"] == "created" and st["pid"] > 0 and st["bundle"] == b
    with open(f"/proc/{st['pid']}/status") as f:
        assert any(line.startswith("Uid:") and str(user.uid) in line for line in f)
    listed = json.loads(user("list", "--format", "json", check=True).stdout)
    assert [c["id"] for c in listed] == ["c1"] and listed[0]["owner"] == f"#{user.uid}"
    # exec before start (runc allows it): the waiting init's namespaces are open to the uid.
    e = user("exec", "c1", "id", "-u", check=True)
    assert e.stdout.strip() == "0"
    user("start", "c1", check=True)
    assert json.loads(user("state", "c1", check=True).stdout)["status"] == "running"
    e = user("exec", "c1", "sh", "-c", "id -u; cat /proc/self/uid_map; cat /proc/1/cmdline", check=True)
    out = [" ".join(x.split()) for x in e.stdout.replace("\0", " ").splitlines()]
    assert out == ["0", f"0 {user.uid} 1", "sleep 1000"], e.stdout
    # Without cgroups: pause and update are one-line errors (runc's texts), ps still works.
    p = user("pause", "c1")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "cgroups not configured" in p.stderr, p.stderr
    p = user("update", "--pids-limit", "10", "c1")
    assert p.returncode == 1 and "cannot set pids limit: container could not join or create cgroup" in p.stderr
    ps = user("ps", "c1", check=True)
    assert "sleep 1000" in ps.stdout and str(user.uid) in ps.stdout
    user("kill", "c1", "KILL", check=True)
    for _ in range(200):
        if json.loads(user("state", "c1", check=True).stdout)["status"] == "stopped":
            break
    assert json.loads(user("state", "c1", check=True).stdout)["status"] == "stopped"
    user("delete", "c1", check=True)
    assert not os.path.exists(cdir)
    assert json.loads(user("list", "--format", "json", check=True).stdout or "[]") in ([], None)
    assert not _lingering(user.uid)


def test_resources_without_delegation(user, busybox_rootfs):
    """A limit needs the cgroup the uid could not make: runc's error, nothing left.
    Device rules alone are ignored (not expected to work rootless), and the container
    runs.  --rootless=false makes the first permission error fatal."""
    b = user.bundle(busybox_rootfs, ["true"], resources={"pids": {"limit": 100}})
    p = user("run", "--bundle", b, "r2")
    assert p.returncode == 1
    # runc 1.1.5's lines: its failed start's OOM-count warning (no memory cgroup either), then
    # the error with runc's chain.
    lines = p.stderr.splitlines()
    assert len(lines) == 2 and "unable to get oom kill count" in lines[0], p.stderr
    assert "error setting cgroup config for procHooks process: cannot set pids limit: container could not " \
        "join or create cgroup" in lines[1], p.stderr
    b2 = user.bundle(busybox_rootfs, ["true"], resources={"devices": [{"allow": False, "access": "rwm"}]})
    p = user("run", "--bundle", b2, "r3")
    assert p.returncode == 0 and _warnings(p.stderr) == [], p.stderr
    p = user("--rootless", "false", "run", "--bundle", b2, "r4")
    assert p.returncode == 1 and "permission denied" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    p = user("--rootless", "maybe", "run", "--bundle", b2, "r5")
    assert p.returncode == 1 and 'maybe' in p.stderr and 'invalid syntax' in p.stderr
    assert os.listdir(user.state_root) == []


def test_default_root_rules(monkeypatch):
    """runc's rules for the state root: the real root keeps /run/pyrunc even with
    XDG_RUNTIME_DIR set; --rootless auto means false for the real root."""
    from pyrunc.runtime.container import invoker as rootless

    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/0")
    assert not rootless.in_user_namespace()
    assert rootless.default_root() == "/run/pyrunc"
    assert rootless.rootless_cgroups("auto") is False and rootless.rootless_cgroups("") is False
    assert rootless.rootless_cgroups("true") is True and rootless.rootless_cgroups("1") is True
    assert rootless.rootless_cgroups("FALSE") is False
