"""Kubernetes' CRI path: containerd 1.6's CRI plugin, driven by crictl as the kubelet
would, with RuntimeClass handler ``runc`` (the oracle) and handler ``pyrunc``.

Each scenario runs under runc first and pyrunc second, in pods of their own, and returns
what it saw, normalized (no ids, addresses or times); the test asserts a few things about
runc's outcome (so it can fail) and then that pyrunc's is the same.  The daemon and its
namespaces are described in cri_env.py; after each test no pod, container, runtime state
or cgroup of it is left, and after the module no process or mount of the daemon is.
"""

import json
import os
import sys
import time
import uuid

import pytest

# cri_env sits beside this file (tests/engines is a package; conformance/critest.py imports it too).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cri_env  # noqa: E402

REASON = cri_env.missing_prerequisites()
pytestmark = [pytest.mark.skipif(bool(REASON), reason=REASON),
              # the engines on one worker, one after the other: a daemon's private mount
              # namespace made while another's netns file is mounted keeps that file busy, and
              # its owner's `ip netns delete` then fails (seen under -n 2)
              pytest.mark.xdist_group("engines")]

TOKEN = uuid.uuid4().hex[:6]
#: Every pod's cgroup parent lies under this (cgroupfs driver: parent/<container id>).
CG_TOP = f"/pyrunc-cri-{TOKEN}"
#: Container cgroups found under a pod's parent after the pod was removed.
CGROUP_LEAKS: list[str] = []


@pytest.fixture(scope="module")
def cri(base_dir, busybox_rootfs):
    d = os.path.join(base_dir, f"cri-{TOKEN}")
    os.makedirs(d)
    c = cri_env.Cri(d, TOKEN)
    c.start()
    try:
        c.import_test_images(busybox_rootfs)
        yield c
    finally:
        c.remove_all_pods()
        left = c.wait_processes_gone()
        mounts_before_stop = [m for m in c.mounts() if m.startswith(d)]
        c.stop()
        cg_left = cri_env.remove_cgroup_tree(CG_TOP)
    assert not left, f"processes of the daemon's namespace left after every pod went: {left}"
    assert not mounts_before_stop, f"mounts left in the daemon's namespace: {mounts_before_stop}"
    assert not cg_left, f"cgroups left: {cg_left}"


@pytest.fixture(autouse=True)
def nothing_left(request):
    """After each test: no pod or container in the daemon, no runtime state, no cgroup."""
    yield
    if "cri" not in request.fixturenames:
        return
    c = request.getfixturevalue("cri")
    pods = c.crictl("pods", "-q", check=False).stdout.split()
    ctrs = c.crictl("ps", "-a", "-q", check=False).stdout.split()
    state = {h: os.listdir(os.path.join(c.d, f"{h}-root", "k8s.io"))
             for h in cri_env.HANDLERS if os.path.isdir(os.path.join(c.d, f"{h}-root", "k8s.io"))}
    c.remove_all_pods()
    cgs = cri_env.remove_cgroup_tree(CG_TOP) + CGROUP_LEAKS
    CGROUP_LEAKS.clear()
    assert not pods and not ctrs, f"left in the daemon: pods {pods}, containers {ctrs}"
    assert not any(state.values()), f"runtime state left: {state}"
    assert not cgs, f"cgroups left: {cgs}"


