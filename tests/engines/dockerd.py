"""A dockerd of the tests' own (Debian's docker.io 20.10), for tests/engines and bench/.

Its data root, exec root, socket, pidfile, trust key and daemon.json live under a temporary
directory; it runs in a network namespace of its own (docker0, user networks and their
iptables rules stay out of the host's tables) and puts its containers' cgroups under a
parent named for this run (``--cgroup-parent``), never in the host's /docker.  daemon.json
registers the runtimes it is given (``pyrunc``: this tree's launcher) beside the default
runc.  Leaving the context stops it and removes everything it made; what is still there
(mounts, network namespaces, interfaces, rules, cgroups, processes) fails the caller.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from engines.common import (
    HostState,
    kill_processes_mentioning,
    netns,
    remove_cgroups,
    rootfs_tar,
    run_in_pty,
    token,
    unmount_under,
    wait_for,
)

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"  # not /usr/local/bin/docker: an unrelated, newer client may sit there
PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")
IMAGE = "pyrunc-busybox:latest"
#: The interfaces dockerd makes (its bridges, the host ends of its veths): none may
#: appear in the host's namespace.
DOCKER_LINKS = r"docker\d*|br-[0-9a-f]{12}|veth[0-9a-f]{7}"





def available() -> bool:
    return os.access(DOCKERD, os.X_OK) and os.access(DOCKER, os.X_OK)


class Docker:
    """The docker client aimed at the tests' daemon."""

    def __init__(self, tmp: str, ns: str, cgroup_parent: str) -> None:
        self.tmp = tmp
        self.ns = ns
        self.cgroup_parent = cgroup_parent
        self.sock = os.path.join(tmp, "docker.sock")
        self.env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                    "DOCKER_HOST": f"unix://{self.sock}", "DOCKER_CONFIG": os.path.join(tmp, "client")}

    def __call__(self, *args: str, timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, env=self.env,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args: str, timeout: float = 60) -> str:
        p = self(*args, timeout=timeout)
        assert p.returncode == 0, f"docker {' '.join(args)}: {p.stderr}"
        return p.stdout

    def pty(self, *args: str, timeout: float = 60) -> tuple[int, str]:
        return run_in_pty([DOCKER, *args], timeout=timeout, env=self.env)

    def inspect(self, cid: str, fmt: str) -> str:
        return self.ok("inspect", "-f", fmt, cid).strip()

    def full_id(self, cid: str) -> str:
        return self.inspect(cid, "{{.Id}}")

    def cgroup(self, controller: str, cid: str) -> str:
        """The container's cgroup directory of ``controller`` on the host."""
        return os.path.join("/sys/fs/cgroup", controller, self.cgroup_parent.lstrip("/"), self.full_id(cid))

    def in_netns(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run ``argv`` in the daemon's network namespace (where published ports are)."""
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.ns}", *argv], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def detached(self, rt: str, *args: str) -> str:
        """``docker run -d`` under ``rt``; the container's id."""
        return self.ok("run", "-d", "--runtime", rt, *args).strip()

    def remove(self, *cids: str) -> None:
        if cids:
            self("rm", "-f", *cids, timeout=60)



@contextmanager
def dockerd(rootfs: str, runtimes: dict[str, str] | None = None) -> Iterator[Docker]:
    """A running dockerd with the busybox rootfs imported as IMAGE; ``runtimes``: name ->
    path of the runtimes to register beside runc (default: pyrunc)."""
    runtimes = runtimes if runtimes is not None else {"pyrunc": PYRUNC}
    tmp = tempfile.mkdtemp(prefix="pyrunc-docker-")
    os.chmod(tmp, 0o711)
    name = token("docker")
    parent = f"/{name}"
    # What dockerd makes outside its roots whatever it is told (its plugin socket
    # directory, containerd's shim socket directory): removed again if we made them.
    made = [d for d in ("/etc/docker", "/run/docker", "/run/containerd") if not os.path.exists(d)]
    before = HostState(tmp, (name, "docker"), DOCKER_LINKS)
    with open(os.path.join(tmp, "daemon.json"), "w") as f:
        # The trust key goes to /etc/docker unless daemon.json says otherwise.
        json.dump({"runtimes": {rt: {"path": path} for rt, path in runtimes.items()},
                   "deprecated-key-path": os.path.join(tmp, "key.json")}, f)
    left: list[str] = []
    try:
        with netns(name), open(os.path.join(tmp, "dockerd.log"), "w") as log:
            daemon = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{name}", DOCKERD, "--config-file", os.path.join(tmp, "daemon.json"),
                 "--data-root", os.path.join(tmp, "data"), "--exec-root", os.path.join(tmp, "exec"),
                 "-H", f"unix://{os.path.join(tmp, 'docker.sock')}", "--pidfile", os.path.join(tmp, "docker.pid"),
                 # overlay2 works on this ext4 /tmp (vfs would copy the image per container).
                 "--storage-driver", "overlay2", "--cgroup-parent", parent],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            dk = Docker(tmp, name, parent)
            try:
                def up() -> bool:
                    assert daemon.poll() is None, f"dockerd exited: {open(log.name).read()[-3000:]}"
                    return dk("version", timeout=10).returncode == 0

                wait_for("dockerd to answer", up, timeout=60, every=0.2)
                dk.ok("import", rootfs_tar(rootfs, os.path.join(tmp, "busybox.tar")), IMAGE, timeout=120)
                yield dk
            finally:
                if daemon.poll() is None:
                    dk.remove(*dk("ps", "-aq", timeout=30).stdout.split())
                    daemon.send_signal(signal.SIGTERM)
                    try:
                        daemon.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        daemon.kill()
                        daemon.wait(timeout=10)
                # dockerd's containerd and its shims, if dockerd left them.
                kill_processes_mentioning(tmp)
                unmount_under(tmp)
                subprocess.run(["umount", "-l", os.path.join(tmp, "data")], capture_output=True, timeout=30)
                left = remove_cgroups(parent)
    finally:
        problems = HostState(tmp, (name, "docker"), DOCKER_LINKS).leaks(before)
        if problems or left:
            shutil.copy(os.path.join(tmp, "dockerd.log"), f"/tmp/{name}-dockerd.log")
        shutil.rmtree(tmp, ignore_errors=True)
        for d in sorted(made, reverse=True):
            for sub in ("plugins", "s", ""):
                try:
                    os.rmdir(os.path.join(d, sub))
                except OSError:
                    pass
    assert not left, f"cgroup directories that would not go: {left}"
    assert not problems, "dockerd left on the host: " + "; ".join(problems) + f" (its log: /tmp/{name}-dockerd.log)"
