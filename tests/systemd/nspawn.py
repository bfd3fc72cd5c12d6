"""A real systemd to test the systemd cgroup driver against: systemd-nspawn booting the
host's own /usr, read-only, on a tmpfs root.

This host's PID 1 is not systemd, so the driver has no systemd to talk to here.  A machine
booted with ``systemd-nspawn -D / --volatile=yes --boot --register=no --keep-unit`` has one
in under a second, and the tests run the runtimes inside it with ``nsenter -t <leader> -a``
(the machine's mount, PID, cgroup, IPC, UTS and network namespaces).  What it takes, found
when trying it (issue 22):

- nspawn mounts the v1 controller hierarchies read-only inside: each is remounted
  read-write from inside once the machine is up, before any runtime runs;
- nspawn's seccomp filter blocks the keyring calls (``--system-call-filter=@keyring``);
- an empty /etc is a first boot that enables every unit found and stalls for minutes: a
  machine-id is bound in and systemd-machine-id-commit.service masked;
- nspawn gets a cgroup of its own in every hierarchy (``cpuset.cpus``/``cpuset.mems``
  copied into it), so that the machine is not rooted at the host's cgroups; the commands
  the tests run inside get one of their own below the machine's root (systemd inside may
  only move a process whose cgroup lies within its cgroup namespace: cgroup2's rule for
  the common ancestor);
- nspawn leaves empty ``/run/systemd/nspawn*`` directories behind: removed when empty;
- its own network namespace (``--private-network``: loopback only).

The host paths a test needs inside (the bundles' base directory, this worktree's venv)
are bound at the same paths.  Every wait is bounded; ``stop()`` powers the machine off
(SIGTERM to nspawn, then SIGKILL to all of its cgroups), removes its cgroups and checks
that no process, mount or directory of it is left.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

NSPAWN = shutil.which("systemd-nspawn") or "/usr/bin/systemd-nspawn"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
SYSTEMD = "/usr/lib/systemd/systemd"
CGROOT = "/sys/fs/cgroup"
#: The cgroup, below the machine's root in every hierarchy, of the commands run inside.
RUN_CGROUP = "pyrunc-tests"
#: What nspawn leaves under /run/systemd (removed when empty, deepest first).
NSPAWN_RUN_DIRS = ("/run/systemd/nspawn/propagate", "/run/systemd/nspawn", "/run/systemd/nspawn-root")


def missing_prerequisites() -> str:
    """Why this host cannot boot the test machine ('' when it can)."""
    if not os.access(NSPAWN, os.X_OK):
        return "systemd-nspawn is not installed (Debian: apt-get install systemd-container)"
    if not os.access(SYSTEMD, os.X_OK):
        return f"{SYSTEMD} is not installed (Debian: apt-get install systemd)"
    if not os.path.isdir(os.path.join(CGROOT, "systemd")) or not os.path.isdir(os.path.join(CGROOT, "memory")):
        return "the machine needs the hybrid cgroup layout (v1 controllers and name=systemd) this host has"
    return ""


def _hierarchies() -> list[tuple[str, bool]]:
    """(mount point, is a v1 controller hierarchy) of every cgroup mount on the host (the
    runtime's own reading of them, linux/cgroups/hierarchy.py)."""
    from pyrunc.runtime.linux.cgroups.hierarchy import hierarchies

    return [(mnt, fstype == "cgroup" and not any(c.startswith("name=") for c in ctrls.split(",")))
            for mnt, _root, fstype, ctrls in hierarchies()]


def _kill_and_rmdir(d: str, deadline: float) -> None:
    """rmdir ``d`` and what lies below it (deepest first), killing what is left in them,
    until ``deadline``: the runtime's own cgroup helpers (linux/cgroups/directories.py)."""
    from pyrunc.runtime.linux.cgroups import directories

    subs = [p for p, _d, _f in os.walk(d)]
    while True:
        for pid in directories.pids(subs):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            directories.remove(subs, subs, timeout=0.5)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise

class Machine:
    """One booted systemd machine; ``run()`` runs a command inside it."""

    def __init__(self, token: str, binds: list[str] = (), binds_ro: list[str] = (), log_dir: str | None = None):
        self.token = token
        self.name = f"pyrunc-sd-{token}"
        self.cgroup = f"pyrunc-nspawn-{token}"
        self.binds = list(binds)
        self.binds_ro = list(binds_ro)
        self.work = tempfile.mkdtemp(prefix=f"pyrunc-nspawn-{token}-", dir=log_dir)
        self.log = os.path.join(self.work, "console.log")
        self.proc: subprocess.Popen | None = None
        self.leader = 0

    # -- host side --------------------------------------------------------------
    def host_cgroups(self) -> list[str]:
        """The machine's own cgroup directory in every host hierarchy."""
        return [os.path.join(mnt, self.cgroup) for mnt, _v1 in _hierarchies()]

    def host_path(self, mnt: str, inner: str) -> str:
        """The host path of cgroup ``inner`` (as the machine names it) in hierarchy ``mnt``.

        nspawn roots the machine at ``<own>/payload`` in the hierarchies systemd inside
        manages (name=systemd and cgroup2), at ``<own>`` in the v1 controller ones."""
        v1 = dict(_hierarchies())[mnt]
        base = os.path.join(mnt, self.cgroup) if v1 else os.path.join(mnt, self.cgroup, "payload")
        return base + inner if inner != "/" else base

    def _make_cgroups(self) -> None:
        for mnt, _v1 in _hierarchies():
            d = os.path.join(mnt, self.cgroup)
            os.mkdir(d)
            for f in ("cpuset.cpus", "cpuset.mems"):
                if os.path.exists(os.path.join(mnt, f)):
                    with open(os.path.join(mnt, f)) as src, open(os.path.join(d, f), "w") as dst:
                        dst.write(src.read().strip() or "\n")

    def _enter_own_cgroups(self) -> None:
        """preexec_fn of nspawn: into the machine's own cgroup in every hierarchy."""
        for d in self.host_cgroups():
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def start(self, timeout: float = 60.0) -> None:
        mid = os.path.join(self.work, "machine-id")
        with open(mid, "w") as f:
            f.write(uuid.uuid4().hex + "\n")  # 32 hex digits, as systemd wants
        argv = [NSPAWN, "--quiet", "--directory=/", "--volatile=yes", "--boot", "--register=no",
                "--keep-unit", "--private-network", f"--machine={self.name}",
                "--system-call-filter=@keyring",
                f"--bind-ro={mid}:/etc/machine-id",
                "--bind-ro=/dev/null:/etc/systemd/system/systemd-machine-id-commit.service"]
        argv += [f"--bind={b}" for b in self.binds] + [f"--bind-ro={b}" for b in self.binds_ro]
        try:
            self._make_cgroups()  # inside: a failed mkdir or cpuset copy is undone by stop()
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             preexec_fn=self._enter_own_cgroups, start_new_session=True)
            self._wait_booted(timeout)
            self._prepare_inside()
        except BaseException:
            self.stop()
            raise

    def _wait_booted(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.leader:
            if self.proc.poll() is not None:
                raise RuntimeError(f"systemd-nspawn exited ({self.proc.returncode}): {self.console()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no systemd in the machine after {timeout:g}s: {self.console()[-2000:]}")
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    for pid in f.read().split():
                        if os.readlink(f"/proc/{pid}/exe") == SYSTEMD:
                            self.leader = int(pid)
            except OSError:
                pass
            time.sleep(0.05)
        state = ""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"the machine's systemd did not finish booting in {timeout:g}s "
                                   f"(is-system-running: {state!r}): {self.console()[-2000:]}")
            p = self.run(["systemctl", "is-system-running", "--wait"], timeout=left, cgroup=False)
            state = p.stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.1)

    def _prepare_inside(self) -> None:
        """The v1 controllers read-write inside (nspawn mounts them read-only); the cgroup
        of the commands the tests run."""
        v1 = [os.path.join(CGROOT, os.path.basename(mnt)) for mnt, is_v1 in _hierarchies() if is_v1]
        script = "set -e; for d in \"$@\"; do mount -o remount,bind,rw \"$d\"; done"
        p = self.run(["sh", "-c", script, "sh", *v1], timeout=30, cgroup=False)
        if p.returncode != 0:
            raise RuntimeError(f"remounting the v1 hierarchies read-write in the machine: {p.stderr}")
        for mnt, _v1 in _hierarchies():
            d = self.host_path(mnt, "/" + RUN_CGROUP)
            os.makedirs(d, exist_ok=True)
            for f in ("cpuset.cpus", "cpuset.mems"):
                if os.path.exists(os.path.join(mnt, f)):
                    with open(os.path.join(os.path.dirname(d), f)) as src, open(os.path.join(d, f), "w") as dst:
                        dst.write(src.read().strip() or "\n")

    def console(self) -> str:
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- inside -----------------------------------------------------------------
    def _enter_run_cgroup(self) -> None:
        for mnt, _v1 in _hierarchies():
            with open(os.path.join(self.host_path(mnt, "/" + RUN_CGROUP), "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def run(self, argv: list[str], timeout: float = 60, input: str | None = None, env: dict | None = None,
            cgroup: bool = True) -> subprocess.CompletedProcess:
        """``argv`` in the machine (all its namespaces), as root; output through files
        (a created container keeps the runtime's stdio open, so a pipe would never end)."""
        cmd = [NSENTER, "-t", str(self.leader), "-a", "--", *argv]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            rc = subprocess.run(cmd, input=input, stdin=subprocess.DEVNULL if input is None else None,
                                stdout=out, stderr=err, text=True, timeout=timeout, env=env,
                                preexec_fn=self._enter_run_cgroup if cgroup else None).returncode
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, rc, out.read(), err.read())

    def systemctl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return self.run(["systemctl", "--no-pager", *args], timeout=timeout)

    def unit_property(self, unit: str, prop: str) -> str:
        return self.systemctl("show", "-P", prop, unit).stdout.strip()

    # -- the end ----------------------------------------------------------------
    def processes(self) -> list[int]:
        """Every process left in the machine's cgroups (host pids)."""
        out: set[int] = set()
        for d in self.host_cgroups():
            for dirpath, _dirs, files in os.walk(d):
                if "cgroup.procs" in files:
                    try:
                        with open(os.path.join(dirpath, "cgroup.procs")) as f:
                            out.update(int(p) for p in f.read().split())
                    except OSError:
                        pass
        return sorted(out)

    def stop(self, timeout: float = 30.0) -> list[str]:
        """Power off (SIGTERM to nspawn: it tells systemd inside to halt), SIGKILL past
        ``timeout``; then the machine's cgroups, work directory and empty /run/systemd/nspawn*
        go.  Returns what could not be cleaned (empty when nothing is left)."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                problems.append(f"the machine did not power off in {timeout:g}s: killed")
                for pid in [self.proc.pid, *self.processes()]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    problems.append(f"systemd-nspawn {self.proc.pid} did not exit after SIGKILL")
        deadline = time.monotonic() + 10
        for d in self.host_cgroups():
            if os.path.isdir(d):
                try:
                    _kill_and_rmdir(d, deadline)
                except OSError as e:
                    problems.append(f"cgroup {d} left: {e}")
        for d in NSPAWN_RUN_DIRS:
            try:
                os.rmdir(d)
            except OSError:
                pass  # gone, or not empty: another machine is up
        with open("/proc/self/mountinfo") as f:
            left = [line.split(" ")[4] for line in f if self.work in line or f"/{self.name}" in line]
        if left:
            problems.append(f"mounts left: {left}")
        shutil.rmtree(self.work, ignore_errors=True)
        return problems
