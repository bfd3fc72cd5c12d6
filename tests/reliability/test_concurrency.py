"""Commands run at the same time.  Fifty containers with distinct ids go through create,
start, kill and delete in parallel while `list` runs in a loop; then rounds of about fifty
commands race on one id (creates against creates, create against delete, kill against
delete, delete against delete).  Every command either succeeds or fails with one line
of runc's texts (never a traceback), no reader ever sees a torn state file, `state`
answers after each round, and `delete --force` leaves nothing behind (the leak check)."""

import copy
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from common import no_traceback, run
from conftest import CGROUP_PARENT, leaks

N = 50

#: runc's texts for a command that lost a race (runtime/errors.py, runtime/container/*.py).
RUNC_TEXTS = (
    "container with given ID already exists",
    "container does not exist",
    "container not running",
    "cannot start a container that has stopped",
    "cannot start an already running container",
    "cannot start a container in the ",
    "that is not stopped: ",
)

STATUSES = {"creating", "created", "running", "stopped"}

_MSG = re.compile(r'level=error msg=(?:"((?:[^"\\]|\\.)*)"|(\S+))$')


def _error_text(p) -> str:
    """The message of a failed command's one error line."""
    no_traceback(p)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    m = _MSG.search(lines[0])
    assert m, p.stderr
    return m.group(1) if m.group(1) is not None else m.group(2)


def _ok_or_runc_error(p) -> str:
    """'ok', or the runc text this failure carries (else the test fails)."""
    no_traceback(p)
    if p.returncode == 0:
        return "ok"
    msg = _error_text(p)
    assert p.returncode == 1, (p.args, p.returncode, p.stderr)
    for t in RUNC_TEXTS:
        if t in msg:
            return t
    raise AssertionError(f"{' '.join(p.args)}: not one of runc's texts: {p.stderr!r}")


def _bundle_for(base: str, rootfs: str, config: dict, tag: str) -> str:
    """A bundle of its own (its own cgroup under the test's parent) on a shared rootfs."""
    path = tempfile.mkdtemp(prefix=f"bundle-{tag}-", dir=base)
    os.chmod(path, 0o755)
    cfg = copy.deepcopy(config)
    cfg["root"]["path"] = rootfs
    cfg["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/{tag}-{uuid.uuid4().hex[:8]}"
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)
    return path


class Lister(threading.Thread):
    """`list` and `list --format json` in a loop: every call exits 0 with parsable output."""

    def __init__(self, root: str) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.stop = threading.Event()
        self.calls = 0
        self.max_seen = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            for args in (("list",), ("list", "--format", "json")):
                p = run(self.root, *args)
                self.calls += 1
                if p.returncode != 0 or "Traceback" in p.stderr or p.stderr:
                    self.errors.append(f"{args}: {p.returncode} {p.stderr!r}")
                    continue
                if args == ("list",):
                    if not p.stdout.startswith("ID "):
                        self.errors.append(f"list: {p.stdout!r}")
                    continue
                try:
                    got = json.loads(p.stdout) or []
                except ValueError:
                    self.errors.append(f"list --format json: {p.stdout!r}")
                    continue
                self.max_seen = max(self.max_seen, len(got))
                for c in got:
                    if c.get("status") not in STATUSES:
                        self.errors.append(f"list --format json: status {c!r}")


class TornWatcher(threading.Thread):
    """Reads every state file under the root in a loop, as the runtime's readers do
    (no lock): each must decode, whole, at every instant."""

    def __init__(self, root: str) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.stop = threading.Event()
        self.reads = 0
        self.errors: list[str] = []

    def run(self) -> None:
        from pyrunc.runtime.container import store
        from pyrunc.runtime.errors import PyruncError

        while not self.stop.is_set():
            try:
                ids = os.listdir(self.root)
            except FileNotFoundError:
                ids = []
            for cid in ids:
                path = os.path.join(self.root, cid, store.STATE)
                try:
                    with open(path) as f:
                        text = f.read()
                except (FileNotFoundError, NotADirectoryError):
                    continue
                self.reads += 1
                try:
                    st = store.decode(text, cid)
                except PyruncError as e:
                    self.errors.append(f"{path}: {e}: {text!r}")
                    continue
                if st.id != cid:
                    self.errors.append(f"{path}: id {st.id!r}")
            time.sleep(0.001)


def _state_answers(root: str, cid: str) -> str:
    st = run(root, "state", cid)
    no_traceback(st)
    if st.returncode == 0:
        s = json.loads(st.stdout)
        assert s["id"] == cid and s["status"] in STATUSES, s
        assert (s["pid"] > 0) == (s["status"] in ("created", "running")), s
        return s["status"]
    assert "container does not exist" in _error_text(st), st.stderr
    return "gone"