class Pod:
    """A pod sandbox under one handler, removed (with its cgroup parent) on exit."""

    def __init__(self, cri: cri_env.Cri, handler: str, name: str = "pod", **linux) -> None:
        self.cri = cri
        self.handler = handler
        self.cgroup_parent = f"{CG_TOP}/{handler}-{uuid.uuid4().hex[:6]}"
        self.dir = os.path.join(cri.d, "pods", uuid.uuid4().hex[:8])
        os.makedirs(os.path.join(self.dir, "logs"))
        self.config = cri_env.pod_config(f"{name}-{handler}", self.cgroup_parent, os.path.join(self.dir, "logs"),
                                         **linux)
        self.pod_json = self._write("pod.json", self.config)
        self.id = ""

    def _write(self, name: str, obj: dict) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def __enter__(self) -> "Pod":
        self.id = self.cri.crictl("runp", "--runtime", self.handler, self.pod_json).stdout.strip()
        return self

    def __exit__(self, *exc) -> None:
        if self.id:
            self.cri.crictl("stopp", self.id, check=False)
            self.cri.crictl("rmp", "-f", self.id, check=False)
        # Once the pod is gone its runtime must have removed every container's cgroup (the
        # parent is the kubelet's to remove): anything below it is a leak, reported by
        # nothing_left after the test.
        for mnt in cri_env._cgroup_mounts():
            top = mnt.rstrip("/") + self.cgroup_parent
            if os.path.isdir(top):
                CGROUP_LEAKS.extend(os.path.join(top, x) for x in os.listdir(top)
                                    if os.path.isdir(os.path.join(top, x)))
        cri_env.remove_cgroup_tree(self.cgroup_parent)

    def create(self, name: str, command: list[str], **extra) -> str:
        path = self._write(f"{name}.json", cri_env.container_config(name, command, **extra))
        return self.cri.crictl("create", self.id, path, self.pod_json).stdout.strip()

    def run(self, name: str, command: list[str], **extra) -> str:
        cid = self.create(name, command, **extra)
        self.cri.crictl("start", cid)
        return cid

    def inspect(self, cid: str) -> dict:
        return json.loads(self.cri.crictl("inspect", cid).stdout)

    def state(self) -> str:
        return json.loads(self.cri.crictl("inspectp", self.id).stdout)["status"]["state"]

    def exec(self, cid: str, *argv: str) -> tuple[int, str]:
        p = self.cri.crictl("exec", cid, *argv, check=False)
        return p.returncode, p.stdout

    def host_pid(self, cid: str) -> int:
        return self.cri.host_pid(self.inspect(cid)["info"]["pid"])

    def cgroup_file(self, cid: str, controller: str, name: str) -> str:
        """A file of the container's cgroup, read on the host."""
        with open(f"/sys/fs/cgroup/{controller}{self.cgroup_parent}/{cid}/{name}") as f:
            return f.read().strip()


def both(fn, cri, **kw) -> dict:
    """Run a scenario under each handler; {handler: observations}."""
    return {h: fn(cri, h, **kw) for h in cri_env.HANDLERS}


def assert_same(obs: dict) -> None:
    runc, pyrunc = obs["runc"], obs["pyrunc"]
    diff = {k: (runc.get(k), pyrunc.get(k)) for k in sorted(set(runc) | set(pyrunc)) if runc.get(k) != pyrunc.get(k)}
    assert not diff, f"pyrunc differs from runc (key: (runc, pyrunc)): {diff}"


