"""Fuzzed input: a seeded generator of malformed and hostile configs, state files and
command lines, each run through the real `pyrunc` binary.

Each case must end with no traceback (nor our own "internal error" catch-all), exit 0 or
1 (255 for a failed exec, as runc), one line on stderr for a config that is refused, that
line naming the JSON path (or at least the top-level field) of what was broken, within
a bounded time, and nothing left behind: state, mounts, processes and cgroups are
checked after every batch.

The seed is printed and fixed by default (CI is reproducible); PYRUNC_FUZZ_SEED=<n> replays
a run, PYRUNC_FUZZ_SEED=random draws a new one.  Sizes: 1000 cases of each kind per run
(PYRUNC_RELIABILITY=full: 3000).
"""

import copy
import json
import os
import random
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from common import FULL, no_traceback, run
from conftest import CGROUP_PARENT, default_config, leaks

#: A fixed seed by default, so that CI is reproducible; PYRUNC_FUZZ_SEED=<n> replays a run and
#: PYRUNC_FUZZ_SEED=random draws a new one (printed).
_SEED_ENV = os.environ.get("PYRUNC_FUZZ_SEED", "20261124")
SEED = random.SystemRandom().randrange(1, 2**31) if _SEED_ENV == "random" else int(_SEED_ENV)
N = 3000 if FULL else 1000
WORKERS = 4
BATCH = 16
TIMEOUT = 20


# --- the valid starting point, and paths into it ----------------------------------------

