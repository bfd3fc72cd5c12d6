"""cProfile of one pyrunc command, every process it forks included: a measurement tool,
never on pyrunc's own paths.  Each process writes OUTDIR/<ns>-<pid>.prof when it exits
or execs (the container's init, after pivot_root: the rootfs's tmp/, so give it a bundle
whose root is writable); os.fork, os._exit (and posix._exit) and os.execve are wrapped here, in this
process only.

    .venv/bin/python -IS bench/profiled.py OUTDIR [pyrunc arguments ...]
    .venv/bin/python bench/profiled.py --show OUTDIR [N]    # the top N of each, cumulative

cProfile adds its own cost per call (about 1.5x on Python-heavy code): read the shares,
not the absolute times.
"""

import cProfile
import os
import posix
import sys
import time


def _show(outdir: str, n: int) -> None:
    import pstats

    for name in sorted(os.listdir(outdir)):
        if name.endswith(".prof"):
            print(f"==== {name}")
            pstats.Stats(os.path.join(outdir, name)).sort_stats("cumulative").print_stats(n)


def main() -> None:
    if sys.argv[1] == "--show":
        _show(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30)
        return
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    launcher = os.path.join(os.path.dirname(sys.executable), "pyrunc")
    with open(launcher) as f:
        for line in f:
            if line.startswith("sys.path.append("):
                sys.path.append(line.split('"')[1])
    prof = [cProfile.Profile()]
    real_fork, real_exit, real_execve = os.fork, os._exit, os.execve

    def dump() -> None:
        # After pivot_root the host's OUTDIR is out of sight: the init writes into the
        # container's /tmp instead (the rootfs's tmp/ on the host).  Never fails the process.
        prof[0].disable()
        name = f"{time.monotonic_ns()}-{os.getpid()}.prof"
        for d in (outdir, "/tmp"):
            try:
                prof[0].dump_stats(os.path.join(d, name))
                return
            except OSError:
                continue

    def fork() -> int:
        pid = real_fork()
        if pid == 0:
            prof[0].disable()
            prof[0] = cProfile.Profile()
            prof[0].enable()
        return pid

    def _exit(code: int) -> None:
        dump()
        real_exit(code)

    def execve(path, argv, env):  # noqa: ANN001 - os.execve's own signature
        dump()
        real_execve(path, argv, env)

    os.fork, os._exit, os.execve = fork, _exit, execve
    posix._exit = _exit  # the cli's own exit (it imports posix, not os)
    sys.argv = [launcher] + sys.argv[2:]
    prof[0].enable()
    from pyrunc.runtime.cli.main import entry

    entry()


if __name__ == "__main__":
    main()