def wait_for(cond, timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# --- the lifecycle: runp/create/start/exec/logs/stats/stop/rm/stopp/rmp --------------

def lifecycle(cri: cri_env.Cri, handler: str) -> dict:
    o: dict = {}
    with Pod(cri, handler) as pod:
        o["pod state"] = pod.state()
        # The CNI bridge and the pod's veth are the daemon's, never the host's.
        o["bridge in the daemon's netns only"] = (
            cri.host("ip", "link", "show", cri.bridge, check=False).returncode == 0
            and not os.path.exists(f"/sys/class/net/{cri.bridge}"))
        cid = pod.create("main", ["sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep 1000"])
        o["created"] = pod.inspect(cid)["status"]["state"]
        cri.crictl("start", cid)
        o["started"] = pod.inspect(cid)["status"]["state"]
        o["pid 1 inside"] = pod.exec(cid, "cat", "/proc/1/cmdline")[1].replace("\0", " ")
        p = cri.crictl("exec", cid, "sh", "-c", "echo exec-out; exit 3", check=False)
        o["exec"] = (p.returncode, p.stdout, "exit code 3" in p.stderr)
        p = cri.crictl("exec", "-i", cid, "cat", input="through stdin\n", check=False)
        o["exec -i"] = (p.returncode, p.stdout)
        code, raw = cri_env.run_in_pty(cri.crictl_argv("exec", "-it", cid, "sh", "-c", "tty; stty size; exit 4"))
        text = raw.decode(errors="replace")
        o["exec -it"] = (code != 0, "/dev/pts/" in text, "not a tty" in text)
        wait_for(lambda: "to-stderr" in cri.crictl("logs", cid, check=False).stderr, what="the logs")
        p = cri.crictl("logs", cid)
        o["logs"] = (p.stdout, p.stderr)
        st = json.loads(cri.crictl("stats", "-o", "json", "--id", cid).stdout)["stats"][0]
        o["stats"] = (int(st["memory"]["workingSetBytes"]["value"]) > 0,
                      int(st["cpu"]["usageCoreNanoSeconds"]["value"]) > 0)
        o["processes in the cgroup"] = len(pod.cgroup_file(cid, "pids", "cgroup.procs").split())
        t = time.monotonic()
        cri.crictl("stop", "-t", "1", cid)  # sleep as pid 1 ignores SIGTERM: KILL after 1 s
        o["stop waited for the grace period"] = time.monotonic() - t >= 0.9
        st = pod.inspect(cid)["status"]
        o["stopped"] = (st["state"], st["exitCode"], st["reason"])
        cri.crictl("rm", cid)
        o["container gone"] = cri.crictl("ps", "-a", "-q", "--pod", pod.id).stdout.split() == []
        o["container cgroup gone"] = not os.path.exists(f"/sys/fs/cgroup/pids{pod.cgroup_parent}/{cid}")
        cri.crictl("stopp", pod.id)
        o["pod stopped"] = pod.state()
        cri.crictl("rmp", pod.id)
        o["pod gone"] = pod.id not in cri.crictl("pods", "-q").stdout
        pod.id = ""
        root = os.path.join(cri.d, f"{handler}-root", "k8s.io")
        o["runtime state left"] = os.listdir(root) if os.path.isdir(root) else []
        # (runc leaves the parent it made for the sandbox; pyrunc removes a parent it made
        # once it is empty: the kubelet makes and removes pod cgroups itself either way.)
        parent = f"/sys/fs/cgroup/pids{pod.cgroup_parent}"
        o["pod cgroup children left"] = sorted(x for x in os.listdir(parent) if os.path.isdir(
            os.path.join(parent, x))) if os.path.isdir(parent) else []
    return o


def test_lifecycle(cri):
    obs = both(lifecycle, cri)
    r = obs["runc"]
    assert r["pod state"] == "SANDBOX_READY" and r["created"] == "CONTAINER_CREATED"
    assert r["bridge in the daemon's netns only"]
    assert r["started"] == "CONTAINER_RUNNING" and r["pid 1 inside"].startswith("sleep 1000")
    assert r["exec"][1] == "exec-out\n" and r["exec"][2] and r["exec -i"] == (0, "through stdin\n")
    assert r["exec -it"] == (True, True, False), r["exec -it"]
    assert r["logs"] == ("to-stdout\n", "to-stderr\n")
    assert r["stopped"] == ("CONTAINER_EXITED", 137, "Error")
    assert r["pod gone"] and r["runtime state left"] == [] and r["pod cgroup children left"] == []
    assert_same(obs)


# --- UpdateContainerResources and an OOM kill ------------------------------------

def update_and_oom(cri: cri_env.Cri, handler: str) -> dict:
    o: dict = {}
    with Pod(cri, handler) as pod:
        cid = pod.run("updated", ["sleep", "1000"], linux={"resources": LIMITS})
        p = cri.crictl("update", "--cpu-share", "256", "--memory", str(96 << 20), "--cpu-quota", "20000",
                       "--cpu-period", "100000", cid, check=False)
        o["update"] = p.returncode
        o["after update"] = (pod.cgroup_file(cid, "cpu", "cpu.shares"), pod.cgroup_file(cid, "cpu", "cpu.cfs_quota_us"),
                             pod.cgroup_file(cid, "memory", "memory.limit_in_bytes"))
        o["still running"] = pod.inspect(cid)["status"]["state"]
        # 16 MiB of memory, and a shell that wants 64 of them.
        hog = pod.run("hog", ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"],
                      linux={"resources": {"memory_limit_in_bytes": 16 << 20}})
        wait_for(lambda: pod.inspect(hog)["status"]["state"] == "CONTAINER_EXITED", 60, "the OOM kill")
        st = pod.inspect(hog)["status"]
        o["oom"] = (st["exitCode"], st["reason"])
    return o


def test_update_and_oom(cri):
    obs = both(update_and_oom, cri)
    r = obs["runc"]
    assert r["update"] == 0 and r["after update"] == ("256", "20000", str(96 << 20))
    assert r["still running"] == "CONTAINER_RUNNING" and r["oom"] == (137, "OOMKilled")
    assert_same(obs)


# --- what the container sees: ids, capabilities, mount table, namespaces ------------

def _mount_table(mountinfo: str) -> list[str]:
    """Mount point, type, per-mount and filesystem options; no ids, sources or sizes."""
    out = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split()
        fs_opts = ",".join(o for o in r[2].split(",") if not o.startswith(("size=", "nr_inodes=", "lowerdir=",
                                                                                "upperdir=", "workdir=", "uuid=")))
        out.append(f"{f[4]} {r[0]} {f[5]} {fs_opts}")
    return out


def view(cri: cri_env.Cri, handler: str) -> dict:
    o: dict = {}
    with Pod(cri, handler) as pod:
        cid = pod.run("view", ["sleep", "1000"])
        o["id"] = pod.exec(cid, "id")[1]
        o["caps"] = [line for line in pod.exec(cid, "cat", "/proc/1/status")[1].splitlines()
                     if line.startswith(("Cap", "NoNewPrivs", "Seccomp"))]
        table = _mount_table(pod.exec(cid, "cat", "/proc/1/mountinfo")[1])
        # /sys/fs/cgroup without a cgroup namespace is the docker helper's ("cgroup bind
        # mounts without cgroupns"): compared in test_cgroup_view_without_cgroupns.
        o["mounts"] = [m for m in table if not m.startswith("/sys/fs/cgroup")]
        o["hostname"] = pod.exec(cid, "hostname")[1]
        o["etc files"] = pod.exec(cid, "sh", "-c", "ls -l /etc/hosts /etc/hostname /etc/resolv.conf | "
                                  "awk '{print $1, $NF}'")[1]
        o["/dev"] = sorted(pod.exec(cid, "ls", "-A", "/dev")[1].split())
        o["rlimit nofile"] = pod.exec(cid, "sh", "-c", "ulimit -n; ulimit -Hn")[1]
        host_pid = pod.host_pid(cid)
        sandbox_pid = cri.host_pid(json.loads(cri.crictl("inspectp", pod.id).stdout)["info"]["pid"])
        o["namespaces shared with the sandbox"] = sorted(
            ns for ns in ("net", "ipc", "uts", "pid", "mnt", "cgroup")
            if os.readlink(f"/proc/{host_pid}/ns/{ns}") == os.readlink(f"/proc/{sandbox_pid}/ns/{ns}"))
    return o


def test_container_view(cri):
    obs = both(view, cri)
    r = obs["runc"]
    assert r["id"].startswith("uid=0(root) gid=0(root)") and r["hostname"] == "pod-runc\n"
    # (no cgroup namespace: the CRI asks for none on a v1 host, so both are the host's)
    assert r["namespaces shared with the sandbox"] == ["cgroup", "ipc", "net", "uts"]
    assert any(m.startswith("/proc proc") for m in r["mounts"])
    obs["pyrunc"]["hostname"] = obs["pyrunc"]["hostname"].replace("pyrunc", "runc")  # the pod names differ
    assert_same(obs)


# --- resources: cpu shares, quota, memory limit, oom_score_adj -----------------------

LIMITS = {"cpu_shares": 512, "cpu_period": 100000, "cpu_quota": 50000, "memory_limit_in_bytes": 64 << 20,
          "oom_score_adj": 500}


def resources(cri: cri_env.Cri, handler: str) -> dict:
    o: dict = {}
    with Pod(cri, handler) as pod:
        cid = pod.run("limited", ["sleep", "1000"], linux={"resources": LIMITS})
        o["host cpu.shares"] = pod.cgroup_file(cid, "cpu", "cpu.shares")
        o["host cpu quota/period"] = (pod.cgroup_file(cid, "cpu", "cpu.cfs_quota_us"),
                                      pod.cgroup_file(cid, "cpu", "cpu.cfs_period_us"))
        o["host memory.limit_in_bytes"] = pod.cgroup_file(cid, "memory", "memory.limit_in_bytes")
        with open(f"/proc/{pod.host_pid(cid)}/oom_score_adj") as f:
            o["host oom_score_adj"] = f.read().strip()
        o["inside oom_score_adj"] = pod.exec(cid, "cat", "/proc/1/oom_score_adj")[1].strip()
        o["exec's oom_score_adj"] = pod.exec(cid, "cat", "/proc/self/oom_score_adj")[1].strip()
        # The sandbox: containerd gives it cpu.shares 2 and, restricted here, the daemon's
        # own oom_score_adj (the pod's resources reach the runtime only as annotations).
        o["sandbox cpu.shares"] = pod.cgroup_file(pod.id, "cpu", "cpu.shares")
        sandbox_pid = cri.host_pid(json.loads(cri.crictl("inspectp", pod.id).stdout)["info"]["pid"])
        with open(f"/proc/{sandbox_pid}/oom_score_adj") as f:
            o["sandbox oom_score_adj"] = f.read().strip()
        o["inside cgroup paths"] = sorted(line.split(":", 2)[1] for line in
                                          pod.exec(cid, "cat", "/proc/self/cgroup")[1].splitlines())
    return o


def test_resources(cri):
    obs = both(resources, cri)
    r = obs["runc"]
    assert r["host cpu.shares"] == "512" and r["host cpu quota/period"] == ("50000", "100000")
    assert r["host memory.limit_in_bytes"] == str(64 << 20)
    assert r["host oom_score_adj"] == r["inside oom_score_adj"] == r["exec's oom_score_adj"] == "500"
    assert r["sandbox cpu.shares"] == "2"
    assert_same(obs)


def cgroup_view(cri: cri_env.Cri, handler: str) -> dict:
    with Pod(cri, handler) as pod:
        cid = pod.run("limited", ["sleep", "1000"], linux={"resources": LIMITS})
        o = {f: pod.exec(cid, "cat", f"/sys/fs/cgroup/{f}")[1].strip() for f in
             ("memory/memory.limit_in_bytes", "cpu/cpu.shares", "cpu/cpu.cfs_quota_us")}
        o["/sys/fs/cgroup mounts"] = [m for m in _mount_table(pod.exec(cid, "cat", "/proc/1/mountinfo")[1])
                                      if m.startswith("/sys/fs/cgroup")]
        return o


def test_cgroup_view_without_cgroupns(cri):
    obs = both(cgroup_view, cri)
    assert obs["runc"]["memory/memory.limit_in_bytes"] == str(64 << 20)
    assert_same(obs)


# --- hostPath mount propagation: None, HostToContainer, Bidirectional -----------------

PROPAGATIONS = {"none": 0, "h2c": 1, "bidi": 2}  # PROPAGATION_PRIVATE, _HOST_TO_CONTAINER, _BIDIRECTIONAL


def _tags(mountinfo: str, target: str) -> str:
    """A mount's propagation as mountinfo shows it, without the group numbers."""
    for line in mountinfo.splitlines():
        fields = line.split(" - ")[0].split()
        if fields[4] == target:
            return ",".join(sorted(t.split(":")[0] for t in fields[6:])) or "private"
    return "absent"


def propagation(cri: cri_env.Cri, handler: str) -> dict:
    o: dict = {}
    base = os.path.join(cri.d, "hostpaths", f"{handler}-{uuid.uuid4().hex[:6]}")
    dirs = {k: os.path.join(base, k) for k in PROPAGATIONS}
    for d in dirs.values():
        os.makedirs(d)
        # The kubelet's precondition: a Bidirectional source lies on a shared mount (a
        # HostToContainer one on a shared or slave mount), in the engine's namespace.
        cri.host("mount", "--bind", d, d)
        cri.host("mount", "--make-shared", d)
    try:
        with Pod(cri, handler) as pod:
            mounts = [{"container_path": f"/mnt/{k}", "host_path": dirs[k], "propagation": v}
                      for k, v in PROPAGATIONS.items()]
            cid = pod.run("prop", ["sleep", "1000"], mounts=mounts,
                          linux={"security_context": {"capabilities": {"add_capabilities": ["SYS_ADMIN"]}}})
            for k, d in dirs.items():
                # After start, the host mounts something under each source.
                os.makedirs(os.path.join(d, "from-host"))
                cri.host("mount", "-t", "tmpfs", "-o", "size=1m", f"host-{k}", os.path.join(d, "from-host"))
                cri.host("touch", os.path.join(d, "from-host", "marker"))
            for k in dirs:
                o[f"{k}: host's later mount seen inside"] = pod.exec(
                    cid, "ls", f"/mnt/{k}/from-host")[1].split() == ["marker"]
            for k in dirs:
                # And the container mounts something under each destination.
                rc, _ = pod.exec(cid, "sh", "-c", f"mkdir -p /mnt/{k}/from-ctr && "
                                 f"mount -t tmpfs -o size=1m ctr-{k} /mnt/{k}/from-ctr && touch /mnt/{k}/from-ctr/m")
                o[f"{k}: mount inside allowed"] = rc == 0
            host_mounts = cri.mountinfo()
            for k, d in dirs.items():
                o[f"{k}: container's mount seen on the host"] = _tags(host_mounts, os.path.join(d, "from-ctr")) \
                    != "absent"
            inside = pod.exec(cid, "cat", "/proc/self/mountinfo")[1]
            for k in dirs:
                o[f"{k}: propagation inside"] = _tags(inside, f"/mnt/{k}")
            spec = pod.inspect(cid)["info"]["runtimeSpec"]
            o["rootfsPropagation asked"] = spec["linux"].get("rootfsPropagation")
    finally:
        cri.host("umount", "-R", base, check=False)  # the container's propagated mounts, then ours
        for d in dirs.values():
            cri.host("umount", "-R", d, check=False)
    return o


#: Deliberate: with a Bidirectional mount containerd asks rootfsPropagation rshared, and
#: pyrunc applies it to the container's / after pivot_root, recursively, as runtime-spec
#: says ("sets the rootfs's mount propagation") and runc does since 1.4 ("fix rootfs
#: propagation mode").  Debian's runc 1.1.5 never did, so its None mount stays private and
#: its HostToContainer mount a pure slave; under pyrunc each also joins a peer group of
#: the container's own.  What reaches the host and what the host reaches is the same.
TAGS_RUNC_115 = {"none": "private", "h2c": "master", "bidi": "shared"}
TAGS_SPEC = {"none": "shared", "h2c": "master,shared", "bidi": "shared"}


def test_mount_propagation(cri):
    obs = both(propagation, cri)
    r = obs["runc"]
    assert r["rootfsPropagation asked"] == "rshared"
    assert [r[f"{k}: host's later mount seen inside"] for k in PROPAGATIONS] == [False, True, True]
    assert [r[f"{k}: container's mount seen on the host"] for k in PROPAGATIONS] == [False, False, True]
    assert {k: r.pop(f"{k}: propagation inside") for k in PROPAGATIONS} == TAGS_RUNC_115
    assert {k: obs["pyrunc"].pop(f"{k}: propagation inside") for k in PROPAGATIONS} == TAGS_SPEC
    assert_same(obs)


# --- a pod cgroup made beforehand, with an empty v1 cpuset ---------------------------

def premade_parent(cri: cri_env.Cri, handler: str) -> dict:
    o: dict = {}
    pod = Pod(cri, handler)
    made = []
    for ctrl in ("cpuset", "cpu", "memory", "pids"):
        d = f"/sys/fs/cgroup/{ctrl}{pod.cgroup_parent}"
        os.makedirs(d)  # as a kubelet does, before the sandbox exists
        made.append(d)
    with open(f"/sys/fs/cgroup/cpuset{pod.cgroup_parent}/cpuset.cpus") as f:
        o["pre-made parent's cpus, before"] = f.read().strip()
    with pod:
        cid = pod.run("c", ["sleep", "1000"])
        o["running"] = pod.inspect(cid)["status"]["state"]
        with open("/sys/fs/cgroup/cpuset/cpuset.cpus") as f:
            root_cpus = f.read().strip()
        with open(f"/sys/fs/cgroup/cpuset{pod.cgroup_parent}/cpuset.cpus") as f:
            o["pre-made parent's cpus filled from its parent"] = f.read().strip() == root_cpus
        o["container's cpus"] = pod.cgroup_file(cid, "cpuset", "cpuset.cpus") == root_cpus
        o["container's mems"] = pod.cgroup_file(cid, "cpuset", "cpuset.mems") != ""
    return o


def test_premade_pod_cgroup_with_empty_cpuset(cri):
    if not os.path.exists("/sys/fs/cgroup/cpuset/cpuset.cpus"):
        pytest.skip("no v1 cpuset hierarchy on this host")
    obs = both(premade_parent, cri)
    r = obs["runc"]
    assert r["pre-made parent's cpus, before"] == "" and r["running"] == "CONTAINER_RUNNING"
    assert r["pre-made parent's cpus filled from its parent"] and r["container's cpus"]
    assert_same(obs)
