"""What every engine test needs: a network namespace per daemon, an image built offline
from the busybox rootfs, bounded waits, and a check that the host is as it was.

The engines (dockerd, podman, containerd's CRI) run on private state under a temporary
directory, each in a network namespace of its own, so that their bridges and their
iptables/nft rules never reach the host's tables.  ``HostState`` is taken before a daemon
starts and after it has stopped; ``leaks`` names what is new (mounts, network namespaces,
interfaces, rules, cgroup directories, processes).
"""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: The runtimes every scenario runs under: runc is the control, pyrunc the subject.
RUNTIMES = ("runc", "pyrunc")


def token(area: str) -> str:
    """A name unique to this run and area (``pyrunc-docker-1a2b3c4d``): daemons of other
    areas or of a run beside this one never share it."""
    return f"pyrunc-{area}-{uuid.uuid4().hex[:8]}"


def wait_for(what: str, ready: Callable[[], object], timeout: float = 30, every: float = 0.05) -> object:
    """Poll ``ready`` until it returns something true; a wait past ``timeout`` fails the
    test with ``what`` (a hang is a failure)."""
    deadline = time.monotonic() + timeout
    while True:
        got = ready()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


# --- network namespaces ---------------------------------------------------------------

@contextmanager
def netns(name: str) -> Iterator[str]:
    """A named network namespace with loopback up (``ip netns add``), deleted afterwards."""
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, timeout=30)
        yield name
    finally:
        # Bounded retries: a mount namespace being made elsewhere at that moment (another
        # test's container, under -n 2) holds a copy of the netns file's mount for a while,
        # and the unlink fails with EBUSY until it lets go.
        deadline = time.monotonic() + 30
        while True:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)
            if not os.path.exists(f"/run/netns/{name}") or time.monotonic() > deadline:
                break
            time.sleep(0.5)


def in_netns(name: str) -> list[str]:
    """The argv prefix that runs a program in network namespace ``name``.

    nsenter, not ``ip netns exec``: the latter also makes a mount namespace and mounts a
    fresh /sys there, which hides the cgroup hierarchies under /sys/fs/cgroup (dockerd
    then refuses to start: "Devices cgroup isn't mounted").  Only the network namespace is
    meant to be private."""
    return ["nsenter", f"--net=/run/netns/{name}"]


# --- images ---------------------------------------------------------------------------

def rootfs_tar(rootfs: str, out: str) -> str:
    """A tar of the busybox rootfs (tests/rootfs.py) with root-owned members: what
    ``docker import`` / ``podman import`` turn into an image, offline."""
    def owned_by_root(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        return ti

    with tarfile.open(out, "w") as tar:
        for name in sorted(os.listdir(rootfs)):
            if name != ".pyrunc-rootfs":
                tar.add(os.path.join(rootfs, name), arcname=name, filter=owned_by_root)
    return out


# --- the host, before and after ------------------------------------------------------

def _cgroup_mounts() -> list[str]:
    """The mount points of this host's cgroup hierarchies (v1 controllers and the v2 tree),
    as the runtime reads them (runtime/linux/cgroups/hierarchy.py: mountinfo parsed once)."""
    from pyrunc.runtime.linux import cgroups

    return [mnt for mnt, _root, _fstype, _ctrls in cgroups.hierarchies()]


def _host_links() -> set[str]:
    p = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=30)
    return {line.split(":")[1].strip().split("@")[0] for line in p.stdout.splitlines() if ":" in line}


def _ruleset() -> str:
    p = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, timeout=30)
    # Counters move with traffic; the rules are what must not change.
    return re.sub(r"counter packets \d+ bytes \d+", "counter", p.stdout)


