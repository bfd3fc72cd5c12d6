"""pyrunc beside runc under Docker, interleaved, in one run: the engine's view of speed.

A dockerd of its own (tests/engines/dockerd.py: private roots, its own network namespace
and cgroup parent) runs, round after round and alternating the runtime, ``docker run --rm
IMG true`` and ``docker exec CID true``, then a Podman of its own (tests/engines/podman_env.py) runs
``podman run --rm IMG true`` the same way; it prints the medians and the ratio pyrunc/runc.
Each runtime is also registered once more behind a small timing wrapper, so that the
commands the runc v2 shim runs (create, start, state, kill, delete, exec...) are timed as
the shim sees them.

    .venv/bin/python bench/engines.py [--rounds N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import rootfs as rootfs_builder  # noqa: E402
from engines import dockerd as engine  # noqa: E402
from engines import podman_env  # noqa: E402

RUNC = "/usr/sbin/runc"

#: The wrapper: runs the runtime, then appends "<command> <microseconds>" to a log. The
#: command is the first argument that is neither a global flag nor a global flag's value.
WRAPPER = """#!/bin/sh
s=$(date +%s%N)
{runtime} "$@"
rc=$?
e=$(date +%s%N)
cmd=""
skip=""
for a in "$@"; do
  if [ -n "$skip" ]; then skip=""; continue; fi
  case "$a" in
    --root|--log|--log-format|--criu) skip=1 ;;
    -*) ;;
    *) cmd="$a"; break ;;
  esac
done
echo "$cmd $(( (e - s) / 1000 ))" >> {log}
exit $rc
"""


def timed(argv: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - t


def row(name: str, runc: list[float], pyrunc: list[float], unit: float = 1000) -> str:
    r, p = statistics.median(runc) * unit, statistics.median(pyrunc) * unit
    return f"| {name} | {p:.1f} | {r:.1f} | {p / r:.2f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    if not engine.available():
        sys.exit("bench/engines.py: Debian's docker.io (dockerd, docker) is not installed")
    work = tempfile.mkdtemp(prefix="pyrunc-bench-engines-")
    rootfs = rootfs_builder.build(os.path.join(work, "rootfs"))
    runtimes = {"pyrunc": engine.PYRUNC}
    logs = {}
    for rt, path in (("runc", RUNC), ("pyrunc", engine.PYRUNC)):
        logs[rt] = os.path.join(work, f"{rt}-times.log")
        wrapper = os.path.join(work, f"timed-{rt}")
        with open(wrapper, "w") as f:
            f.write(WRAPPER.format(runtime=path, log=logs[rt]))
        os.chmod(wrapper, 0o755)
        runtimes[f"timed-{rt}"] = wrapper
    times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with engine.dockerd(rootfs, runtimes) as dk:
        run = [engine.DOCKER, "run", "--rm", "--network", "none", "--runtime"]
        for rt in ("runc", "pyrunc"):  # warm the page cache and the daemon's image store
            timed([*run, rt, engine.IMAGE, "true"], dk.env)
        cids = {rt: dk.detached(rt, "--network", "none", engine.IMAGE, "sleep", "1000") for rt in ("runc", "pyrunc")}
        for i in range(args.rounds):
            order = ("runc", "pyrunc") if i % 2 == 0 else ("pyrunc", "runc")
            for rt in order:
                times["docker run --rm IMG true"][rt].append(timed([*run, rt, engine.IMAGE, "true"], dk.env))
                times["docker exec CID true"][rt].append(timed([engine.DOCKER, "exec", cids[rt], "true"], dk.env))
                timed([*run, f"timed-{rt}", engine.IMAGE, "true"], dk.env)
        dk.remove(*cids.values())
        # The shim's own commands, through the wrappers (exec under the wrapped runtime too).
        for rt in ("runc", "pyrunc"):
            cid = dk.detached(f"timed-{rt}", "--network", "none", engine.IMAGE, "sleep", "1000")
            for _ in range(args.rounds):
                timed([engine.DOCKER, "exec", cid, "true"], dk.env)
            dk.remove(cid)
    print(f"Docker {args.rounds} interleaved rounds, medians (ms)\n")
    print("| | pyrunc | runc | ratio |\n|---|---|---|---|")
    for name, by in times.items():
        print(row(name, by["runc"], by["pyrunc"]))
    shim: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rt, log in logs.items():
        with open(log) as f:
            for line in f:
                cmd, us = line.split()
                shim[cmd or "?"][rt].append(int(us) / 1e6)
    print("\nthe runtime's commands as the runc v2 shim runs them (through a timing wrapper), medians (ms)\n")
    print("| command | pyrunc | runc | ratio | calls (each) |\n|---|---|---|---|---|")
    for cmd, by in sorted(shim.items()):
        if by["runc"] and by["pyrunc"]:
            print(row(cmd, by["runc"], by["pyrunc"]) + f" {len(by['pyrunc'])} |")
    podman_rounds(rootfs, args.rounds)
    subprocess.run(["rm", "-rf", work], check=False)


def podman_rounds(rootfs: str, rounds: int) -> None:
    """``podman run --rm IMG true`` under runc and pyrunc, alternating, in a private Podman."""
    why = podman_env.missing()
    if why:
        print(f"\nPodman: skipped ({why})")
        return
    pm = podman_env.Podman(rootfs)
    times: dict[str, list[float]] = defaultdict(list)
    try:
        pm.start()
        argv = {rt: pm.argv(rt, "run", "--pull", "never", "--cgroup-parent", pm.cgroup_parent, "--rm",
                            "--network", "none", podman_env.IMAGE, "true") for rt in ("runc", "pyrunc")}
        for rt in ("runc", "pyrunc"):  # warm the page cache and the image store
            timed(argv[rt], pm.env())
        for i in range(rounds):
            for rt in (("runc", "pyrunc") if i % 2 == 0 else ("pyrunc", "runc")):
                times[rt].append(timed(argv[rt], pm.env()))
    finally:
        pm.close()
    print(f"\nPodman {rounds} interleaved rounds, medians (ms)\n")
    print("| | pyrunc | runc | ratio |\n|---|---|---|---|")
    print(row("podman run --rm IMG true", times["runc"], times["pyrunc"]))


if __name__ == "__main__":
    main()
