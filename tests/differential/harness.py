"""The differential tier's instrument: one scenario under runc and under pyrunc, compared.

A scenario is a config.json (runc's own ``runc spec`` template, plus a change: a function
or a JSON patch), an optional change to the rootfs, and a sequence of steps (CLI calls,
host snapshots, waits).  Each runtime gets its own --root, its own copy of the bundle, its
own container ids and cgroup paths, so scenarios run in parallel (pytest-xdist).  What is
compared, after normalization (ids, temp paths, times, pids, program names replaced):

- every CLI call: exit code, stdout, stderr (log framing parsed, the message compared);
- what the container saw: the probe (probe.sh, busybox sh, plus sysprobe, a static C
  program) prints one section per field: mountinfo, Cap*/NoNewPrivs/Seccomp/Groups, ids,
  cwd, env, rlimits, umask, hostname, /dev, the tty, cgroup files, sysctls, syscalls...;
- the host: at a snapshot, the container's namespaces (new or the host's) and its cgroup
  directories with their values; afterwards, mounts under the scenario's directories,
  cgroup directories, processes, and what the state root holds.

A field that differs fails the scenario unless the scenario names it (a glob over field
names) as a deliberate difference with its reason.  A deliberate difference that no
longer differs fails too, so the list stays true.  Every call has a timeout; a hang is a
failure; cleanup (kill, delete --force, umount, rmdir) runs under both runtimes whatever
happened.

The reference is $RUNC (default /usr/sbin/runc).  With $RUNC15 set, runc 1.5 runs too and
its behaviour is the reference (it wins where the two runc differ); the report names the
reference each scenario used and the fields where the two runc disagree.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")
RUNC = os.environ.get("RUNC", "/usr/sbin/runc")
RUNC15 = os.environ.get("RUNC15", "")
CALL_TIMEOUT = 30.0
PROBE_TIMEOUT = 20.0
TOKEN_VAR = "DIFF_TOKEN"


# ---------------------------------------------------------------- scenario description

@dataclasses.dataclass
class Call:
    """One CLI call.  ``args`` may hold {id}, {id2}, {bundle}, {root}, {tmp}, {rootfs}.

    ``tty``: run under ``script`` (a pseudo-terminal as the caller's stdio).
    ``console``: start a --console-socket receiver at {tmp}/console.sock first; what the
    console printed becomes the container's output.
    ``stdin``: text fed to the call (else /dev/null).  ``cwd``: run from this directory
    (placeholders allowed; default the scenario's directory).  ``record``: compare this
    call (False for setup calls whose result is not the point).  ``env``: extra environment.
    ``fds``: fds the caller leaves open without close-on-exec (each on /dev/null), as
    ``script`` or a shell's ``exec 7</dev/null`` does; else only stdio reaches the call."""

    args: list[str]
    tty: bool = False
    console: bool = False
    stdin: str | None = None
    cwd: str | None = None
    record: bool = True
    env: dict[str, str] | None = None
    timeout: float = CALL_TIMEOUT
    as_user: int | None = None
    global_args: list[str] | None = None  # before the command; default ["--root", "{root}"]
    fds: tuple[int, ...] = ()


@dataclasses.dataclass
class Snapshot:
    """Look at the container from the host: namespaces, cgroup directories and values."""

    cid: str = "{id}"


@dataclasses.dataclass
class WaitOutput:
    """Wait until the probe has printed its last section (or its container is gone)."""

    timeout: float = PROBE_TIMEOUT
    cid: str = "{id}"


@dataclasses.dataclass
class WaitStopped:
    """Wait until the container's init is gone (state 'stopped').  ``soft``: it may stay
    (a signal it ignores): record whether it stopped instead of calling it a hang."""

    cid: str = "{id}"
    timeout: float = 10.0
    soft: bool = False


@dataclasses.dataclass
class Shell:
    """A host-side step of the scenario (a file to write, a cgroup to freeze): a function
    of the run's placeholders.  Not compared."""

    fn: Callable[[dict[str, str]], None]


@dataclasses.dataclass
class Collect:
    """Record the files matching ``pattern`` in {tmp} (what hooks wrote, a --pid-file, a
    --log file): JSON is compared as data (pids and times normalized), text as text."""

    pattern: str = "*"


Step = Call | Snapshot | WaitOutput | WaitStopped | Shell | Collect


@dataclasses.dataclass
class Scenario:
    """``change``: a function editing the config in place, or a JSON patch (a list of
    {"op": "add"|"replace"|"remove", "path": "/a/b", "value": ...}).  ``rootfs``: a
    function editing the rootfs copy.  ``deliberate``: field glob -> the reason a runc
    user would accept.  ``probe``: the container's process is the probe (``hold``: it
    stays after printing, for lifecycle sequences)."""

    name: str
    steps: list[Step]
    change: Callable[[dict], Any] | list[dict] | None = None
    rootfs: Callable[[str], Any] | None = None
    deliberate: dict[str, str] = dataclasses.field(default_factory=dict)
    probe: bool = True
    hold: bool = False
    token: bool = True
    bundle: bool = True
    template: str = "spec"  # "spec" or "rootless": which `runc spec` template
    extra_files: list[str] = dataclasses.field(default_factory=list)  # more files the probe prints
    rootless_user: int | None = None
    ignore: list[str] = dataclasses.field(default_factory=list)  # fields not compared at all (globs)


def lifecycle(*middle: Step, create: list[str] | None = None, start: list[str] | None = None,
              kill: tuple[str, ...] = ("KILL",), delete: list[str] | None = None) -> list[Step]:
    """create, look from the host, start, wait for the probe, (middle), state, kill, state,
    delete: the sequence most field scenarios use."""
    return [
        Call(["create", *(create or []), "--bundle", "{bundle}", "{id}"]),
        Snapshot(),
        Call(["state", "{id}"]),
        Call(["start", *(start or []), "{id}"]),
        WaitOutput(),
        *middle,
        Call(["state", "{id}"]),
        Call(["kill", "{id}", *kill]),
        WaitStopped(),
        Call(["state", "{id}"]),
        Call(["delete", *(delete or []), "{id}"]),
    ]


def field(*middle: Step, create: list[str] | None = None) -> list[Step]:
    """create, look from the host, start, let the probe print and exit, collect the
    files, delete: one config field's scenario."""
    return [
        Call(["create", *(create or []), "--bundle", "{bundle}", "{id}"]),
        Snapshot(),
        Call(["start", "{id}"]),
        WaitOutput(),
        WaitStopped(),
        *middle,
        Collect(),
        Call(["state", "{id}"]),
        Call(["delete", "{id}"]),
    ]


def run_once(*flags: str) -> list[Step]:
    """A foreground ``run``: the probe prints and exits; its output is run's stdout."""
    return [Call(["run", *flags, "--bundle", "{bundle}", "{id}"])]


# ---------------------------------------------------------------- the runtimes

@dataclasses.dataclass
class Runtime:
    name: str      # "runc", "runc15", "pyrunc"
    path: str
    label: str     # its version line, for the report


def runtimes() -> tuple[list[Runtime], Runtime]:
    """The references (runc, and runc 1.5 when $RUNC15 is set) and pyrunc."""
    refs = [Runtime("runc", RUNC, _version(RUNC))]
    if RUNC15:
        refs.append(Runtime("runc15", RUNC15, _version(RUNC15)))
    return refs, Runtime("pyrunc", PYRUNC, _version(PYRUNC))


_versions: dict[str, str] = {}


def _version(path: str) -> str:
    if path not in _versions:
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
            _versions[path] = out.splitlines()[0] if out else path
        except (OSError, subprocess.SubprocessError):
            _versions[path] = f"{path} (not runnable)"
    return _versions[path]


_templates: dict[tuple[str, str], dict] = {}


def template(runc: str, kind: str = "spec", uid: int | None = None) -> dict:
    """runc's own default config (``runc spec``, or ``runc spec --rootless`` run as the
    user who will run the container: its id maps name that user), never a copy written
    into this repository."""
    key = (runc, kind, uid)
    if key not in _templates:
        d = tempfile.mkdtemp(prefix="diff-spec-")
        try:
            args = [runc, "spec"] + (["--rootless"] if kind == "rootless" else [])
            pre = None
            if uid is not None:
                os.chown(d, uid, uid)

                def pre() -> None:
                    os.setgroups([])
                    os.setgid(uid)
                    os.setuid(uid)
            subprocess.run(args, cwd=d, check=True, capture_output=True, timeout=10, preexec_fn=pre)
            with open(os.path.join(d, "config.json")) as f:
                _templates[key] = json.load(f)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return copy.deepcopy(_templates[key])


# ---------------------------------------------------------------- JSON patch (a subset of RFC 6902)

def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def apply_patch(doc: dict, patch: list[dict]) -> None:
    for op in patch:
        parts = _pointer(op["path"])
        parent: Any = doc
        for p in parts[:-1]:
            if isinstance(parent, list):
                parent = parent[int(p)]
            else:
                parent = parent.setdefault(p, {}) if op["op"] == "add" else parent[p]
        last = parts[-1]
        if op["op"] == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                parent.pop(last, None)
        elif isinstance(parent, list):
            if last == "-":
                parent.append(op["value"])
            elif op["op"] == "add":
                parent.insert(int(last), op["value"])
            else:
                parent[int(last)] = op["value"]
        else:
            parent[last] = op["value"]


# ---------------------------------------------------------------- one run of a scenario under one runtime

class Run:
    """One runtime's run of a scenario: its directories, ids, and what it observed."""

    def __init__(self, scn: Scenario, rt: Runtime, base: str, rootfs: str, sysprobe: str | None) -> None:
        self.scn, self.rt = scn, rt
        tag = uuid.uuid4().hex[:8]
        # The same length for every runtime: list's table pads columns to the paths.
        self.dir = tempfile.mkdtemp(prefix="diff-", dir=base)
        os.chmod(self.dir, 0o755)
        self.root = os.path.join(self.dir, "state")
        self.bundle = os.path.join(self.dir, "bundle")
        self.tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp)
        os.chmod(self.tmp, 0o777)
        self.ids = {"id": f"d{tag}a", "id2": f"d{tag}b"}
        self.token = f"t{tag}"
        self.cgtoken = f"diff{tag}"
        self.vars = {**self.ids, "bundle": self.bundle, "root": self.root, "tmp": self.tmp,
                     "rootfs": os.path.join(self.bundle, "rootfs"), "dir": self.dir,
                     "cgtoken": self.cgtoken, "prog": rt.path}
        self.obs: dict[str, str] = {}
        self.outputs: list[str] = []     # files the probe's output may land in
        self.cgdirs: set[str] = set()    # host cgroup directories seen
        self.ncall = 0
        self.hang = ""
        self.receivers: list[subprocess.Popen] = []
        if scn.bundle:
            self._make_bundle(rootfs, sysprobe)

    # ---- placeholders and normalization

    def fill(self, s: str) -> str:
        return s.format(**self.vars) if "{" in s else s

    def normalize(self, text: str) -> str:
        """Replace what differs between any two runs: paths, ids, tokens, program names,
        times, pids."""
        reps = [(self.bundle, "<BUNDLE>"), (self.root, "<ROOT>"), (self.tmp, "<TMP>"),
                (self.dir, "<DIR>"), (self.ids["id2"], "<ID2>"), (self.ids["id"], "<ID>"),
                (self.token, "<TOKEN>"), (self.cgtoken, "<CG>"), (self.rt.path, "<PROG>")]
        for a, b in reps:
            text = text.replace(a, b)
        text = re.sub(r"\bpyrunc\b", "<PROG>", text)
        text = re.sub(r"\brunc\b", "<PROG>", text)
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<TIME>", text)
        text = re.sub(r'"pid": \d+', '"pid": <PID>', text)
        text = re.sub(r"(pipe|socket|anon_inode):\[\d+\]", r"\1:[N]", text)
        return text

    # ---- the bundle

    def _make_bundle(self, rootfs: str, sysprobe: str | None) -> None:
        scn = self.scn
        rfs = os.path.join(self.bundle, "rootfs")
        os.makedirs(self.bundle)
        shutil.copytree(rootfs, rfs, symlinks=True)
        shutil.copy(os.path.join(HERE, "probe.sh"), os.path.join(rfs, "probe.sh"))
        if sysprobe:
            shutil.copy(sysprobe, os.path.join(rfs, "sysprobe"))
        if scn.extra_files:
            with open(os.path.join(rfs, "probe.extra"), "w") as f:
                f.write("".join(p + "\n" for p in scn.extra_files))
        cfg = template(RUNC, scn.template, scn.rootless_user)
        cfg["process"]["terminal"] = False
        if scn.probe:
            cfg["process"]["args"] = ["/bin/sh", "/probe.sh"] + (["hold"] if scn.hold else [])
        if scn.change is not None:
            if callable(scn.change):
                scn.change(cfg)
            else:
                apply_patch(cfg, scn.change)
        if scn.token and isinstance(cfg.get("process"), dict) and isinstance(cfg["process"].get("env"), list):
            cfg["process"]["env"].append(f"{TOKEN_VAR}={self.token}")
        text = json.dumps(cfg, indent=1)
        text = text.replace("{cgtoken}", self.cgtoken).replace("{id}", self.ids["id"])
        text = text.replace("{tmp}", self.tmp).replace("{bundle}", self.bundle)
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            f.write(text)
        if scn.rootfs:
            scn.rootfs(rfs)
        if scn.rootless_user is not None:
            for d, _dirs, files in os.walk(self.dir):
                os.lchown(d, scn.rootless_user, scn.rootless_user)
                for x in files:
                    os.lchown(os.path.join(d, x), scn.rootless_user, scn.rootless_user)

    # ---- steps

    def step(self, st: Step) -> None:
        if isinstance(st, Call):
            self.call(st)
        elif isinstance(st, Snapshot):
            self.snapshot(self.fill(st.cid))
        elif isinstance(st, WaitOutput):
            self.wait_output(st.timeout, self.fill(st.cid))
        elif isinstance(st, WaitStopped):
            self.wait_stopped(self.fill(st.cid), st.timeout, st.soft)
        elif isinstance(st, Shell):
            st.fn(self.vars)
        elif isinstance(st, Collect):
            self.collect(st.pattern)

    def collect(self, pattern: str) -> None:
        import glob

        for path in sorted(glob.glob(os.path.join(self.tmp, pattern))):
            name = os.path.basename(path)
            if re.fullmatch(r"(out|err|console)\d+(\.ready)?|console\.sock", name) or not os.path.isfile(path):
                continue
            text = _read(path)
            lines: list = []
            try:
                if name == "config.json":
                    lines = [json.loads(text)]
                else:
                    lines = [json.loads(x) for x in text.splitlines() if x.strip()]
                body = "\n".join(json.dumps(_scrub(x), sort_keys=True) for x in lines)
            except ValueError:
                body = text
            if name.endswith(".pid"):
                body = "<PID>" if text.strip().isdigit() else text
            if name == "config.json" and lines:  # one field per JSON pointer: `spec`'s choices apart
                for ptr, val in _flatten(lines[0]):
                    self.obs[f"file config.json {ptr}"] = self.normalize(json.dumps(val))
                continue
            self.obs[f"file {name}"] = self.normalize(body)

    def argv(self, c: Call) -> list[str]:
        g = c.global_args if c.global_args is not None else ["--root", "{root}"]
        return [self.rt.path, *[self.fill(a) for a in g], *[self.fill(a) for a in c.args]]

    def call(self, c: Call) -> None:
        n = self.ncall
        self.ncall += 1
        key = f"call{n} {c.args[0] if c.args else ''}"
        argv = self.argv(c)
        out_path = os.path.join(self.tmp, f"out{n}")
        err_path = os.path.join(self.tmp, f"err{n}")
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("LISTEN_FDS", None)
        if c.env:
            env.update({k: self.fill(v) for k, v in c.env.items()})
        if c.console:
            self.start_receiver(os.path.join(self.tmp, "console.sock"), os.path.join(self.tmp, f"console{n}"))
        if c.fds:  # bash: dash takes one-digit fds only
            argv = ["bash", "-c", 'exec "$@" ' + " ".join(f"{n}</dev/null" for n in c.fds), "bash", *argv]
        if c.tty:
            import shlex

            argv = ["script", "-qec", " ".join(shlex.quote(a) for a in argv), "/dev/null"]
        pre = None
        if c.as_user is not None:
            uid = c.as_user

            def pre() -> None:  # noqa: F811 - the child's credentials
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            env["HOME"] = self.tmp
            env["XDG_RUNTIME_DIR"] = self.tmp
        cwd = self.fill(c.cwd) if c.cwd else self.dir
        with open(out_path, "w+") as out, open(err_path, "w+") as err:
            stdin = subprocess.PIPE if c.stdin is not None else subprocess.DEVNULL
            t0 = time.monotonic()
            try:
                p = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, cwd=cwd, env=env,
                                     preexec_fn=pre, start_new_session=True, text=True)
            except OSError as e:
                self.obs[f"{key}.exit"] = f"cannot run: {e}"
                return
            try:
                p.communicate(c.stdin, timeout=c.timeout)
                rc = p.returncode
            except subprocess.TimeoutExpired:
                self.hang = f"{' '.join(argv)}: no answer in {c.timeout}s"
                _killpg(p.pid)
                p.wait(5)
                rc = "TIMEOUT"
            self.obs[f"{key}.seconds"] = f"{time.monotonic() - t0:.2f}"
        if c.tty:
            _drop_eof_echo(out_path)
        self.outputs.append(out_path)
        if c.console:
            self.outputs.append(os.path.join(self.tmp, f"console{n}"))
        if not c.record:
            return
        self.obs[f"{key}.exit"] = str(rc)
        self.obs[f"{key}.stdout"] = self.clean_stdout(out_path, c.tty)
        if c.args and c.args[0] in ("ps", "events"):  # pids, times, counters (and the widths they make:
            # ps right-aligns a pid column, so a 4-digit pid beside a 5-digit one pads the line)
            out = re.sub(r" +", " ", re.sub(r"\d+", "N", self.obs[f"{key}.stdout"]))
            self.obs[f"{key}.stdout"] = re.sub(r"(?m)^ ", "", out)
        if c.args and c.args[0] == "list":  # pids; the table's widths follow the times' lengths
            out = re.sub(r'"pid":\d+', '"pid":<PID>', self.obs[f"{key}.stdout"])
            if not out.startswith("["):
                out = "\n".join(re.sub(r" +", " ", re.sub(r"^(\S+ +)\d+", r"\1<PID>", x)).rstrip()
                                for x in out.splitlines())
            self.obs[f"{key}.stdout"] = out
        self.obs[f"{key}.stderr"] = self.clean_stderr(_read(err_path))

    def start_receiver(self, sock: str, out: str) -> None:
        try:
            os.unlink(sock)
        except FileNotFoundError:
            pass
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "console_receiver.py"), sock, out,
                              str(PROBE_TIMEOUT + CALL_TIMEOUT)], start_new_session=True)
        self.receivers.append(p)
        deadline = time.monotonic() + 10
        while not os.path.exists(out + ".ready") and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        if self.scn.rootless_user is not None and os.path.exists(sock):
            os.chown(sock, self.scn.rootless_user, self.scn.rootless_user)

    def clean_stdout(self, path: str, tty: bool) -> str:
        """The call's own output: the probe's sections (when they landed here) removed."""
        text = _read(path)
        if tty:  # "\r\r\n": the output passed our terminal before the runtime made it raw (timing)
            text = re.sub(r"\r+\n", "\n", text)
        if "=== pid ===" in text:
            text = text[: text.index("=== pid ===")] + _after_end(text)
        return self.normalize(text)

    def clean_stderr(self, text: str) -> str:
        """runc's and pyrunc's log lines (``time=... level=... msg=...``, or the JSON form)
        reduced to ``level: message``; other lines kept."""
        out = []
        for line in text.splitlines():
            m = re.match(r'^time="[^"]*" level=(\w+) msg=(.*)$', line)
            if m:
                msg = m.group(2)
                if msg.startswith('"'):
                    try:
                        msg = json.loads(msg)
                    except ValueError:
                        pass
                out.append(f"{m.group(1)}: {msg}")
                continue
            if line.startswith("{") and '"level"' in line:
                try:
                    d = json.loads(line)
                    out.append(f"{d.get('level')}: {d.get('msg')}")
                    continue
                except ValueError:
                    pass
            out.append(line)
        return self.normalize("\n".join(out))

    # ---- the probe's output

    def probe_text(self) -> str:
        for p in self.outputs:
            t = _read(p)
            if "=== pid ===" in t:
                return t.replace("\r\n", "\n")
        return ""

    def wait_output(self, timeout: float, cid: str) -> None:
        """Until the probe's last section is out, or its container is not running."""
        deadline = time.monotonic() + timeout
        n = 0
        while time.monotonic() < deadline:
            if "=== end ===" in self.probe_text():
                return
            n += 1
            if n % 4 == 0 and not self.alive(cid, running_only=True):
                if "=== end ===" in self.probe_text():
                    return
                break
            time.sleep(0.05)
        self.obs["probe.wait"] = "the probe did not finish"

    def alive(self, cid: str, running_only: bool = False) -> bool:
        """Is there a container ``cid`` that is running (or created, or paused)?"""
        want = ("running",) if running_only else ("created", "running", "paused")
        try:
            p = subprocess.run([self.rt.path, "--root", self.root, "state", cid], capture_output=True,
                               text=True, timeout=CALL_TIMEOUT)
            return p.returncode == 0 and json.loads(p.stdout).get("status") in want
        except (ValueError, subprocess.SubprocessError, OSError):
            return False

    def observe_probe(self) -> None:
        text = self.probe_text()
        if not text:
            self.obs["container"] = "no probe output"
            return
        sections = re.split(r"^=== (.+?) ===$", text, flags=re.M)
        for name, body in zip(sections[1::2], sections[2::2], strict=False):
            if name == "end":
                break
            body = body.strip("\n")
            if name == "mountinfo":
                # The cgroup mounts apart: one difference there should not hide the others.
                lines = normalize_mountinfo(body).splitlines()
                cg = [x for x in lines if x.split(" ")[1].startswith("/sys/fs/cgroup")]
                self.obs["container.mountinfo.cgroup"] = self.normalize("\n".join(cg))
                body = "\n".join(x for x in lines if x not in cg)
            elif name == "pid":
                continue
            elif name == "net":
                body = " ".join(sorted(x.strip() for x in body.split() if x.strip() not in ("Inter-|", "face")))
            self.obs[f"container.{name}"] = self.normalize(body)
        if "=== end ===" not in text:
            self.obs["container.end"] = "the probe stopped before its end"

    # ---- the host

    def state_pid(self, cid: str) -> int:
        try:
            p = subprocess.run([self.rt.path, "--root", self.root, "state", cid], capture_output=True,
                               text=True, timeout=CALL_TIMEOUT)
            return int(json.loads(p.stdout)["pid"])
        except (ValueError, KeyError, subprocess.SubprocessError, OSError):
            return 0

    def snapshot(self, cid: str) -> None:
        pid = self.state_pid(cid)
        if pid <= 0:
            self.obs["host.snapshot"] = "no running container"
            return
        ns = []
        for n in sorted(os.listdir("/proc/self/ns")):
            if n.endswith("_for_children"):
                continue
            try:
                same = os.stat(f"/proc/self/ns/{n}").st_ino == os.stat(f"/proc/{pid}/ns/{n}").st_ino
                ns.append(f"{n}={'host' if same else 'new'}")
            except OSError as e:
                ns.append(f"{n}=? {e.strerror}")
        self.obs["host.namespaces"] = " ".join(ns)
        lines = []
        for d in container_cgroup_dirs(pid):
            if self.ours(d):
                self.cgdirs.add(d)
            lines.append(d)
            for f in CGROUP_VALUES:
                path = os.path.join(d, f)
                if os.path.isfile(path):
                    try:
                        v = " ".join(_read(path).split())
                        if f == "devices.list":  # a set: its order only reflects the order of writes
                            v = " ".join(sorted(_read(path).strip().splitlines()))
                    except OSError as e:
                        v = f"? {e.strerror}"
                    lines.append(f"  {f}: {v}")
        self.obs["host.cgroups"] = self.normalize("\n".join(lines))
        try:
            self.obs["host.oom_score_adj"] = _read(f"/proc/{pid}/oom_score_adj").strip()
        except OSError:
            pass

    def wait_stopped(self, cid: str, timeout: float, soft: bool = False) -> None:
        deadline = time.monotonic() + timeout
        if soft:
            while time.monotonic() < deadline and self.alive(cid):
                time.sleep(0.05)
            self.obs[f"stopped {cid.replace(self.ids['id'], '<ID>')}"] = "no" if self.alive(cid) else "yes"
            return
        while time.monotonic() < deadline:
            try:
                p = subprocess.run([self.rt.path, "--root", self.root, "state", cid], capture_output=True,
                                   text=True, timeout=CALL_TIMEOUT)
                if p.returncode != 0 or json.loads(p.stdout).get("status") == "stopped":
                    return
            except (ValueError, subprocess.SubprocessError):
                return
            time.sleep(0.05)
        self.hang = f"{cid} still running {timeout}s after the kill"

    def observe_after(self) -> None:
        self.obs["host.after.mounts"] = self.normalize("\n".join(_mounts_under(self.dir)))
        leaves = self.cgdirs | set(self.expected_cgroups())
        left = [d for d in sorted(self.our_cgroups()) if os.path.isdir(d)]
        self.obs["host.after.cgroups"] = self.normalize("\n".join(d for d in left if d in leaves))
        self.obs["host.after.cgroup-parents"] = self.normalize("\n".join(d for d in left if d not in leaves))
        self.obs["host.after.processes"] = str(len(_token_pids(self.token)))
        if os.path.isdir(self.root):
            self.obs["host.after.state"] = self.normalize(" ".join(sorted(os.listdir(self.root))))
        else:
            self.obs["host.after.state"] = "(no root directory)"

    def expected_cgroups(self) -> list[str]:
        """The cgroup directories the config names (cgroupsPath, else /<id>), under every
        hierarchy: to check they are gone even when no snapshot was taken."""
        try:
            with open(os.path.join(self.bundle, "config.json")) as f:
                cfg = json.load(f)
            cgp = (cfg.get("linux") or {}).get("cgroupsPath") or ""
        except (OSError, ValueError, AttributeError):
            cgp = ""
        if not isinstance(cgp, str):
            return []
        rel = cgp if cgp.startswith("/") else "/" + (cgp or self.ids["id"])
        return [m + rel for m in cgroup_mounts() if self.ours(m + rel)]

    def our_cgroups(self) -> set[str]:
        """The container's cgroup directories and their parents named for this run (and
        any top-level one whose name holds this run's id)."""
        import glob

        out = set()
        found = {d for m in cgroup_mounts() for stem in ("*" + self.ids["id"][:-1] + "*", "*" + self.cgtoken + "*")
                 for d in glob.glob(os.path.join(glob.escape(m), stem))}
        for d in self.cgdirs | set(self.expected_cgroups()) | found:
            while self.ours(d):
                out.add(d)
                d = os.path.dirname(d)
        return out

    def ours(self, d: str) -> bool:
        """Only a cgroup named with this run's id or token is ever emptied or removed: a
        config may name "/" or a host cgroup, and cleanup must never touch those."""
        d = os.path.normpath(d)
        if d in (os.path.normpath(m) for m in cgroup_mounts()):
            return False
        return any(t in d for t in (*self.ids.values(), self.cgtoken))

    # ---- cleanup

    def cleanup(self) -> None:
        """Whatever happened: kill and delete the containers, end the processes, unmount,
        remove the cgroups and the directory."""
        for d in self.our_cgroups():  # a frozen cgroup first: nothing in it could die
            _thaw(d)
        try:  # every container the root holds, whatever its id
            held = [x for x in os.listdir(self.root) if os.path.isdir(os.path.join(self.root, x))]
        except OSError:
            held = []
        for cid in [*self.ids.values(), *held]:
            # "--": an id may begin with a dash
            for args in (["kill", "--", cid, "KILL"], ["delete", "--force", "--", cid]):
                try:
                    subprocess.run([self.rt.path, "--root", self.root, *args], capture_output=True, timeout=15)
                except (subprocess.SubprocessError, OSError):
                    pass
        for pid in _token_pids(self.token):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        mine = sorted(self.our_cgroups(), key=len, reverse=True)
        for d in mine:
            _kill_cgroup(d)
        for p in self.receivers:
            if p.poll() is None:
                p.kill()
            p.wait(5)
        for m in reversed(_mounts_under(self.dir)):
            subprocess.run(["umount", "-l", m], capture_output=True, timeout=10)
        for d in mine:  # deepest first; a killed process may take a moment to leave
            deadline = time.monotonic() + 3
            while os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
        shutil.rmtree(self.dir, ignore_errors=True)


