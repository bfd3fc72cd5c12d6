"""pyrunc beside runc on the same busybox bundle, interleaved, in one run.

Prints the median time of each command for both runtimes and the ratio pyrunc/runc,
and the resident memory (VmRSS) of an init waiting between create and start.

    .venv/bin/python bench/bench.py [--rounds N] [--runc PATH]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import rootfs as rootfs_builder  # noqa: E402

PYRUNC = os.path.join(os.path.dirname(sys.executable), "pyrunc")


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - t


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


#: Docker's default capability set.
DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
               "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
               "CAP_KILL", "CAP_AUDIT_WRITE"]


def default_seccomp_profile() -> dict:
    """A Docker-like default profile, generated here: ERRNO(EPERM) by default, every
    syscall of the native table (libseccomp's names for numbers 0..460) allowed but a
    few, which get argument conditions as Docker's do (personality, clone, socket)."""
    from pyrunc.runtime.linux.seccomp import syscall_names

    conditional = {"personality", "clone", "socket", "kexec_load", "reboot", "bpf", "perf_event_open"}
    allowed = [n for n in syscall_names(0, 460) if n not in conditional]
    rules: list[dict] = [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]
    rules += [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}]} for v in (0x0, 0x8, 0x20000, 0xFFFFFFFF)]
    # clone without any namespace flag (CLONE_NEW* mask 0x7E020000), socket without AF_VSOCK.
    rules.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]})
    rules.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]})
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": rules}


def bundle(base: str, args: list[str], realistic: bool = False, seccomp: bool = False) -> str:
    from pyrunc.spec.defaults import default_config

    b = tempfile.mkdtemp(dir=base)
    os.chmod(b, 0o755)
    shutil.copytree(os.path.join(base, "rootfs"), os.path.join(b, "rootfs"), symlinks=True)
    cfg = default_config()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    if realistic:
        # Docker's defaults and a few hooks: what issue 10 asks create to stay fast with.
        caps = cfg["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] = list(DOCKER_CAPS)
        # ... and a typical resources block (issue 4: create with limits at most runc's).
        cfg["linux"]["resources"].update({"memory": {"limit": 512 << 20}, "pids": {"limit": 1024},
                                          "cpu": {"shares": 512, "quota": 50000, "period": 100000}})
        cfg["linux"]["cgroupsPath"] = "/pyrunc-bench/" + os.path.basename(b)
        true = shutil.which("true") or "/bin/true"
        cfg["hooks"] = {k: [{"path": true, "args": ["true", k]}] for k in ("createRuntime", "poststart", "poststop")}
    if seccomp:
        cfg["linux"]["seccomp"] = default_seccomp_profile()
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    return b


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--runc", default=shutil.which("runc") or "runc")
    a = ap.parse_args()
    base = tempfile.mkdtemp(prefix="pyrunc-bench-")
    os.chmod(base, 0o755)
    roots = base
    try:
        rootfs_builder.build(os.path.join(base, "rootfs"))
        true_b = bundle(base, ["true"])
        sleep_b = bundle(base, ["sleep", "1000"])
        real_b = bundle(base, ["sleep", "1000"], realistic=True)
        seccomp_b = bundle(base, ["sleep", "1000"], seccomp=True)
        # State roots on /run (tmpfs), where both runtimes keep them by default.
        roots = tempfile.mkdtemp(prefix="pyrunc-bench-", dir="/run")
        runtimes = {"pyrunc": [PYRUNC, "--root", os.path.join(roots, "pyrunc")],
                    "runc": [a.runc, "--root", os.path.join(roots, "runc")]}
        ops = ["run /bin/true", "create", "state", "start", "kill", "delete", "create (docker+limits)",
               "create (seccomp profile)"]
        times: dict[str, dict[str, list[float]]] = {r: {o: [] for o in ops} for r in runtimes}
        rss: dict[str, list[int]] = {r: [] for r in runtimes}
        for i in range(a.rounds):
            for name, rt in runtimes.items():  # interleaved: one round of each, in turn
                cid = f"bench-{i}"
                times[name]["run /bin/true"].append(timed(rt + ["run", "-b", true_b, cid]))
                times[name]["create"].append(timed(rt + ["create", "-b", sleep_b, cid]))
                st = json.loads(subprocess.run(rt + ["state", cid], capture_output=True, check=True).stdout)
                rss[name].append(rss_kib(st["pid"]))
                times[name]["state"].append(timed(rt + ["state", cid]))
                times[name]["start"].append(timed(rt + ["start", cid]))
                times[name]["kill"].append(timed(rt + ["kill", cid, "KILL"]))
                deadline = time.time() + 10
                while json.loads(subprocess.run(rt + ["state", cid], capture_output=True).stdout)["status"] \
                        != "stopped" and time.time() < deadline:
                    time.sleep(0.01)
                times[name]["delete"].append(timed(rt + ["delete", cid]))
                times[name]["create (docker+limits)"].append(timed(rt + ["create", "-b", real_b, cid]))
                subprocess.run(rt + ["delete", "--force", cid], capture_output=True, check=True)
                times[name]["create (seccomp profile)"].append(timed(rt + ["create", "-b", seccomp_b, cid]))
                subprocess.run(rt + ["delete", "--force", cid], capture_output=True, check=True)
        print(f"{'operation':<26}{'pyrunc ms':>12}{'runc ms':>12}{'ratio':>9}   ({a.rounds} rounds, medians)")
        for o in ops:
            p = statistics.median(times["pyrunc"][o]) * 1000
            r = statistics.median(times["runc"][o]) * 1000
            print(f"{o:<26}{p:>12.1f}{r:>12.1f}{p / r:>9.2f}")
        floor = statistics.median(timed([sys.executable, "-IS", "-c", "pass"]) for _ in range(a.rounds)) * 1000
        print(f"{'(python -IS -c pass: ' + format(floor, '.1f') + ' ms, the floor of every pyrunc command)'}")
        p, r = statistics.median(rss["pyrunc"]), statistics.median(rss["runc"])
        print(f"{'waiting init RSS':<26}{p:>9.0f} KiB{r:>9.0f} KiB{p / r:>9.2f}")
    finally:
        for name, rt in (("pyrunc", [PYRUNC]), ("runc", [a.runc])):
            root = os.path.join(roots, name)
            if os.path.isdir(root):
                for cid in os.listdir(root):
                    subprocess.run(rt + ["--root", root, "delete", "--force", cid], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(roots, ignore_errors=True)
        for ctrl in os.listdir("/sys/fs/cgroup"):
            try:
                os.rmdir(f"/sys/fs/cgroup/{ctrl}/pyrunc-bench")
            except OSError:
                pass


if __name__ == "__main__":
    main()
