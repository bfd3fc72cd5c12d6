"""containerd's CRI plugin on private state, driven by crictl, for tests/engines/test_cri.py
and conformance/critest.py.

One containerd (Debian's 1.6) per use, fenced off from the host:

- its own PID, mount, network, IPC and UTS namespaces (``unshare --pid --fork
  --mount-proc --mount --net --ipc --uts``): every shim and container is a process of
  that PID namespace, so killing the daemon kills them all; every mount it makes (overlay
  rootfses, /dev/shm, netns binds) is in its mount namespace; the CNI bridge, veths and
  any iptables rule are in its network namespace; a host-IPC or host-UTS pod gets the
  daemon's, not the host's.  A tmpfs over /run inside it holds what containerd 1.6 insists on
  keeping under /run/containerd (the shims' sockets), so the host's /run is not touched;
- root, state, sockets, CNI config and IPAM data, runtime --root dirs, logs: under one
  temporary directory;
- runtime handlers ``runc`` (/usr/sbin/runc, the oracle) and ``pyrunc`` (this worktree's
  ``.venv/bin/pyrunc``), both io.containerd.runc.v2 with the cgroupfs driver;
- a sandbox ("pause") image built here: a static C program compiled with gcc, which
  sleeps until SIGTERM/SIGINT and reaps orphans, in an OCI archive imported with ctr;
  a busybox image from tests/rootfs.py likewise.  There is no registry.

What the engine's "host" is: the daemon's mount and network namespaces (the kubelet
would live there).  Host-side actions (a hostPath mount made after start, crictl's
streaming connections to the daemon's 127.0.0.1) therefore go through nsenter.

crictl is $CRICTL, else crictl on PATH; without it the tests skip and say so.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
import ociimage  # noqa: E402

PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")
RUNC = "/usr/sbin/runc"
HANDLERS = ("runc", "pyrunc")
PAUSE_REF = "localhost/pyrunc-cri/pause:1"
BUSYBOX_REF = "localhost/pyrunc-cri/busybox:1"

PAUSE_C = r"""
/* The pod's sandbox process: hold the namespaces until told to stop; reap orphans. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
    struct sigaction q = {.sa_handler = quit}, r = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    sigaction(SIGTERM, &q, 0);
    sigaction(SIGINT, &q, 0);
    sigaction(SIGCHLD, &r, 0);
    for (;;)
        pause();
}
"""


def find_tool(name: str, var: str) -> str | None:
    """$VAR if set (and executable), else ``name`` on PATH, else None."""
    p = os.environ.get(var)
    if p:
        return p if os.access(p, os.X_OK) else None
    return shutil.which(name)


def missing_prerequisites(need_crictl: bool = True) -> str:
    """Why this host cannot run the CRI tests ('' when it can)."""
    for prog in ("containerd", "ctr", "containerd-shim-runc-v2", "unshare", "nsenter", "gcc", "ip"):
        if not shutil.which(prog):
            return f"{prog} is not installed (make deps installs Debian's containerd, gcc, util-linux)"
    if not os.path.exists("/usr/lib/cni/bridge") or not os.path.exists("/usr/lib/cni/host-local"):
        return "no CNI plugins in /usr/lib/cni (Debian's containernetworking-plugins)"
    if not os.path.exists(RUNC):
        return f"{RUNC} (the oracle) is not installed"
    if need_crictl and not find_tool("crictl", "CRICTL"):
        return "crictl not found: set $CRICTL or put cri-tools' crictl on PATH (Debian does not package it)"
    return ""


def build_pause_rootfs(dest: str) -> str:
    """A rootfs holding only /pause, compiled static here."""
    os.makedirs(dest, exist_ok=True)
    src = os.path.join(os.path.dirname(dest), "pause.c")
    with open(src, "w") as f:
        f.write(PAUSE_C)
    subprocess.run(["gcc", "-static", "-O2", "-o", os.path.join(dest, "pause"), src], check=True,
                   capture_output=True, timeout=120)
    return dest


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent (the test run) dies."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _nspid(host_pid: int) -> list[int]:
    with open(f"/proc/{host_pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return []


class Cri:
    """A private containerd with the CRI plugin; ``crictl(...)`` drives it."""

    def __init__(self, workdir: str, token: str | None = None, mirrors: dict[str, str] | None = None) -> None:
        self.token = token or uuid.uuid4().hex[:6]
        self.d = workdir
        self.sock = os.path.join(workdir, "containerd.sock")
        self.mirrors = mirrors or {}
        self.crictl_bin = find_tool("crictl", "CRICTL") or "crictl"
        self.proc: subprocess.Popen | None = None
        self.pid = 0  # containerd's pid as the host sees it
        self.log_path = os.path.join(workdir, "containerd.log")
        self.bridge = f"pcri{self.token}"[:15]

    # --- set up ---------------------------------------------------------------
    def config(self) -> str:
        d = self.d
        runtimes = ""
        for name, binary in (("runc", RUNC), ("pyrunc", PYRUNC)):
            runtimes += f"""
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}.options]
        BinaryName = "{binary}"
        Root = "{d}/{name}-root"
        SystemdCgroup = false
"""
        mirrors = ""
        for host, endpoint in self.mirrors.items():
            mirrors += f"""
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."{host}"]
    endpoint = ["{endpoint}"]
"""
        return f"""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  sandbox_image = "{PAUSE_REF}"
  netns_mounts_under = "{d}/netns"
  enable_selinux = false
  # This VM's bounding set lacks CAP_SYS_RESOURCE, without which no runtime may lower
  # oom_score_adj (the sandbox's default is -998): clamp to the daemon's own, as rootless.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
{runtimes}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni"
    max_conf_num = 1
{mirrors}"""

    def cni_config(self) -> dict:
        return {"cniVersion": "0.4.0", "name": f"pyrunc-cri-{self.token}", "plugins": [
            {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": os.path.join(self.d, "cni-ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}}]}

    def start(self, timeout: float = 30) -> "Cri":
        os.makedirs(os.path.join(self.d, "cni"), exist_ok=True)
        with open(os.path.join(self.d, "config.toml"), "w") as f:
            f.write(self.config())
        with open(os.path.join(self.d, "cni", "10-pyrunc-cri.conflist"), "w") as f:
            json.dump(self.cni_config(), f, indent=1)
        with open(os.path.join(self.d, "crictl.yaml"), "w") as f:
            f.write(f"runtime-endpoint: unix://{self.sock}\nimage-endpoint: unix://{self.sock}\ntimeout: 60\n")
        # In the new namespaces: loopback up, a private /run (containerd 1.6 keeps its
        # shims' sockets under /run/containerd/s whatever the config says), then the daemon
        # under a shell as the PID namespace's init: the shell reaps the shims that are
        # orphaned to it while it waits, and its exit (after the daemon's) takes every
        # shim and container left with it.
        script = ("set -e; ip link set lo up; mount -t tmpfs -o mode=755,size=64m pyrunc-cri-run /run; "
                  f'containerd --config "{self.d}/config.toml" & pid=$!; '
                  'trap "kill -TERM $pid" TERM; set +e; wait $pid; wait $pid')
        log = open(self.log_path, "w")
        # If we die without stopping it, unshare gets SIGKILL and --kill-child takes the
        # namespace's init, and with it everything in the namespace, along.
        self.proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--mount", "--net", "--ipc",
                                      "--uts", "--propagation", "slave", "--kill-child", "sh", "-c", script],
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited ({self.proc.returncode}): {self.log_tail()}")
            if not self.pid:
                # The shell's child named containerd: before it, the script's `ip` and
                # `mount` are the shell's children for a moment (taking one of those for the
                # daemon, seen under load, left every later nsenter a dead pid).
                self.pid = self._child_of(self._child_of(self.proc.pid), comm="containerd")
            if self.pid and os.path.exists(self.sock):
                if subprocess.run(["ctr", "-a", self.sock, "version"], capture_output=True,
                                  timeout=10).returncode == 0:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"containerd did not come up in {timeout}s: {self.log_tail()}")
            time.sleep(0.1)
        return self

    @staticmethod
    def _child_of(pid: int, comm: str = "") -> int:
        """The first child of ``pid`` (whose command name is ``comm``, when given); 0 if none."""
        if not pid:
            return 0
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            return 0
        for kid in kids:
            if not comm:
                return kid
            try:
                with open(f"/proc/{kid}/comm") as f:
                    if f.read().strip() == comm:
                        return kid
            except OSError:
                continue
        return 0

    def log_tail(self, n: int = 15) -> str:
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def import_image(self, archive: str) -> None:
        p = subprocess.run(["ctr", "-a", self.sock, "-n", "k8s.io", "images", "import", archive],
                           capture_output=True, text=True, timeout=120)
        if p.returncode:
            raise RuntimeError(f"ctr images import {archive}: {p.stderr}")

    def import_pause_image(self) -> None:
        """The sandbox image, built offline, under the name the config gives."""
        pause_root = build_pause_rootfs(os.path.join(self.d, "images", "pause-rootfs"))
        archive = os.path.join(self.d, "images", "pause.tar")
        ociimage.build(pause_root, archive, PAUSE_REF, {"Entrypoint": ["/pause"], "Cmd": None})
        self.import_image(archive)

    def import_test_images(self, busybox_rootfs: str) -> None:
        """The sandbox image and busybox, imported under the names the tests use."""
        self.import_pause_image()
        archive = os.path.join(self.d, "images", "busybox.tar")
        ociimage.build(busybox_rootfs, archive, BUSYBOX_REF)
        self.import_image(archive)

    # --- use --------------------------------------------------------------------
    def netns(self) -> str:
        return f"/proc/{self.pid}/ns/net"

    def in_ns(self, *argv: str, mount: bool = False) -> list[str]:
        """argv to run in the daemon's network namespace; with mount, in all of its
        namespaces (its /proc is its PID namespace's: umount -R reads /proc/self/mountinfo;
        what critest does "on the host", ipcmk or sethostname, stays in its IPC and UTS)."""
        more = [f"--{ns}=/proc/{self.pid}/ns/{f}" for ns, f in
                (("mount", "mnt"), ("pid", "pid"), ("ipc", "ipc"), ("uts", "uts"))] if mount else []
        return ["nsenter", f"--net={self.netns()}", *more, *argv]

    def crictl_argv(self, *args: str) -> list[str]:
        return self.in_ns(self.crictl_bin, "--config", os.path.join(self.d, "crictl.yaml"), *args)

    def crictl(self, *args: str, timeout: float = 90, check: bool = True, input: str | None = None
               ) -> subprocess.CompletedProcess:
        p = subprocess.run(self.crictl_argv(*args), capture_output=True, text=True, timeout=timeout,
                           input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"crictl {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
        return p

    def host(self, *argv: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        """A command in the daemon's mount and network namespaces (the engine's host)."""
        p = subprocess.run(self.in_ns(*argv, mount=True), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
        return p

    def host_pid(self, ns_pid: int) -> int:
        """The host pid of a process the daemon knows as ``ns_pid``."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                chain = _nspid(int(entry))
            except OSError:
                continue
            if len(chain) >= 2 and chain[1] == ns_pid and self._in_our_pidns(int(entry)):
                return int(entry)
        raise LookupError(f"no host process for pid {ns_pid} of the daemon's namespace")

    def _in_our_pidns(self, pid: int) -> bool:
        """``pid`` lies in the daemon's PID namespace (or one below it)."""
        ours = os.stat(f"/proc/{self.pid}/ns/pid").st_ino
        try:
            p = pid
            for _ in range(64):
                if os.stat(f"/proc/{p}/ns/pid").st_ino == ours:
                    return True
                with open(f"/proc/{p}/stat") as f:
                    p = int(f.read().rsplit(")", 1)[1].split()[1])
                if p <= 1:
                    return False
        except OSError:
            return False
        return False

    def processes(self) -> list[int]:
        """Every process of the daemon's PID namespace except the daemon and its init (host pids)."""
        ours = os.stat(f"/proc/{self.pid}/ns/pid").st_ino
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in (self.pid, self._init_pid()):
                try:
                    if os.stat(f"/proc/{entry}/ns/pid").st_ino == ours:
                        out.append(int(entry))
                except OSError:
                    continue
        return out

    def wait_processes_gone(self, timeout: float = 10) -> list[str]:
        """Wait for the shims to leave once their last pod went; returns what is left
        (as "pid cmdline")."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.processes()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        out = []
        for pid in left:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                out.append(f"{pid} {cmd[:120]}")
            except OSError:
                continue
        return out

    def _init_pid(self) -> int:
        return self._child_of(self.proc.pid) if self.proc else 0

    def mountinfo(self) -> str:
        """The daemon's mount table (its /proc/PID/mountinfo, read from the host)."""
        with open(f"/proc/{self.pid}/mountinfo") as f:
            return f.read()

    def mounts(self) -> list[str]:
        """The daemon's mount points."""
        return [line.split()[4] for line in self.mountinfo().splitlines()]

    # --- tear down ----------------------------------------------------------
    def remove_all_pods(self, timeout: float = 60) -> None:
        p = self.crictl("pods", "-q", check=False, timeout=timeout)
        for pod in p.stdout.split():
            self.crictl("stopp", pod, check=False, timeout=timeout)
            self.crictl("rmp", "-f", pod, check=False, timeout=timeout)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the daemon (the PID namespace's init), SIGKILL after ``timeout``; the
        kernel then kills whatever is left in its namespace."""
        if self.proc is None:
            return
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
        self.proc = None


def remove_cgroup_tree(rel: str) -> list[str]:
    """rmdir ``rel`` (a path from each hierarchy's root) and everything below it, deepest
    first; returns the directories that would not go."""
    left = []
    for mnt in _cgroup_mounts():
        top = mnt.rstrip("/") + rel
        if not os.path.isdir(top):
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            deadline = time.monotonic() + 5
            while True:
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        left.append(dirpath)
                        break
                    time.sleep(0.05)
    return left


def _cgroup_mounts() -> list[str]:
    """The mount points of this host's cgroup hierarchies (v1 controllers and the v2 tree),
    as the runtime reads them (runtime/linux/cgroups/hierarchy.py: mountinfo parsed once)."""
    from pyrunc.runtime.linux import cgroups

    return [mnt for mnt, _root, _fstype, _ctrls in cgroups.hierarchies()]


def run_in_pty(argv: list[str], timeout: float = 60) -> tuple[int, bytes]:
    """Run ``argv`` with a new pseudo-terminal as its stdio (crictl exec -t wants one);
    returns (exit code, everything it wrote).  Killed after ``timeout``."""
    import pty
    import select

    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(master)
    return os.waitstatus_to_exitcode(status), out


def workdir(prefix: str = "pyrunc-cri-") -> str:
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d


def pod_config(name: str, cgroup_parent: str, log_dir: str, **linux) -> dict:
    """A PodSandboxConfig (CRI v1) with a unique uid and the given cgroup parent."""
    uid = uuid.uuid4().hex[:8]
    return {"metadata": {"name": name, "namespace": "pyrunc-cri", "uid": uid, "attempt": 0},
            "log_directory": log_dir, "hostname": name,
            "linux": {"cgroup_parent": cgroup_parent, **linux}}


def container_config(name: str, command: list[str], image: str = BUSYBOX_REF, linux: dict | None = None,
                     **extra) -> dict:
    """A ContainerConfig with the kubelet's default of a PID namespace per container
    (the CRI's zero value would share the pod's)."""
    lx = {"security_context": {}, **(linux or {})}
    lx["security_context"] = {"namespace_options": {"pid": 1}, **lx["security_context"]}
    return {"metadata": {"name": name}, "image": {"image": image}, "command": command,
            "log_path": f"{name}.log", "linux": lx, **extra}