def _processes_mentioning(needles: tuple[str, ...]) -> dict[int, str]:
    """Processes whose command line names one of ``needles`` (a daemon's temporary
    directory, its socket): what a daemon or its shims leave if they are not stopped."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(n in cmd for n in needles):
            out[int(pid)] = cmd.strip()
    return out


class HostState:
    """What a daemon could leave on the host: mounts under ``tmp``, network namespaces
    named with one of ``names`` (other areas' daemons may come and go meanwhile), the
    host's interfaces and nft ruleset, cgroup directories named ``names`` at the top of
    each hierarchy (the test's own parent, an engine's default one such as "docker"), and
    processes whose command line names ``tmp``."""

    def __init__(self, tmp: str, names: tuple[str, ...], links: str = r".*") -> None:
        """``links``: a regular expression of the interface names that count (those the
        engine makes: other tests beside it may make and remove their own meanwhile)."""
        self.tmp = tmp
        with open("/proc/self/mountinfo") as f:
            self.mounts = {ln.split()[4] for ln in f if tmp in ln.split(" - ")[0]}
        self.netns = {n for n in (os.listdir("/run/netns") if os.path.isdir("/run/netns") else [])
                      if any(x in n for x in names)}
        self.links = {n for n in _host_links() if re.fullmatch(links, n)}
        self.ruleset = _ruleset()
        self.cgroups = {os.path.join(m, n) for m in _cgroup_mounts() for n in names
                        if os.path.isdir(os.path.join(m, n.lstrip("/")))}
        self.processes = _processes_mentioning((tmp,))

    def leaks(self, before: HostState) -> list[str]:
        """What is here now and was not in ``before``, one line each."""
        out = []
        if self.mounts - before.mounts:
            out.append(f"mounts left: {sorted(self.mounts - before.mounts)}")
        if self.netns - before.netns:
            out.append(f"network namespaces left: {sorted(self.netns - before.netns)}")
        if self.links - before.links:
            out.append(f"host interfaces left: {sorted(self.links - before.links)}")
        if self.ruleset != before.ruleset:
            out.append("the host's nft ruleset changed")
        if self.cgroups - before.cgroups:
            out.append(f"cgroup directories left: {sorted(self.cgroups - before.cgroups)}")
        if set(self.processes) - set(before.processes):
            out.append(f"processes left: {[self.processes[p] for p in set(self.processes) - set(before.processes)]}")
        return out


def remove_cgroups(name: str) -> list[str]:
    """rmdir ``name`` (a cgroup parent the test configured) and everything below it in
    every hierarchy, deepest first; the directories that would not go."""
    left = []
    for mnt in _cgroup_mounts():
        top = os.path.join(mnt, name.lstrip("/"))
        if not os.path.isdir(top):
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                left.append(dirpath)
    return left


def kill_processes_mentioning(needle: str, timeout: float = 10) -> None:
    """SIGKILL what a daemon left behind (processes whose command line names ``needle``,
    the test's own temporary directory), and wait until they are gone."""
    procs = _processes_mentioning((needle,))
    for pid in procs:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    wait_for(f"processes {sorted(procs)} to exit", lambda: not _processes_mentioning((needle,)), timeout)


def unmount_under(prefix: str) -> None:
    """Lazily unmount every mount below ``prefix``, deepest first."""
    with open("/proc/self/mountinfo") as f:
        points = [ln.split()[4] for ln in f if ln.split()[4].startswith(prefix.rstrip("/") + "/")]
    for p in sorted(set(points), key=lambda x: -x.count("/")):
        subprocess.run(["umount", "-l", p], capture_output=True, timeout=30)


def normalize(text: str, replacements: dict[str, str] | None = None) -> str:
    """``text`` with what differs between two runs of one scenario replaced: the given
    strings (a container's id, the runtime's name), long hex ids, and times."""
    for old, new in (replacements or {}).items():
        if old:
            text = text.replace(old, new)
    text = re.sub(r"\b[0-9a-f]{64}\b", "<id>", text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "<id>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<time>", text)
    return text


def run_in_pty(argv: list[str], timeout: float = 60, env: dict | None = None) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its stdio (what a user at a shell gives
    ``docker run -it``); (exit code, everything it wrote, CRs dropped).  Killed, and the
    test failed, past ``timeout`` (tests/conftest.py's run_in_pty)."""
    from conftest import run_in_pty as run_bytes

    code, out = run_bytes(argv, timeout, env)
    return code, out.decode(errors="replace").replace("\r", "")


def diff(control: object, subject: object) -> str:
    """A unified diff of two runtimes' observations (JSON, one value a line), control first."""
    import difflib
    import json

    def lines(o: object) -> list[str]:
        return json.dumps(o, indent=1, sort_keys=True, default=str).replace("\\n", "\\n\n").splitlines()

    return "\n".join(difflib.unified_diff(lines(control), lines(subject), "runc", "pyrunc", lineterm="", n=2))