def _flatten(x: Any, ptr: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """(JSON pointer, value) down to three levels."""
    if isinstance(x, dict) and x and depth < 3:
        return [kv for k, v in x.items() for kv in _flatten(v, f"{ptr}/{k}", depth + 1)]
    return [(ptr or "/", x)]


def _scrub(x: Any) -> Any:
    """A JSON value with its pids and times replaced."""
    if isinstance(x, dict):
        return {k: ("<PID>" if k == "pid" and isinstance(v, int) else
                    "<TIME>" if k in ("time", "created") else _scrub(v)) for k, v in x.items()}
    if isinstance(x, list):
        return [_scrub(v) for v in x]
    return x


def _after_end(text: str) -> str:
    i = text.find("=== end ===")
    return text[i + len("=== end ===\n"):] if i >= 0 else ""


def _drop_eof_echo(path: str) -> None:
    """A timing, not a difference: under script(1) with stdin at EOF, script queues an
    end-of-file on the terminal; queued while the terminal is still canonical, it reads as
    a NUL once the runtime has made it raw (runc and pyrunc both keep queued input, TCSANOW,
    and copy it to the container's terminal, which echoes it as ^@).  When script queues it
    varies: under runc itself the ^@ comes first, in the middle, last or not at all from run
    to run.  It is removed from the output (the probe's sections included) before anything
    is compared."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        if b"^@" in data:
            with open(path, "wb") as f:
                f.write(data.replace(b"^@", b""))
    except OSError:
        pass


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _mounts_under(prefix: str) -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp.startswith(prefix):
                out.append(mp)
    return out


def _token_pids(token: str) -> list[int]:
    out = []
    needle = f"{TOKEN_VAR}={token}".encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if needle in f.read():
                        out.append(int(pid))
            except OSError:
                pass
    return out


def _thaw(d: str) -> None:
    freezer = os.path.join(d, "freezer.state")
    if os.path.exists(freezer):
        try:
            with open(freezer, "w") as f:
                f.write("THAWED")
        except OSError:
            pass


def _kill_cgroup(d: str) -> None:
    try:
        with open(os.path.join(d, "cgroup.procs")) as f:
            pids = [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    freezer = os.path.join(d, "freezer.state")
    if os.path.exists(freezer):
        try:
            with open(freezer, "w") as f:
                f.write("THAWED")
        except OSError:
            pass


def cgroup_mounts() -> list[str]:
    """The mount points of this host's cgroup hierarchies (v1 controllers and the v2 tree),
    as the runtime reads them (runtime/linux/cgroups/hierarchy.py: mountinfo parsed once)."""
    from pyrunc.runtime.linux import cgroups

    return [mnt for mnt, _root, _fstype, _ctrls in cgroups.hierarchies()]


def container_cgroup_dirs(pid: int) -> list[str]:
    """The host directories of the cgroups ``pid`` is in, one per hierarchy."""
    out = []
    try:
        lines = _read(f"/proc/{pid}/cgroup").splitlines()
    except OSError:
        return out
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        if ctrls == "":
            mnt = next((m for m in cgroup_mounts() if m.endswith("/unified")), "")
        else:
            names = [c.replace("name=", "") for c in ctrls.split(",")]
            mnt = next((m for m in cgroup_mounts() if os.path.basename(m) in names), "")
        if mnt and path != "/":
            out.append(mnt + path)
    return sorted(out)


CGROUP_VALUES = [
    "memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness",
    "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes", "memory.oom_control",
    "memory.use_hierarchy", "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.rt_runtime_us",
    "cpu.rt_period_us", "cpu.idle", "cpuset.cpus", "cpuset.mems", "cpuset.cpu_exclusive", "pids.max",
    "blkio.weight", "blkio.leaf_weight", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
    "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device", "blkio.weight_device",
    "devices.list", "freezer.state", "cgroup.subtree_control", "memory.max", "memory.high", "cpu.max",
    "cpu.weight", "notify_on_release", "cgroup.clone_children",
]


def normalize_mountinfo(text: str) -> str:
    """mountinfo without what differs between two identical runs: mount ids, parent ids,
    device numbers, peer group numbers."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 7 or " - " not in line:
            out.append(line)
            continue
        pre, _, post = line.partition(" - ")
        f = pre.split()
        opt = " ".join(re.sub(r":\d+", ":N", x) for x in f[6:])
        out.append(" ".join([f[3], f[4], f[5], opt, "-", post]).rstrip())
    return "\n".join(out)


# ---------------------------------------------------------------- the comparison

#: Deliberate differences that hold for every scenario, applied as rewrites of both sides
#: before the comparison: (field glob, pattern, replacement, the reason a runc user would
#: accept).  A scenario's own deliberate differences are in the scenario.
REWRITES: list[tuple[str, str, str, str]] = [
    ("call* state.stdout", r'"ociVersion": "[^"]*"', '"ociVersion": <OCI>',
     "the state's ociVersion is the runtime-spec version the runtime implements (runtime.md, State): "
     "pyrunc implements 1.3.0, runc 1.1.5 reports 1.0.2-dev"),
    ("call* list.stdout", r'"ociVersion":"[^"]*"', '"ociVersion":<OCI>', "as for state (list --format json)"),
    ("file hook*", r'"ociVersion": "[^"]*"', '"ociVersion": <OCI>', "as for state (the state hooks read)"),
    ("host.after.state", r"^\(no root directory\)$", "",
     "runc 1.5 does not create --root for a command on a container (libcontainer.Load); runc 1.1.5's "
     "factory made it, empty, on every command: an empty root and no root hold the same (nothing)"),
    ("host.after.cgroup-parents", r"[\s\S]+", "",
     "runc leaves behind the empty parent cgroups it made for a nested cgroupsPath (/docker/<id>, "
     "/kubepods/.../pod/<id>); pyrunc removes the ones it made when they are empty: nothing is left"),
    ("call*", r'time="<TIME>" level=warning msg="can\'t raise ambient capability CAP_\w+: operation not permitted"\n?',
     "", "as below (a terminal merges the warnings into stdout)"),
    ("call*", r"\x1b\[33mWARN\x1b\[0m\[\d{4}\] can't raise ambient capability CAP_\w+: operation not permitted *\n?",
     "", "as below (on a terminal, logrus's coloured form of the line)"),
    ("file log*", r'.*can\'t raise ambient capability CAP_\w+: operation not permitted.*\n?', "",
     "as below (the --log file)"),
    ("*.stderr", r"(?m)^debug: .*\n?", "",
     "--debug lines trace each runtime's own steps (runc: nsexec and libcontainer; pyrunc: its own); "
     "the other lines of a --debug run are compared"),
    ("call* --version.stdout", r"(?m)^(<PROG> version|commit:|spec:|go:|python:|libseccomp:) ?.*$",
     r"\1 <V>", "the versions are each program's own (pyrunc's spec: 1.3.0); the lines are runc's"),
    ("call* -v.stdout", r"(?m)^(<PROG> version|commit:|spec:|go:|python:|libseccomp:) ?.*$",
     r"\1 <V>", "as for --version"),
    ("call* -*.stdout", r"(?m)^(go|python): <V>$", "<language>: <V>", "runc names its Go, pyrunc its Python"),
    ("*.stderr", r"warning: can't raise ambient capability CAP_\w+: operation not permitted\n?", "",
     "runc 1.5 warns that an ambient capability could not be raised (runc's own template asks for "
     "three that are not inheritable); runc 1.1.5 dropped them silently"),
    ("call* *.stdout", r"\r+\n", "\n",
     "a timing: a terminal's output that passed the caller's terminal before the runtime made it raw "
     "has its line ends doubled (\\r\\r\\n); under runc too, from run to run"),
]


HELP = ("pyrunc's help is its own words (the project copies no prose from runc): a usage error's first "
        "line, its stderr and its exit code are compared, not the help text under it")
JSON_PATH = ("pyrunc names the config.json path of the value at fault in every error about the config "
             "(the project's rule for bad input); runc's message names none. The exit code is compared")
_PATH_RE = re.compile(r"(\b(process|root|mounts|linux|hooks|hostname|domainname|annotations|ociVersion|"
                      r"config\.json)((\.\w+)|(\[\d+\]))*(\s\([^)]*\))?|\s--[a-z][a-z-]+):")


def _is_help(text: str) -> bool:
    return text.startswith(("Incorrect Usage", "NAME:"))


def _config_error(ref: str, mine: str) -> bool:
    """Both one error line, pyrunc's naming a config.json path."""
    a, b = ref.splitlines(), mine.splitlines()
    errs_a = [x for x in a if x.startswith(("error:", "fatal:"))]
    errs_b = [x for x in b if x.startswith("error:")]
    return bool(errs_a) and len(errs_b) == 1 and bool(_PATH_RE.search(errs_b[0]))


def _rewrite(obs: dict[str, str]) -> dict[str, str]:
    out = {}
    for k, v in obs.items():
        for g, pat, rep, _why in REWRITES:
            if fnmatch.fnmatchcase(k, g):
                v = re.sub(pat, rep, v)
        out[k] = v.rstrip("\n") if k.endswith(".stderr") else v
    return out

@dataclasses.dataclass
class Result:
    scenario: str
    reference: str
    differences: dict[str, tuple[str, str]]    # field -> (reference, pyrunc), undeclared
    deliberate: dict[str, str]                 # field -> reason, seen
    stale: list[str]                           # deliberate globs that matched no difference
    hangs: list[str]
    ref_split: list[str]                       # fields where runc and runc 1.5 differ
    known: dict[str, str] = dataclasses.field(default_factory=dict)  # field -> owner (known.py)
    known_fixed: list[str] = dataclasses.field(default_factory=list)  # known.py lines no longer needed
    known_values: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.hangs and not self.stale

    def report(self) -> str:
        lines = [f"scenario {self.scenario}: reference {self.reference}"]
        for h in self.hangs:
            lines.append(f"  HANG {h}")
        for k, (a, b) in sorted(self.differences.items()):
            lines.append(f"  DIFF {k}:")
            lines.extend(_side_by_side(a, b))
        for k in self.stale:
            lines.append(f"  STALE deliberate difference {k!r}: both runtimes now agree")
        for k, who in sorted(self.known.items()):
            lines.append(f"  KNOWN {k}: {who}")
            a, b = self.known_values[k]
            lines.extend(_side_by_side(a, b))
        for k in self.known_fixed:
            lines.append(f"  known.py line no longer needed: {k}")
        for k, why in sorted(self.deliberate.items()):
            lines.append(f"  deliberate {k}: {why}")
        if self.ref_split:
            lines.append(f"  runc and runc 1.5 differ in: {', '.join(self.ref_split)} (1.5 wins)")
        return "\n".join(lines)


def _side_by_side(a: str, b: str) -> list[str]:
    import difflib

    al, bl = a.splitlines() or [""], b.splitlines() or [""]
    if len(al) == 1 and len(bl) == 1:
        return [f"    runc:   {a!r}", f"    pyrunc: {b!r}"]
    return ["    " + x for x in difflib.unified_diff(al, bl, "runc", "pyrunc", lineterm="", n=1)]


def execute(scn: Scenario, rt: Runtime, base: str, rootfs: str, sysprobe: str | None) -> tuple[dict, str]:
    """Run the scenario's steps under one runtime; always clean up."""
    run = Run(scn, rt, base, rootfs, sysprobe)
    try:
        for st in scn.steps:
            run.step(st)
            if run.hang:
                break
        if scn.probe and scn.bundle:
            run.observe_probe()
        run.observe_after()
    finally:
        run.cleanup()
    obs = _rewrite({k: v for k, v in run.obs.items() if not k.endswith(".seconds")})
    for g in scn.ignore:
        obs = {k: v for k, v in obs.items() if not fnmatch.fnmatchcase(k, g)}
    return obs, run.hang


def compare(scn: Scenario, base: str, rootfs: str, sysprobe: str | None) -> Result:
    refs, py = runtimes()
    hangs = []
    ref_obs: list[dict] = []
    for r in refs:
        o, h = execute(scn, r, base, rootfs, sysprobe)
        ref_obs.append(o)
        if h:
            hangs.append(f"{r.name}: {h}")
    mine, h = execute(scn, py, base, rootfs, sysprobe)
    if h:
        hangs.append(f"pyrunc: {h}")
    reference = ref_obs[-1]
    ref_split = []
    if len(ref_obs) > 1:
        ref_split = sorted(k for k in set(ref_obs[0]) | set(ref_obs[1]) if ref_obs[0].get(k) != ref_obs[1].get(k))
    label = f"{refs[-1].label} ({refs[-1].path})"
    if len(refs) > 1:
        label += f", over {refs[0].label} ({refs[0].path}) where the two agree"
    from known import KNOWN

    known = [(f, who) for sg, f, who in KNOWN if fnmatch.fnmatchcase(scn.name, sg)]
    strict = os.environ.get("DIFF_STRICT") == "1"
    diffs, seen, kn, kv = {}, {}, {}, {}
    for k in sorted(set(reference) | set(mine)):
        a, b = reference.get(k, "(absent)"), mine.get(k, "(absent)")
        if a == b:
            continue
        why = next((r for g, r in scn.deliberate.items() if fnmatch.fnmatchcase(k, g)), None)
        if why is None and k.endswith(".stdout") and _is_help(a) and _is_help(b) \
                and a.splitlines()[0].replace("<PROG>", "") == b.splitlines()[0].replace("<PROG>", ""):
            why = HELP
        if why is None and k.endswith(".stderr") and _config_error(a, b):
            why = JSON_PATH
        who = next((w for g, w in known if fnmatch.fnmatchcase(k, g)), None)
        if why is not None:
            seen[k] = why
        elif who is not None and not strict:
            kn[k], kv[k] = who, (a, b)
        else:
            diffs[k] = (a, b)
    if hangs and any(g == "hang" for g, _w in known) and not strict:
        kn["hang"], kv["hang"] = next(w for g, w in known if g == "hang"), ("", "; ".join(hangs))
        hangs = []
    # known.py lines naming this scenario (not "*") whose fields all agree now: fixed
    fixed = [f"{sg} {f}" for sg, f, _w in KNOWN if sg != "*" and fnmatch.fnmatchcase(scn.name, sg)
             and not any(fnmatch.fnmatchcase(k, f) for k in kn)]
    stale = []
    if not RUNC15:  # a reason none of whose fields differs any more
        for why in dict.fromkeys(scn.deliberate.values()):
            globs = [g for g, r in scn.deliberate.items() if r == why]
            if not any(fnmatch.fnmatchcase(k, g) for k in seen for g in globs):
                stale.append(globs[0])
    return Result(scn.name, label, diffs, seen, stale, hangs, ref_split, kn, fixed, kv)
