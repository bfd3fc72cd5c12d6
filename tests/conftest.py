"""Fixtures: a busybox rootfs, bundles, a pyrunc with its own --root, and the leak check.

Every test runs real containers as root (tests/unit/ excepted: pure code, any user, its
own conftest turns the leak check off).  Nothing touches the host's own state: each
test has its own state root, bundles under a temporary directory, and cgroups under a
parent named for this test run.  After each test the leak check asserts that no state
directory, mount, process or cgroup directory is left behind.
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rootfs as rootfs_builder  # noqa: E402

PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")
RUN_TOKEN = uuid.uuid4().hex[:10]
CGROUP_PARENT = f"/pyrunc-test-{RUN_TOKEN}"

UNIT_DIR = os.path.join(HERE, "unit")


def pytest_collection_modifyitems(config, items):
    """The suite runs real containers: as root only.  tests/unit/ (pure code, no kernel)
    runs as any user; a run that collected anything else needs root."""
    if os.geteuid() != 0 and any(not str(item.path).startswith(UNIT_DIR + os.sep) for item in items):
        pytest.exit("the pyrunc suite runs real containers: run it as root (tests/unit runs as any user: "
                    "make unit)", returncode=1)


@pytest.fixture(scope="session")
def base_dir():
    d = tempfile.mkdtemp(prefix="pyrunc-tests-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox_rootfs(base_dir):
    return rootfs_builder.build(os.path.join(base_dir, "rootfs-cache"))


def default_config() -> dict:
    from pyrunc.spec.defaults import default_config as d

    return d()


class Pyrunc:
    """The pyrunc binary with this test's own --root."""

    def __init__(self, root: str) -> None:
        self.root = root

    def cmd(self, *args: str, root: bool = True) -> list[str]:
        return [PYRUNC, "--root", self.root, *args] if root else [PYRUNC, *args]

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60, check: bool = False,
                 **kw) -> subprocess.CompletedProcess:
        # Files, not pipes: a created container keeps create's stdio open (as with runc),
        # so a pipe would never reach EOF.
        kw.setdefault("stdin", subprocess.DEVNULL if input is None else None)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            rc = subprocess.run(self.cmd(*args), input=input, stdout=out, stderr=err, text=True,
                                timeout=timeout, **kw).returncode
            out.seek(0)
            err.seek(0)
            p = subprocess.CompletedProcess(args, rc, out.read(), err.read())
        if check and p.returncode != 0:
            raise AssertionError(f"pyrunc {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def state(self, cid: str) -> dict:
        return json.loads(self("state", cid, check=True).stdout)


def wait_status(pyrunc: "Pyrunc", cid: str, status: str, timeout: float = 10) -> None:
    """Wait (bounded) until ``cid`` has ``status``."""
    deadline = time.time() + timeout
    while pyrunc.state(cid)["status"] != status:
        assert time.time() < deadline, f"{cid} never became {status}"
        time.sleep(0.05)


class Bundle:
    def __init__(self, path: str, config: dict) -> None:
        self.path = path
        self.config = config
        self.rootfs = os.path.join(path, "rootfs")

    def write(self) -> "Bundle":
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)
        return self


@pytest.fixture
def pyrunc(tmp_path):
    root = tmp_path / "state-root"
    yield Pyrunc(str(root))