def test_fifty_distinct_ids_in_parallel(pyrunc, make_bundle, base_dir):
    b = make_bundle(["sleep", "1000"], cgroup=False)
    bundles = [_bundle_for(base_dir, b.rootfs, b.config, f"c{i}") for i in range(N)]
    lister = Lister(pyrunc.root)
    watcher = TornWatcher(pyrunc.root)

    def cycle(i: int) -> list[str]:
        cid = f"c{i}"
        problems = []
        for args in (("create", "-b", bundles[i], cid), ("start", cid), ("kill", cid, "KILL")):
            p = run(pyrunc.root, *args)
            no_traceback(p)
            if p.returncode != 0:
                problems.append(f"{args}: {p.stderr.strip()}")
                break
        for _ in range(500):
            st = run(pyrunc.root, "state", cid)
            no_traceback(st)
            if st.returncode != 0 or json.loads(st.stdout)["status"] == "stopped":
                break
            time.sleep(0.02)
        p = run(pyrunc.root, "delete", cid)
        no_traceback(p)
        if p.returncode != 0:
            problems.append(f"delete {cid}: {p.stderr.strip()}")
        return problems

    t0 = time.monotonic()
    lister.start()
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=N) as pool:
            results = list(pool.map(cycle, range(N)))
    finally:
        lister.stop.set()
        watcher.stop.set()
        lister.join()
        watcher.join()
        for path in bundles:
            shutil.rmtree(path, ignore_errors=True)
    took = time.monotonic() - t0
    print(f"\nconcurrency: {N} create/start/kill/delete in parallel in {took:.1f} s; "
          f"{lister.calls} list calls (at most {lister.max_seen} containers seen), "
          f"{watcher.reads} state files read whole")
    problems = [x for r in results for x in r]
    assert not problems, problems
    assert not lister.errors, lister.errors[:5]
    assert not watcher.errors, watcher.errors[:5]
    assert lister.calls > 0 and watcher.reads > 0
    assert not os.path.isdir(pyrunc.root) or not os.listdir(pyrunc.root), os.listdir(pyrunc.root)


#: Each round: what exists before it, then the commands launched together on one id.
ROUNDS = [
    ("two creates", None, ["create"] * N),
    ("create against delete", None, ["create"] * 20 + ["delete"] * 10 + ["delete --force"] * 10 + ["state"] * 10),
    ("kill against delete", "running", ["kill"] * 20 + ["delete"] * 10 + ["delete --force"] * 10 + ["state"] * 10),
    ("delete against delete", "stopped", ["delete"] * 25 + ["delete --force"] * 25),
    ("start against delete", "created", ["start"] * 15 + ["kill"] * 10 + ["delete --force"] * 10
     + ["delete"] * 5 + ["state"] * 10),
    ("everything", None, ["create"] * 12 + ["start"] * 8 + ["kill"] * 8 + ["delete"] * 6
     + ["delete --force"] * 6 + ["state"] * 10),
]


def test_races_on_one_id(pyrunc, make_bundle, base_dir):
    b = make_bundle(["sleep", "1000"])
    root = pyrunc.root
    watcher = TornWatcher(root)
    watcher.start()
    figures = []
    try:
        for r, (name, before, cmds) in enumerate(ROUNDS * 2):
            cid = f"race{r}"
            if before is not None:
                assert run(root, "create", "-b", b.path, cid).returncode == 0
                if before in ("running", "stopped"):
                    assert run(root, "start", cid).returncode == 0
                if before == "stopped":
                    assert run(root, "kill", cid, "KILL").returncode == 0
                    for _ in range(500):
                        if _state_answers(root, cid) == "stopped":
                            break
                        time.sleep(0.01)

            def one(cmd: str, cid: str = cid):
                verb, *flags = cmd.split()
                args = {"create": ("create", "-b", b.path, cid), "kill": ("kill", cid, "KILL")}.get(
                    verb, (verb, *flags, cid))
                return cmd, run(root, *args)

            barrier = threading.Barrier(len(cmds))

            def launch(cmd: str, barrier: threading.Barrier = barrier, one=one):
                barrier.wait()
                return one(cmd)

            with ThreadPoolExecutor(max_workers=len(cmds)) as pool:
                outcomes = list(pool.map(launch, cmds))
            seen: dict[str, dict[str, int]] = {}
            for cmd, p in outcomes:
                verdict = _ok_or_runc_error(p)
                seen.setdefault(cmd, {}).setdefault(verdict, 0)
                seen[cmd][verdict] += 1
                if cmd == "delete --force":
                    # containerd deletes twice: a forced delete that finds nothing succeeds.
                    assert verdict == "ok", (cmd, p.stderr)
                if cmd == "state" and verdict == "ok":
                    s = json.loads(p.stdout)
                    assert s["id"] == cid and s["status"] in STATUSES, s
            if name == "two creates":
                assert seen["create"].get("ok") == 1, seen
                assert seen["create"].get("container with given ID already exists") == N - 1, seen
            status = _state_answers(root, cid)
            figures.append(f"{name}: {status} after, {seen}")
            ls = run(root, "list", "--format", "json")
            assert ls.returncode == 0, ls.stderr
            json.loads(ls.stdout)
            d = run(root, "delete", "--force", cid)
            no_traceback(d)
            assert d.returncode == 0, d.stderr
            assert _state_answers(root, cid) == "gone"
            problems = leaks(root, base_dir)
            assert not problems, (name, problems)
    finally:
        watcher.stop.set()
        watcher.join()
    print("\nraces on one id:\n  " + "\n  ".join(figures) + f"\n  {watcher.reads} state files read whole")
    assert not watcher.errors, watcher.errors[:5]