def base_config(rootfs: str) -> dict:
    cfg = copy.deepcopy(default_config())
    cfg["root"] = {"path": rootfs, "readonly": True}
    cfg["process"]["args"] = ["true"]
    cfg["process"]["terminal"] = False
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    cfg["process"]["oomScoreAdj"] = 10
    cfg["hostname"] = "fuzz"
    lx = cfg["linux"]
    lx["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 100}, "cpu": {"shares": 512},
                       "devices": [{"allow": False, "access": "rwm"},
                                   {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}
    lx["sysctl"] = {"net.ipv4.ip_forward": "1"}
    lx["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                     "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                                   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}
    lx["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]}
    cfg["annotations"] = {"org.example.fuzz": "yes"}
    cfg["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                          "options": ["nosuid", "size=1m"]})
    return cfg


def json_path(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def walk(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def _parent(cfg, path):
    node = cfg
    for p in path[:-1]:
        node = node[p]
    return node


#: Never aimed at host state: the cgroup path stays under the run's own parent (only its
#: type is fuzzed), and hook paths stay /bin/true.
def _frozen(path: tuple) -> bool:
    return path[:2] == ("linux", "cgroupsPath") or (path[:1] == ("hooks",) and path[-1:] == ("path",))


WRONG = [None, True, 0, -1, 1.5, "x", [], {}, [1, "a"], {"k": 1}]
NUMBERS = [-1, -(2**63), 2**64, 2**70, 1e308, -0.0, 4294967296, 65536, 1 << 62]
STRINGS = ["\x00", "a\x00b", "\n", "line\nbreak", "\x1b[31mred", "\u202etxet", "\ud800", "é" * 10,
           "../../../../etc", "/proc/self/fd/0", "", "a" * 5000, "///", "/dev/../../..", "relative/p",
           "bogus-value", "SCMP_ACT_BOGUS", "CAP_BOGUS", "RLIMIT_BOGUS", "-1", "NaN", "  "]


def mutate(rng: random.Random, base: dict) -> tuple[str, str, bytes]:
    """(kind, json path, config.json bytes) of one hostile variant of ``base``."""
    cfg = copy.deepcopy(base)
    kind = rng.choice(["type", "type", "delete", "delete", "number", "string", "string", "huge-string",
                       "huge-array", "unknown-key", "deep", "raw"])
    if kind == "raw":
        text = json.dumps(cfg)
        choice = rng.randrange(7)
        data = [text[: rng.randrange(len(text))].encode(), b"", b"\xef\xbb\xbf" + text.encode(),
                text.encode().replace(b'"true"', b'"\xff\xfe"', 1), b"null", b"[]",
                text.encode() + b"garbage"][choice]
        return kind, "config.json", data
    paths = [p for p, _ in walk(cfg) if p and not _frozen(p)]
    path = rng.choice(paths)
    parent, key = _parent(cfg, path), path[-1]
    value = parent[key]
    if kind == "type":
        parent[key] = rng.choice([w for w in WRONG if type(w) is not type(value)])
        if parent[key] is None:
            kind = "null"  # like an absent field: it may well be valid
    elif kind == "delete":
        del parent[key]
    elif kind == "number":
        parent[key] = rng.choice(NUMBERS)
    elif kind == "string":
        parent[key] = rng.choice(STRINGS)
    elif kind == "huge-string":
        parent[key] = "A" * rng.choice([4096, 70000, 300000])
    elif kind == "huge-array":
        parent[key] = [value] * rng.choice([1000, 20000])
    elif kind == "unknown-key":
        node = value if isinstance(value, dict) else parent if isinstance(parent, dict) else cfg
        node["fuzzUnknown" + str(rng.randrange(100))] = rng.choice(WRONG)
    elif kind == "deep":
        depth = rng.choice([200, 5000, 100000])
        placeholder = "__DEEP__"
        parent[key] = placeholder
        text = json.dumps(cfg).replace(f'"{placeholder}"', "[" * depth + "]" * depth)
        return kind, json_path(path), text.encode()
    return kind, json_path(path), json.dumps(cfg).encode()


def _names_the_path(msg: str, path: str) -> bool:
    if path == "config.json":
        return "config.json" in msg
    parts = path.replace("[", ".[").split(".")
    prefixes = [".".join(parts[:i]).replace(".[", "[") for i in range(len(parts), 0, -1)]
    return any(p and p in msg for p in prefixes) or "config.json" in msg


# --- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_dirs(base_dir, busybox_rootfs):
    """A read-only bind of the busybox rootfs, shared by every case: no case can change
    what the next one sees.  Removed (and checked gone) at the end."""
    # Outside base_dir: the leak check counts mounts under it, and this one is ours.
    d = tempfile.mkdtemp(prefix="pyrunc-fuzz-")
    os.chmod(d, 0o755)
    rootfs = os.path.join(d, "rootfs")
    shutil.copytree(busybox_rootfs, rootfs, symlinks=True)
    subprocess.run(["mount", "--bind", rootfs, rootfs], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", rootfs], check=True)
    try:
        yield d, rootfs
    finally:
        subprocess.run(["umount", rootfs], check=True)
        shutil.rmtree(d, ignore_errors=True)


def _in_batches(cases, fn, root: str, base: str) -> list[str]:
    problems: list[str] = []
    with ThreadPoolExecutor(WORKERS) as pool:
        for start in range(0, len(cases), BATCH):
            batch = cases[start:start + BATCH]
            for case, err in zip(batch, pool.map(fn, batch), strict=True):
                if err:
                    problems.append(f"case {case[0]}: {err}")
            left = leaks(root, base)
            if left:
                problems.append(f"after cases {batch[0][0]}..{batch[-1][0]}: {left}")
                for cid in os.listdir(root) if os.path.isdir(root) else []:
                    run(root, "delete", "--force", cid)
            if len(problems) > 20:
                break
    return problems


def _error_lines(stderr: str) -> int:
    """Lines that are not warnings: a refused input ends with exactly one."""
    return sum(1 for line in stderr.splitlines() if "level=warning" not in line)


def _check(p: subprocess.CompletedProcess) -> str:
    if "Traceback" in p.stderr or "internal error" in p.stderr:
        return f"traceback: {p.stderr[-600:]}"
    if p.returncode not in (0, 1, 255) and not (p.returncode == 3 and "No help topic" in p.stderr):
        # (3: runc's, urfave/cli's, exit code for an unknown command)
        return f"exit {p.returncode}: {p.stderr[-300:]}"
    return ""


# --- configs --------------------------------------------------------------------------

def test_the_fuzz_base_config_runs(pyrunc, fuzz_dirs):
    d, rootfs = fuzz_dirs
    b = os.path.join(d, "base")
    os.mkdir(b)
    cfg = base_config(rootfs)
    cfg["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/fuzz-base"
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    p = pyrunc("run", "-b", b, "fuzzbase")
    assert p.returncode == 0, p.stderr


def test_fuzzed_configs(pyrunc, fuzz_dirs, base_dir):
    d, rootfs = fuzz_dirs
    rng = random.Random(SEED)
    base = base_config(rootfs)
    cases = []
    for i in range(N):
        base["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/fz{i}"
        kind, path, data = mutate(rng, base)
        cases.append((i, kind, path, data))
    accepted = []

    def one(case) -> str:
        i, kind, path, data = case
        b = os.path.join(d, f"c{i}")
        os.mkdir(b)
        with open(os.path.join(b, "config.json"), "wb") as f:
            f.write(data)
        try:
            p = run(pyrunc.root, "create", "-b", b, f"fz{i}", timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return f"{kind} at {path}: hung past {TIMEOUT} s"
        finally:
            shutil.rmtree(b, ignore_errors=True)
        err = _check(p)
        if err:
            return f"{kind} at {path}: {err}"
        if p.returncode == 0:
            accepted.append(i)
            dl = run(pyrunc.root, "delete", "--force", f"fz{i}")
            return _check(dl) or ("" if dl.returncode == 0 else f"delete: {dl.stderr}")
        if _error_lines(p.stderr) != 1:
            return f"{kind} at {path}: not one error line: {p.stderr[:400]!r}"
        # A wrong type, number, nesting or file is always the config's fault and must be
        # named; a changed string may be valid and fail later for its own reason.
        if kind in ("type", "number", "deep", "raw") and not _names_the_path(p.stderr, path):
            return f"{kind} at {path}: the error does not name it: {p.stderr.strip()[:300]}"
        return ""

    problems = _in_batches(cases, one, pyrunc.root, base_dir)
    print(f"\nfuzz seed {SEED}: {N} configs, {len(accepted)} accepted (created and deleted), "
          f"{N - len(accepted)} refused")
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems[:20])


# --- state files ----------------------------------------------------------------------

READ_ONLY_COMMANDS = [["state", "victim"], ["list"], ["list", "--format", "json"], ["ps", "victim"],
                      ["events", "--stats", "victim"], ["list", "-q"]]


def _mutate_state(rng: random.Random, text: str) -> bytes:
    lines = text.splitlines()
    k = rng.randrange(9)
    if k == 0:
        return text.encode()[: rng.randrange(len(text))]
    if k == 1:
        b = bytearray(text.encode())
        for _ in range(rng.randrange(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if k == 2:
        del lines[rng.randrange(len(lines))]
    elif k == 3:
        i = rng.randrange(len(lines))
        key = lines[i].partition("=")[0]
        lines[i] = key + "=" + rng.choice(STRINGS + ["-5", "99999999999999999999", "x" * 100000, "=", "\xff"])
    elif k == 4:
        lines.append(rng.choice(["garbage", "=", "k=v", "pid=1", "id=other"]))
    elif k == 5:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    elif k == 6:
        return b""
    elif k == 7:
        lines = lines + lines
    else:
        return json.dumps({"id": "victim", "pid": 1}).encode()
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def test_fuzzed_state_files(pyrunc, make_bundle, base_dir):
    """Only commands that read the state: a corrupt state must never make pyrunc
    signal, freeze or remove what a hostile file names."""
    b = make_bundle(["sleep", "1000"])
    pyrunc("create", "-b", b.path, "victim", check=True)
    path = os.path.join(pyrunc.root, "victim", "state")
    with open(path) as f:
        good = f.read()
    rng = random.Random(SEED + 1)
    problems = []
    try:
        for i in range(N):
            with open(path, "wb") as f:
                f.write(_mutate_state(rng, good))
            args = rng.choice(READ_ONLY_COMMANDS)
            try:
                p = run(pyrunc.root, *args, timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                problems.append(f"case {i} {args}: hung")
                continue
            err = _check(p)
            if err:
                problems.append(f"case {i} {args}: {err}")
            elif p.returncode == 1 and _error_lines(p.stderr) != 1:
                problems.append(f"case {i} {args}: not one line: {p.stderr[:300]!r}")
            if len(problems) > 20:
                break
    finally:
        with open(path, "w") as f:
            f.write(good)
        pyrunc("delete", "--force", "victim", check=True)
    print(f"\nfuzz seed {SEED}: {N} state files")
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems)


# --- command lines --------------------------------------------------------------------

COMMANDS = ["create", "run", "start", "state", "kill", "delete", "list", "spec", "ps", "pause", "resume",
            "update", "events", "exec", "features", "checkpoint", "restore", "bogus", "", "-", "--"]
FLAGS = ["--bundle", "-b", "--force", "-f", "--format", "--pid-file", "--console-socket", "--detach", "-d",
         "--all", "-a", "--signal", "--resources", "-r", "--cpu-quota", "--memory", "--pids-limit",
         "--tty", "-t", "--cwd", "--env", "-e", "--user", "-u", "--process", "-p", "--preserve-fds",
         "--no-pivot", "--no-new-keyring", "--keep", "--rootless", "--help", "-h", "--version", "-v",
         "--stats", "--interval", "--bogus", "-x", "--log-format", "--debug", "--systemd-cgroup", "--cap",
         "--additional-gids", "-g", "--", "--json"]


def _values(tmp: str, bundle: str) -> list[str]:
    return ["", "-1", "0", "9", "KILL", "SIGTERM", "99", "json", "table", "alive", "made", "nope", "../x",
            "a/b", "." * 3, "x" * 2000, "\x01", "é", "1k", "-5m", "true", "false", bundle,
            os.path.join(tmp, "pidfile"), os.path.join(tmp, "sock"), os.path.join(tmp, "res.json"), tmp,
            "sh", "/bin/true", "100000000000000000000"]


def test_fuzzed_command_lines(pyrunc, make_bundle, base_dir, tmp_path):
    """Paths in the vocabulary are all under the test's own directory; --root is always
    the test's own (set first, as a global flag)."""
    b = make_bundle(["true"])
    alive = make_bundle(["sleep", "1000"])
    pyrunc("run", "-d", "-b", alive.path, "alive", check=True)
    pyrunc("create", "-b", alive.path, "made", check=True)
    tmp = str(tmp_path)
    with open(os.path.join(tmp, "res.json"), "w") as f:
        f.write('{"pids": {"limit": 50}}')
    values = _values(tmp, b.path)
    rng = random.Random(SEED + 2)
    cases = []
    for i in range(N):
        argv = [rng.choice(COMMANDS)]
        for _ in range(rng.randrange(0, 6)):
            argv.append(rng.choice(FLAGS + values))
        if argv[0] == "events" and "--stats" not in argv:
            argv.append("--stats")  # the event stream runs until it is stopped, by design
        argv = [a for a in argv if a not in ("--ignore-paused",)]
        cases.append((i, argv))
    problems = []

    def one(case) -> str:
        i, argv = case
        try:
            p = run(pyrunc.root, *argv, timeout=TIMEOUT, cwd=tmp)
        except subprocess.TimeoutExpired:
            return f"{argv}: hung"
        if argv[0] in ("exec", "run") and p.returncode not in (0, 1, 255):
            # The container process's own exit status passes through (runc's behaviour).
            return f"{argv}: traceback: {p.stderr[-600:]}" if "Traceback" in p.stderr else ""
        err = _check(p)
        return f"{argv}: {err}" if err else ""

    try:
        # One at a time: the commands act on the same two containers.
        for case in cases:
            err = one(case)
            if err:
                problems.append(f"case {case[0]}: {err}")
            if len(problems) > 20:
                break
    finally:
        for cid in os.listdir(pyrunc.root) if os.path.isdir(pyrunc.root) else []:
            run(pyrunc.root, "resume", cid)
            run(pyrunc.root, "delete", "--force", cid)
    print(f"\nfuzz seed {SEED}: {N} command lines")
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems)
    no_traceback(run(pyrunc.root, "list"))