@pytest.fixture
def make_bundle(base_dir, busybox_rootfs, request):
    """make_bundle(args, **changes) -> a written Bundle with its own copy of the rootfs."""
    made = []

    def make(args: list[str] | None = None, terminal: bool = False, cgroup: bool = True) -> Bundle:
        path = tempfile.mkdtemp(prefix="bundle-", dir=base_dir)
        os.chmod(path, 0o755)
        shutil.copytree(busybox_rootfs, os.path.join(path, "rootfs"), symlinks=True)
        cfg = copy.deepcopy(default_config())
        cfg["process"]["terminal"] = terminal
        cfg["process"]["args"] = args or ["true"]
        cfg["process"]["env"].append(f"PYRUNC_TEST_TOKEN={RUN_TOKEN}")
        if cgroup:
            cfg["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/{uuid.uuid4().hex[:8]}"
        b = Bundle(path, cfg)
        made.append(b)
        return b.write()

    yield make
    for b in made:
        shutil.rmtree(b.path, ignore_errors=True)


def _mounts_under(prefix: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if prefix in line.split(" - ")[0]]


def _token_processes() -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"PYRUNC_TEST_TOKEN={RUN_TOKEN}".encode() in f.read():
                    out.append(int(pid))
        except OSError:
            continue
    return out


def _cgroup_dirs() -> list[str]:
    from pyrunc.runtime.linux import cgroups

    out = []
    for mnt, _root, _t, _c in cgroups.hierarchies():
        d = mnt.rstrip("/") + CGROUP_PARENT
        if os.path.isdir(d):
            out += [os.path.join(d, x) for x in os.listdir(d) if os.path.isdir(os.path.join(d, x))]
    return out


def leaks(root: str, base: str) -> list[str]:
    problems = []
    if os.path.isdir(root) and os.listdir(root):
        problems.append(f"state left in {root}: {os.listdir(root)}")
    if _mounts_under(base):
        problems.append(f"mounts left: {_mounts_under(base)}")
    procs = _token_processes()
    if procs:
        problems.append(f"processes left: {procs}")
    cgs = _cgroup_dirs()
    if cgs:
        problems.append(f"cgroups left: {cgs}")
    return problems


@pytest.fixture(autouse=True)
def no_leaks(request, base_dir, tmp_path):
    yield
    if request.node.get_closest_marker("leaks_ok"):
        return
    root = str(tmp_path / "state-root")
    problems = leaks(root, base_dir)
    if problems:
        # Clean up so one failure does not cascade, then fail this test.
        for pid in _token_processes():
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        if os.path.isdir(root):
            for cid in os.listdir(root):
                subprocess.run([PYRUNC, "--root", root, "delete", "--force", cid], capture_output=True,
                               timeout=60)
        _remove_cgroup_dirs()
        pytest.fail("leak: " + "; ".join(problems))


def _remove_cgroup_dirs(timeout: float = 5.0) -> None:
    """After a leak: the leftover cgroup directories under the run's parent go (their
    processes killed, then the runtime's own removal, deepest first, retried while those
    exit), so that every later test's leak check does not report them again.  The check
    itself (``_cgroup_dirs``) stays independent of the runtime; the clean-up after it may
    use the runtime's helpers, as it uses ``delete --force``."""
    from pyrunc.runtime.linux.cgroups import directories

    deadline = time.monotonic() + timeout
    while True:
        dirs = _cgroup_dirs_deep()
        for pid in directories.pids(dirs):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        try:
            directories.remove(dirs, dirs, timeout=0.2)
            return
        except OSError:
            if time.monotonic() > deadline:
                return  # reported already; the session's end reports it again


def _cgroup_dirs_deep() -> list[str]:
    """Every directory below the run's cgroup parent, in every hierarchy."""
    out = []
    for top in _cgroup_dirs():
        for dirpath, _dirs, _files in os.walk(top):
            out.append(dirpath)
    return out


def pytest_sessionfinish(session, exitstatus):
    """The run's own cgroup parent goes too; one that cannot go is a leak of the suite."""
    from pyrunc.runtime.linux import cgroups

    left = []
    for mnt, _root, _t, _c in cgroups.hierarchies():
        d = mnt.rstrip("/") + CGROUP_PARENT
        try:
            os.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError:
            left.append(d)
    if left:
        print(f"\nleak: cgroup directories left by the suite: {left}")
        session.exitstatus = 1


def run_in_pty(argv: list[str], timeout: float = 60, env: dict | None = None) -> tuple[int, bytes]:
    """Run ``argv`` with a pseudo-terminal as its stdio, as a user at a shell would;
    returns (exit code, everything it wrote).  Past ``timeout`` it is killed and the test
    fails: a runtime that hangs on a terminal must not hang the suite."""
    import pty
    import select
    import signal
    import time

    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env if env is not None else os.environ)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"timed out after {timeout:g}s: {argv}; output so far {out!r}")
            if not select.select([master], [], [], left)[0]:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    return os.waitstatus_to_exitcode(status), out


def pytest_terminal_summary(terminalreporter):
    """The differential tier (tests/differential): which runc each scenario was compared
    with (and where runc 1.1.5 and 1.5 differ)."""
    refs: dict[str, int] = {}
    split = []
    for reports in terminalreporter.stats.values():
        for r in reports:
            props = dict(getattr(r, "user_properties", ()) or ())
            if getattr(r, "when", "") != "call" or "diff-reference" not in props:
                continue
            refs[props["diff-reference"]] = refs.get(props["diff-reference"], 0) + 1
            if "diff-ref-split" in props:
                split.append(f"{r.nodeid.split('[')[-1].rstrip(']')}: {props['diff-ref-split']}")
    if not refs:
        return
    terminalreporter.section("differential tier: references")
    for ref, n in refs.items():
        terminalreporter.write_line(f"{n} scenarios compared with {ref}")
    for line in split:
        terminalreporter.write_line(f"runc 1.1.5 and 1.5 differ (1.5 won) in {line}")
