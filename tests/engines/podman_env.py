"""Podman 4.3 (Debian) on private state, for running one scenario under runc and pyrunc.

Podman has no daemon: every test command is one `podman` process, and each container
lives on in its `conmon`.  To keep all of it off the host's own state:

- storage (``--root``/``--runroot``), the libpod database, ``tmp_dir``, the events log,
  file locks (``lock_type = "file"``: no /dev/shm/libpod_lock), volumes, the CNI network
  config and its IPAM leases are under one temporary directory;
- every podman process runs (``nsenter``) in a network namespace of the tests' own, so
  the CNI bridge, its veths and its iptables rules never reach the host's tables, and in
  a mount namespace of the tests' own (a slave of the host's), so the overlay and shm
  mounts of the containers never appear in the host's mount table.  ``ip netns exec`` is
  not used: it remounts /sys for the namespace, which hides /sys/fs/cgroup from Podman;
- cgroups go under a parent of the tests' own (``--cgroup-parent``, cgroupfs manager);
  Podman puts conmon in ``<parent>/conmon`` and never removes it: the teardown does;
- the runtime's own state (``--root``) is private too.  Podman's ``--runtime-flag`` is
  not passed on to the ``podman container cleanup`` that conmon runs when a container
  exits (its delete would then look in /run/runc), so each runtime is a two-line wrapper,
  ``<dir>/runtimes/<name>/<name>``, that adds ``--root``: Podman names a runtime given
  by path after the file, so the wrappers are still "runc" and "pyrunc" to it (both in
  ``runtime_supports_json``, so both get ``--log-format=json --log``, as runc does).

No registry exists here: the busybox image is ``podman import`` of tests/rootfs.py's
rootfs, the pod's infra image a static pause program compiled by the tests.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid

PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")
RUNC = "/usr/sbin/runc"
RUNTIMES = {"runc": RUNC, "pyrunc": PYRUNC}
IMAGE = "localhost/pyrunc-busybox:latest"
PAUSE_IMAGE = "localhost/pyrunc-pause:latest"
#: This VM's hard RLIMIT_NOFILE (and a CI machine's may be too) is below what Podman asks
#: for by default (1048576, and 4194304 processes): every container would fail create.
ULIMITS = ["nofile=4096:4096", "nproc=4096:4096"]
#: The bound on one podman command (a hang is a failure); shorter waits have their own.
TIMEOUT = 60

PAUSE_C = r"""
#include <signal.h>
#include <unistd.h>
static void quit(int sig) { (void)sig; _exit(0); }
int main(void) {
	signal(SIGINT, quit);
	signal(SIGTERM, quit);
	for (;;)
		pause();
}
"""


def missing() -> str | None:
    """Why this host cannot run the Podman tests, or None."""
    if os.geteuid() != 0:
        return "Podman tests run real containers as root"
    for prog in ("podman", "conmon", "nsenter", "unshare", "ip", "gcc"):
        if not shutil.which(prog):
            return f"{prog} is not installed (make deps installs Debian's podman, conmon, gcc)"
    if not os.access(RUNC, os.X_OK):
        return f"{RUNC} (Debian's runc, the control) is not installed"
    if not os.path.isdir("/usr/lib/cni"):
        return "/usr/lib/cni is missing (Debian's containernetworking-plugins)"
    return None


class Podman:
    """One private Podman installation; ``p(runtime, *args)`` runs one podman command."""

    def __init__(self, busybox_rootfs: str) -> None:
        """``busybox_rootfs``: tests/rootfs.py's rootfs, imported as the image."""
        self.token = uuid.uuid4().hex[:8]
        # Short: conmon's attach socket path must fit a sockaddr_un.
        self.dir = tempfile.mkdtemp(prefix=f"pyrunc-podman-{self.token}-", dir="/tmp")
        self.netns = f"pyrunc-podman-{self.token}"
        self.cgroup_parent = f"/pyrunc-podman-{self.token}"
        self.mntns = os.path.join(self.dir, "ns", "mnt")
        self.rootfs = busybox_rootfs
        self.had_cni_dir = os.path.exists("/var/lib/cni")
        self.had_shm_lock = os.path.exists("/dev/shm/libpod_lock")
        self.netns_before = _podman_netns()

    # -- set-up ----------------------------------------------------------------------
    def start(self) -> "Podman":
        d = self.dir
        for sub in ("ns", "tmp", "cni", "cni-ipam", "volumes"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        _check(["ip", "netns", "add", self.netns])
        _check(["ip", "-n", self.netns, "link", "set", "lo", "up"])
        # The mount namespace is held by a bind mount of its nsfs file, on a private mount
        # (a bind on a shared one would propagate into the new namespace itself).
        ns = os.path.join(d, "ns")
        _check(["mount", "--bind", ns, ns])
        _check(["mount", "--make-private", ns])
        open(self.mntns, "w").close()
        _check(["unshare", f"--mount={self.mntns}", "--propagation", "slave", "true"])
        for name, real in RUNTIMES.items():
            wdir = os.path.join(d, "runtimes", name)
            os.makedirs(wdir)
            with open(os.path.join(wdir, name), "w") as f:
                f.write(f'#!/bin/sh\nexec {real} --root {self.state_dir(name)} "$@"\n')
            os.chmod(os.path.join(wdir, name), 0o755)
        self._write_configs()
        self._import_images()
        return self

    def state_dir(self, runtime: str) -> str:
        return os.path.join(self.dir, "state", runtime)

    def runtime_path(self, runtime: str) -> str:
        return os.path.join(self.dir, "runtimes", runtime, runtime)

    def _write_configs(self) -> None:
        d = self.dir
        runtimes = "\n".join(f'{n} = ["{self.runtime_path(n)}"]' for n in RUNTIMES)
        conf = f"""[containers]
default_ulimits = {json.dumps(ULIMITS)}

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
lock_type = "file"
tmp_dir = "{d}/tmp"
volume_path = "{d}/volumes"
runtime = "runc"
runtime_supports_json = ["runc", "pyrunc"]

[engine.runtimes]
{runtimes}

[network]
network_backend = "cni"
network_config_dir = "{d}/cni"
cni_plugin_dirs = ["/usr/lib/cni"]
default_network = "pyrunc-podman"
"""
        with open(os.path.join(d, "containers.conf"), "w") as f:
            f.write(conf)
        with open(os.path.join(d, "storage.conf"), "w") as f:
            f.write(f'[storage]\ndriver = "overlay"\ngraphroot = "{d}/root"\nrunroot = "{d}/runroot"\n')
        with open(os.path.join(d, "registries.conf"), "w") as f:
            f.write("unqualified-search-registries = []\n")
        # The default network, written out so that its IPAM leases live here, not in
        # /var/lib/cni/networks (Podman's built-in "podman" network has no dataDir).
        net = {"cniVersion": "0.4.0", "name": "pyrunc-podman", "plugins": [
            {"type": "bridge", "bridge": "pyrpod0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": f"{d}/cni-ipam", "routes": [{"dst": "0.0.0.0/0"}],
                      "ranges": [[{"subnet": "10.89.77.0/24", "gateway": "10.89.77.1"}]]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "firewall", "backend": "iptables"}]}
        with open(os.path.join(d, "cni", "pyrunc-podman.conflist"), "w") as f:
            json.dump(net, f, indent=1)

    def _import_images(self) -> None:
        d = self.dir
        tar = os.path.join(d, "busybox.tar")
        with tarfile.open(tar, "w") as t:
            for name in sorted(os.listdir(self.rootfs)):
                if not name.startswith(".pyrunc"):
                    t.add(os.path.join(self.rootfs, name), arcname=name)
        self.check("runc", "import", "-q", "--change", "CMD [\"sh\"]", tar, IMAGE)
        src = os.path.join(d, "pause.c")
        with open(src, "w") as f:
            f.write(PAUSE_C)
        _check(["gcc", "-static", "-Os", "-o", os.path.join(d, "pause"), src])
        ptar = os.path.join(d, "pause.tar")
        with tarfile.open(ptar, "w") as t:
            t.add(os.path.join(d, "pause"), arcname="pause")
        self.check("runc", "import", "-q", "--change", 'ENTRYPOINT ["/pause"]', ptar, PAUSE_IMAGE)

    # -- running podman --------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERS_", "XDG_"))}
        env.update(CONTAINERS_CONF=os.path.join(self.dir, "containers.conf"),
                   CONTAINERS_STORAGE_CONF=os.path.join(self.dir, "storage.conf"),
                   CONTAINERS_REGISTRIES_CONF=os.path.join(self.dir, "registries.conf"))
        return env

    def argv(self, runtime: str, *args: str) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}", f"--mount={self.mntns}", "podman",
                "--root", os.path.join(self.dir, "root"), "--runroot", os.path.join(self.dir, "runroot"),
                "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                "--tmpdir", os.path.join(self.dir, "tmp"), "--runtime", self.runtime_path(runtime), *args]

    def __call__(self, runtime: str, *args: str, timeout: float = TIMEOUT,
                 input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(runtime, *args), input=input, capture_output=True, text=True,
                              timeout=timeout, env=self.env(),
                              stdin=subprocess.DEVNULL if input is None else None)

    def check(self, runtime: str, *args: str, timeout: float = TIMEOUT) -> str:
        p = self(runtime, *args, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} under {runtime} failed ({p.returncode}): {p.stderr}")
        return p.stdout

    def run(self, runtime: str, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        """``podman run --pull never --cgroup-parent <ours> ARGS``."""
        return self(runtime, "run", "--pull", "never", "--cgroup-parent", self.cgroup_parent, *args,
                    timeout=timeout)

    def in_pty(self, runtime: str, *args: str, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """Run podman with a pseudo-terminal as its stdio (as at a shell): (exit code, output)."""
        argv = self.argv(runtime, *args)
        from conftest import run_in_pty

        return run_in_pty(argv, timeout, self.env())

    def wait_for(self, what: str, pred, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.05)

    # -- the host afterwards -----------------------------------------------------------
    def cgroup_dirs(self) -> list[str]:
        """Container and pod cgroups left under our parent (conmon's own one aside)."""
        out = []
        for h in _hierarchies():
            top = h + self.cgroup_parent
            if os.path.isdir(top):
                out += [os.path.join(top, x) for x in os.listdir(top)
                        if x != "conmon" and os.path.isdir(os.path.join(top, x))]
        return out

    def remove_cgroup(self, name: str) -> None:
        """rmdir ``<parent>/<name>`` in every hierarchy (a pod's, which Podman leaves)."""
        for h in _hierarchies():
            if name and os.path.isdir(h + self.cgroup_parent + "/" + name):
                _rmdir(h + self.cgroup_parent + "/" + name)

    def conmons(self) -> list[int]:
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            if cmd and os.path.basename(cmd[0]) == b"conmon" and self.dir.encode() in b" ".join(cmd):
                out.append(int(pid))
        return out

    def leftovers(self) -> list[str]:
        """What a finished scenario left behind: containers, pods, runtime state, cgroups,
        conmon processes, netns files for its containers (none once everything is removed)."""
        problems = []
        ps = self("runc", "ps", "-aq", timeout=30).stdout.split()
        if ps:
            problems.append(f"containers: {ps}")
        pods = self("runc", "pod", "ps", "-q", timeout=30).stdout.split()
        if pods:
            problems.append(f"pods: {pods}")
        for name in RUNTIMES:
            sd = self.state_dir(name)
            if os.path.isdir(sd) and os.listdir(sd):
                problems.append(f"{name} state: {os.listdir(sd)}")
        if self.cgroup_dirs():
            problems.append(f"cgroups: {self.cgroup_dirs()}")
        if self.conmons():
            problems.append(f"conmon processes: {self.conmons()}")
        if _podman_netns() - self.netns_before:
            problems.append(f"netns files: {sorted(_podman_netns() - self.netns_before)}")
        return problems

    def settle(self, timeout: float = 60) -> list[str]:
        """Wait (bounded) for conmon's exit commands to finish; then what is left.  The
        bound is generous: with the suite's other worker running dockerd, CNI's teardown
        waits on the host-wide xtables lock (seen: a netns file still there after 20 s)."""
        deadline = time.monotonic() + timeout
        while True:
            problems = self.leftovers()
            if not problems or time.monotonic() > deadline:
                return problems
            time.sleep(0.1)

    def remove_all(self) -> None:
        for runtime in RUNTIMES:
            self(runtime, "pod", "rm", "-af", "-t", "0", timeout=60)
            self(runtime, "rm", "-af", "-t", "0", timeout=60)

    # -- teardown ----------------------------------------------------------------------
    def close(self) -> None:
        """Remove everything: containers, pods, conmons, mounts, the netns, the cgroups,
        the directory; and /var/lib/cni if the tests made it (libcni's cache dir, which
        Podman 4.3 does not let one move; empty once the containers are gone)."""
        try:
            if os.path.exists(self.mntns):
                self.remove_all()
        except (subprocess.TimeoutExpired, OSError):
            pass
        for pid in self.conmons():
            _kill(pid)
        # What a killed conmon left running: the runtimes' own delete, on their own state.
        for name in RUNTIMES:
            sd = self.state_dir(name)
            for cid in os.listdir(sd) if os.path.isdir(sd) else []:
                subprocess.run([self.runtime_path(name), "delete", "--force", cid], capture_output=True,
                               timeout=30)
        # The containers' mounts die with the mount namespace, once no process holds it.
        ns = os.path.join(self.dir, "ns")
        subprocess.run(["umount", self.mntns], capture_output=True)
        subprocess.run(["umount", ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        for h in _hierarchies():
            top = h + self.cgroup_parent
            for root, dirs, _files in os.walk(top, topdown=False):
                for x in dirs:
                    _rmdir(os.path.join(root, x))
            if os.path.isdir(top):
                _rmdir(top)
        shutil.rmtree(self.dir, ignore_errors=True)
        if not self.had_cni_dir:
            for sub in ("/var/lib/cni/results", "/var/lib/cni/networks", "/var/lib/cni"):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass

    def host_leaks(self) -> list[str]:
        """After close: anything of ours still on the host."""
        problems = []
        if os.path.exists(f"/run/netns/{self.netns}"):
            problems.append(f"netns {self.netns}")
        with open("/proc/self/mountinfo") as f:
            mounts = [line for line in f if self.dir in line]
        if mounts:
            problems.append(f"mounts: {mounts}")
        cgs = [h + self.cgroup_parent for h in _hierarchies() if os.path.exists(h + self.cgroup_parent)]
        if cgs:
            problems.append(f"cgroups: {cgs}")
        if self.conmons():
            problems.append(f"conmon processes: {self.conmons()}")
        if os.path.exists(self.dir):
            problems.append(f"directory {self.dir}")
        # A bridge container's netns: a bind-mounted file under /run/netns while it lives.
        new_ns = _podman_netns() - self.netns_before
        if new_ns:
            problems.append(f"netns files {sorted(new_ns)}")
        if os.path.exists("/dev/shm/libpod_lock") and not self.had_shm_lock:
            problems.append("/dev/shm/libpod_lock (Podman's shm locks)")
        return problems


def _podman_netns() -> set[str]:
    try:
        return {n for n in os.listdir("/run/netns") if n.startswith("netns-")}
    except FileNotFoundError:
        return set()


def _hierarchies() -> list[str]:
    """The mount points of this host's cgroup hierarchies (v1 controllers and the v2 tree),
    as the runtime reads them (runtime/linux/cgroups/hierarchy.py: mountinfo parsed once)."""
    from pyrunc.runtime.linux import cgroups

    return [mnt for mnt, _root, _fstype, _ctrls in cgroups.hierarchies()]


def _rmdir(path: str) -> None:
    deadline = time.monotonic() + 5
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _check(argv: list[str]) -> None:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {p.stderr.strip()}")

