"""Scenarios over the command line: each command with runc's flags, in the orders runc
accepts, and the failure paths (missing bundle, bad id, wrong state, bad signal, missing
container), comparing exit code and text."""

import os

from harness import JSON_PATH, Call, Collect, Scenario, Shell, Snapshot, WaitOutput, WaitStopped, field

CREATE = Call(["create", "--bundle", "{bundle}", "{id}"])
CREATE2 = Call(["create", "--bundle", "{bundle}", "{id2}"])
START = Call(["start", "{id}"])
KILL = Call(["kill", "{id}", "KILL"])
DELETE = Call(["delete", "{id}"])
FORCE = Call(["delete", "--force", "{id}"])
STATE = Call(["state", "{id}"])


def C(*args: str, **kw) -> Call:
    return Call(list(args), **kw)


def held(name: str, *middle, **kw) -> Scenario:
    """create, start, wait until the probe has printed (it stays), then ``middle``, then
    kill and delete."""
    return Scenario(name, [CREATE, START, WaitOutput(), *middle, KILL, WaitStopped(), DELETE], hold=True, **kw)


def created(name: str, *middle, **kw) -> Scenario:
    """create (the init waits on the exec FIFO), then ``middle``, then delete --force."""
    return Scenario(name, [CREATE, *middle, FORCE], hold=True, **kw)


def nobundle(name: str, *calls, **kw) -> Scenario:
    return Scenario(name, list(calls), probe=False, **kw)


SCENARIOS: list[Scenario] = []

# ---------------------------------------------------------------- global flags and help
SCENARIOS += [
    nobundle("cli-no-args", Call([], global_args=[])),
    nobundle("cli-unknown-command", C("nosuch")),
    nobundle("cli-unknown-global-flag", Call(["--nosuch", "list"], global_args=[])),
    nobundle("cli-help-unknown-topic", C("help", "nosuch")),
    nobundle("cli-log-format-bad", Call(["--log-format", "yaml", "list"], global_args=["--root", "{root}"])),
    nobundle("cli-root-is-file", Call(["list"], global_args=["--root", "/etc/hostname"])),
    nobundle("cli-root-relative", Call(["list"], global_args=["--root", "relative-root"], cwd="{tmp}")),
    nobundle("cli-checkpoint", C("checkpoint", "x")),
    nobundle("cli-restore", C("restore", "x")),
    nobundle("cli-version", Call(["--version"], global_args=[])),
    nobundle("cli-version-short", Call(["-v"], global_args=[])),
    nobundle("cli-help", Call(["--help"], global_args=[])),
    nobundle("cli-help-command", C("help", "create")),
    nobundle("cli-create-help", C("create", "--help")),
    nobundle("cli-kill-help", C("kill", "-h")),
    Scenario("cli-debug-run", [Call(["run", "--bundle", "{bundle}", "{id}"],
                                    global_args=["--debug", "--root", "{root}"])],
             change=lambda c: c["process"].update(args=["true"])),
    Scenario("cli-debug-create-fails", [Call(["create", "--bundle", "{bundle}", "{id}"],
                                             global_args=["--root", "{root}", "--debug"])],
             change=lambda c: c["process"].update(args=["/nosuch"]), probe=False),
    nobundle("cli-systemd-cgroup", Call(["--systemd-cgroup", "create", "--bundle", "{bundle}", "{id}"],
                                        global_args=["--root", "{root}"])),
]

# ---------------------------------------------------------------- commands without the container they name
for cmd in (["state"], ["start"], ["kill"], ["kill", "--all"], ["delete"], ["delete", "--force"], ["pause"],
            ["resume"], ["ps"], ["exec"], ["update", "--memory", "1M"], ["events", "--stats"]):
    nm = "-".join(x.strip("-") for x in cmd)
    SCENARIOS.append(nobundle(f"cli-{nm}-missing", C(*cmd, "nosuch"),
                              deliberate={}))
# ... without an id at all
for cmd in ("state", "start", "kill", "delete", "pause", "resume", "ps", "exec", "update", "events",
            "create", "run"):
    SCENARIOS.append(nobundle(f"cli-{cmd}-no-id", C(cmd)))
# ... with too many
for cmd in ("state", "start", "create", "run", "pause", "resume"):
    SCENARIOS.append(nobundle(f"cli-{cmd}-two-ids", C(cmd, "a", "b")))
# ... with ids runc refuses
# (each built on the run's own id, so that an id one runtime accepts is still cleaned up)
for label, cid in (("dotdot", ".."), ("slash", "{id}/b"), ("dot-slash", "./{id}"), ("space", "{id} b"),
                   ("long", "{id}" + "x" * 1025), ("dash-start", "-{id}"), ("unicode", "{id}caf\u00e9"),
                   ("plus-dot", "{id}+a.b_c")):
    SCENARIOS.append(Scenario(f"cli-create-bad-id-{label}", [Call(["create", "--bundle", "{bundle}", "--", cid])],
                              probe=True))
    SCENARIOS.append(nobundle(f"cli-state-bad-id-{label}", C("state", "--", cid)))

# ---------------------------------------------------------------- bundles that are not right
SCENARIOS += [
    nobundle("cli-create-bundle-missing", C("create", "--bundle", "/nonexistent/bundle", "{id}")),
    nobundle("cli-create-bundle-file", C("create", "--bundle", "/etc/hostname", "{id}")),
    Scenario("cli-create-no-config", [Shell(lambda v: os.unlink(os.path.join(v["bundle"], "config.json"))),
                                      CREATE]),
    Scenario("cli-create-config-empty", [Shell(lambda v: open(os.path.join(v["bundle"], "config.json"), "w").close()),
                                         CREATE]),
    Scenario("cli-create-config-not-json", [Shell(lambda v: open(os.path.join(v["bundle"], "config.json"),
                                                                 "w").write("{nope")), CREATE]),
    Scenario("cli-create-config-array", [Shell(lambda v: open(os.path.join(v["bundle"], "config.json"),
                                                              "w").write("[]")), CREATE]),
    Scenario("cli-create-cwd-bundle", [Call(["create", "{id}"], cwd="{bundle}"), Snapshot(), START, WaitOutput(),
                                       WaitStopped(), DELETE]),
    Scenario("cli-create-bundle-equals", [Call(["create", "--bundle={bundle}", "{id}"]), FORCE]),
    Scenario("cli-create-bundle-short", [Call(["create", "-b", "{bundle}", "{id}"]), FORCE]),
    Scenario("cli-create-single-dash-flag", [Call(["create", "-bundle", "{bundle}", "{id}"]), FORCE]),
    Scenario("cli-create-flag-after-id", [Call(["create", "{id}", "--bundle", "{bundle}"], cwd="{bundle}"), FORCE]),
    Scenario("cli-create-unknown-flag", [Call(["create", "--nosuch", "--bundle", "{bundle}", "{id}"])]),
    Scenario("cli-create-existing-id", [CREATE, CREATE, FORCE], hold=True),
    Scenario("cli-create-pid-file", [Call(["create", "--pid-file", "{tmp}/c.pid", "--bundle", "{bundle}", "{id}"]),
                                     Collect("*.pid"), FORCE], hold=True),
    Scenario("cli-create-pid-file-relative", [Call(["create", "--pid-file", "c.pid", "--bundle", "{bundle}", "{id}"],
                                                   cwd="{tmp}"), Collect("*.pid"), FORCE], hold=True),
    Scenario("cli-create-pid-file-bad-dir", [Call(["create", "--pid-file", "/nonexistent/c.pid",
                                                   "--bundle", "{bundle}", "{id}"]), FORCE], hold=True),
    Scenario("cli-create-no-new-keyring", field(create=["--no-new-keyring"])),
    Scenario("cli-create-preserve-fds-0", field(create=["--preserve-fds", "0"])),
    Scenario("cli-create-preserve-fds-bad", [Call(["create", "--preserve-fds", "x", "--bundle", "{bundle}",
                                                   "{id}"])]),
    Scenario("cli-create-preserve-fds-negative", [Call(["create", "--preserve-fds", "-1", "--bundle", "{bundle}",
                                                        "{id}"]), FORCE]),
    Scenario("cli-create-console-socket-no-terminal", [Call(["create", "--console-socket", "{tmp}/nosuch.sock",
                                                             "--bundle", "{bundle}", "{id}"]), FORCE]),
    Scenario("cli-create-terminal-no-console-socket", [CREATE, FORCE],
             change=lambda c: c["process"].update(terminal=True)),
    Scenario("cli-create-console-socket-missing", [Call(["create", "--console-socket", "{tmp}/nosuch.sock",
                                                         "--bundle", "{bundle}", "{id}"]), FORCE],
             change=lambda c: c["process"].update(terminal=True)),
]

# ---------------------------------------------------------------- wrong state
SCENARIOS += [
    held("cli-start-running", START),
    Scenario("cli-start-stopped", [CREATE, START, WaitOutput(), WaitStopped(), START, DELETE]),
    created("cli-pause-created", C("pause", "{id}"), STATE),
    created("cli-resume-created", C("resume", "{id}")),
    held("cli-resume-running", C("resume", "{id}")),
    held("cli-pause-resume", C("pause", "{id}"), STATE, C("pause", "{id}"), C("resume", "{id}"), STATE),
    held("cli-delete-running", DELETE, STATE),
    held("cli-delete-paused-force", C("pause", "{id}"), FORCE, STATE),
    created("cli-delete-created", DELETE),
    created("cli-kill-created", C("kill", "{id}", "KILL"), WaitStopped(), STATE),
    Scenario("cli-kill-stopped", [CREATE, START, WaitOutput(), WaitStopped(), C("kill", "{id}", "KILL"),
                                  C("kill", "{id}"), DELETE]),
    Scenario("cli-kill-all-stopped", [CREATE, START, WaitOutput(), WaitStopped(), C("kill", "--all", "{id}", "KILL"),
                                      DELETE]),
    Scenario("cli-exec-stopped", [CREATE, START, WaitOutput(), WaitStopped(), C("exec", "{id}", "true"), DELETE]),
    created("cli-exec-created", C("exec", "{id}", "true")),
    Scenario("cli-delete-stopped-twice", [CREATE, START, WaitOutput(), WaitStopped(), DELETE, DELETE]),
    held("cli-update-paused", C("pause", "{id}"), C("update", "--pids-limit", "50", "{id}"), C("resume", "{id}")),
    Scenario("cli-update-stopped", [CREATE, START, WaitOutput(), WaitStopped(),
                                    C("update", "--pids-limit", "50", "{id}"), DELETE]),
    Scenario("cli-pause-stopped", [CREATE, START, WaitOutput(), WaitStopped(), C("pause", "{id}"), DELETE]),
    Scenario("cli-ps-stopped", [CREATE, START, WaitOutput(), WaitStopped(), C("ps", "{id}"), DELETE]),
]

# ---------------------------------------------------------------- signals
for sig in ("KILL", "SIGKILL", "9", "TERM", "SIGTERM", "15", "kill", "sigusr1", "USR1", "SIGRTMIN", "SIGRTMIN+1",
            "SIGRTMAX", "64", "HUP"):
    SCENARIOS.append(created(f"cli-kill-signal-{sig}", C("kill", "{id}", sig), WaitStopped(timeout=1, soft=True),
                             STATE))
for sig in ("FOO", "SIGFOO", "999", "-9", "0x9", "", "65", "SIGRTMAX+1"):
    SCENARIOS.append(created(f"cli-kill-bad-signal-{sig or 'empty'}", C("kill", "{id}", sig)))
SCENARIOS += [
    created("cli-kill-default-signal", C("kill", "{id}"), WaitStopped(timeout=2, soft=True), STATE),
    created("cli-kill-all-flag-first", C("kill", "--all", "{id}", "KILL"), WaitStopped(), STATE),
    created("cli-kill-all-short", C("kill", "-a", "{id}", "KILL"), WaitStopped(), STATE),
    created("cli-kill-three-args", C("kill", "{id}", "KILL", "extra")),
    held("cli-kill-0", C("kill", "{id}", "0"), STATE),
]

# ---------------------------------------------------------------- state, list, ps, events
SCENARIOS += [
    created("cli-list-created", C("list"), C("list", "-q"), C("list", "--format", "json"), C("list", "--quiet")),
    held("cli-list-running", C("list"), C("list", "--format=json"), C("list", "-f", "table")),
    nobundle("cli-list-empty", C("list"), C("list", "--format", "json"), C("list", "-q")),
    nobundle("cli-list-bad-format", C("list", "--format", "yaml")),
    held("cli-list-two", CREATE2, C("list", "-q"), C("list"), C("delete", "--force", "{id2}")),
    held("cli-ps", C("ps", "{id}")),
    held("cli-ps-json", C("ps", "--format", "json", "{id}")),
    held("cli-ps-args", C("ps", "{id}", "-o", "pid,comm")),
    held("cli-ps-args-dashdash", C("ps", "{id}", "--", "-o", "pid,comm")),
    held("cli-ps-bad-format", C("ps", "--format", "yaml", "{id}")),
    created("cli-ps-created", C("ps", "--format", "json", "{id}")),
    held("cli-state-running", STATE),
    held("cli-state-paused", C("pause", "{id}"), STATE, C("resume", "{id}")),
    held("cli-events-stats", C("events", "--stats", "{id}")),
    held("cli-events-interval-bad", C("events", "--interval", "x", "{id}")),
]

# ---------------------------------------------------------------- exec
for name, args in [
    ("cli-exec", ["exec", "{id}", "sh", "-c", "echo exec; id"]),
    ("cli-exec-stdio", ["exec", "{id}", "sh", "-c", "for n in 0 1 2; do echo $n $(readlink /proc/$$/fd/$n); done"]),
    ("cli-exec-env", ["exec", "--env", "A=1", "-e", "B=2", "{id}", "sh", "-c", "echo $A$B"]),
    ("cli-exec-cwd", ["exec", "--cwd", "/tmp", "{id}", "pwd"]),
    ("cli-exec-cwd-missing", ["exec", "--cwd", "/nosuch", "{id}", "pwd"]),
    ("cli-exec-user", ["exec", "--user", "1000:1000", "{id}", "id"]),
    ("cli-exec-user-uid", ["exec", "-u", "1000", "{id}", "id"]),
    ("cli-exec-user-name", ["exec", "--user", "nobody", "{id}", "id"]),
    ("cli-exec-additional-gids", ["exec", "--user", "1000:1000", "--additional-gids", "5", "{id}", "id"]),
    ("cli-exec-missing-program", ["exec", "{id}", "/nosuch"]),
    ("cli-exec-exit-code", ["exec", "{id}", "sh", "-c", "exit 7"]),
    ("cli-exec-no-args", ["exec", "{id}"]),
    ("cli-exec-double-dash", ["exec", "{id}", "--", "echo", "x"]),
    ("cli-exec-cap", ["exec", "--cap", "CAP_SYS_ADMIN", "{id}", "sh", "-c", "grep Cap /proc/self/status"]),
    ("cli-exec-no-new-privs", ["exec", "--no-new-privs", "{id}", "grep", "NoNewPrivs", "/proc/self/status"]),
    ("cli-exec-detach", ["exec", "-d", "{id}", "true"]),
    ("cli-exec-pid-file", ["exec", "-d", "--pid-file", "{tmp}/e.pid", "{id}", "true"]),
    ("cli-exec-tty-no-terminal", ["exec", "-t", "{id}", "true"]),
    ("cli-exec-process-missing", ["exec", "--process", "/nonexistent.json", "{id}"]),
    ("cli-exec-unknown-flag", ["exec", "--nosuch", "{id}", "true"]),
    ("cli-exec-env-no-equals", ["exec", "--env", "NOEQ", "{id}", "sh", "-c", "env | grep -c NOEQ"]),
    ("cli-exec-preserve-fds", ["exec", "--preserve-fds", "0", "{id}", "true"]),
    ("cli-exec-ignore-paused", ["exec", "--ignore-paused", "{id}", "true"]),
    ("cli-exec-apparmor", ["exec", "--apparmor", "unconfined", "{id}", "true"]),
    ("cli-exec-label", ["exec", "--process-label", "x", "{id}", "true"]),
]:
    SCENARIOS.append(held(name, C(*args), Collect("*.pid")))
# --preserve-fds N with fds the caller did not open: runc refuses before anything starts
# (utils_linux.go, runner.run: "unable to stat preserved-fd I (of N)"), exit 255 for exec,
# 1 for create/run, nothing left behind.  The harness's caller passes only stdio.
PRESERVE_UNOPENED = ("runc 1.1.5 stats /proc/self/fd/N in its own process, where its own fds (the "
                     "/sys/fs/cgroup handle, epoll) sit at 3..6 and pass the check (and leak into the "
                     "container); pyrunc names the first fd the caller did not open (same text, smaller index)")
SCENARIOS += [
    held("cli-exec-preserve-fds-unopened", C("exec", "--preserve-fds", "10", "{id}", "true"),
         deliberate={"call* exec.stderr": PRESERVE_UNOPENED}),
    Scenario("cli-create-preserve-fds-unopened", [Call(["create", "--preserve-fds", "10", "--bundle", "{bundle}",
                                                        "{id}"]), FORCE],
             deliberate={"call0 create.stderr": PRESERVE_UNOPENED}),
    Scenario("cli-run-preserve-fds-unopened", [Call(["run", "-d", "--preserve-fds", "10", "--bundle", "{bundle}",
                                                     "{id}"]), FORCE],
             deliberate={"call0 run.stderr": PRESERVE_UNOPENED}),
]
# --cgroup's syntax: runc parses it right after the process is read, before the terminal,
# --preserve-fds and caller-terminal checks of runner.run (exec.go getSubCgroupPaths, 1.1.5
# and 1.5 in that order); 1.1.5's texts.
for name, args in [
    ("cli-exec-cgroup-two-colons", ["--cgroup", "pids:a:b"]),
    ("cli-exec-cgroup-no-prefix-of-two", ["--cgroup", "pids:/a", "--cgroup", "b"]),
    ("cli-exec-cgroup-bad-tty-detach", ["-t", "-d", "--cgroup", "a:b:c"]),
    ("cli-exec-cgroup-bad-tty", ["-t", "--cgroup", "x", "--cgroup", "y"]),
    ("cli-exec-cgroup-bad-preserve-fds", ["--preserve-fds", "10", "--cgroup", "a:b:c"]),
]:
    SCENARIOS.append(held(name, C("exec", *args, "{id}", "true")))
SCENARIOS.append(held("cli-exec-process-file",
                      Shell(lambda v: open(os.path.join(v["tmp"], "p.json"), "w").write(
                          '{"args": ["sh", "-c", "echo from-process-file; id -u"], "cwd": "/tmp", '
                          '"env": ["PATH=/bin"], "user": {"uid": 1000, "gid": 1000}}')),
                      C("exec", "--process", "{tmp}/p.json", "{id}")))
SCENARIOS.append(held("cli-exec-process-bad-json",
                      Shell(lambda v: open(os.path.join(v["tmp"], "p.json"), "w").write("{nope")),
                      C("exec", "--process", "{tmp}/p.json", "{id}")))
SCENARIOS.append(held("cli-exec-paused", C("pause", "{id}"), C("exec", "{id}", "true"), C("resume", "{id}")))
# exec -t: runc checks the container (exists, not stopped, not paused), the process, the
# --tty/--detach/--console-socket combination, then the caller's terminal (exec.go, then
# utils_linux.go's runner.run -> setupIO -> initHostConsole); under `script` or not.
for tty in (False, True):
    t = "-terminal" if tty else ""
    SCENARIOS += [
        nobundle(f"cli-exec-tty-missing{t}", C("exec", "-t", "nosuch", "true", tty=tty)),
        Scenario(f"cli-exec-tty-stopped{t}", [CREATE, START, WaitOutput(), WaitStopped(),
                                              C("exec", "-t", "{id}", "true", tty=tty), DELETE]),
        held(f"cli-exec-tty-paused{t}", C("pause", "{id}"), C("exec", "-t", "{id}", "true", tty=tty),
             C("resume", "{id}")),
        held(f"cli-exec-tty-no-args{t}", C("exec", "-t", "{id}", tty=tty)),
        held(f"cli-exec-tty-detach{t}", C("exec", "-t", "-d", "{id}", "true", tty=tty)),
        held(f"cli-exec-tty-bad-process{t}",
             Shell(lambda v: open(os.path.join(v["tmp"], "p.json"), "w").write("{nope")),
             C("exec", "-t", "--process", "{tmp}/p.json", "{id}", tty=tty),
             # on a terminal the error is the call's output: the harness's stderr rule
             # for pyrunc's own JSON error text does not reach it
             deliberate={"call* exec.stdout": JSON_PATH} if tty else {}),
        Scenario(f"cli-exec-tty-stopped-no-args{t}", [CREATE, START, WaitOutput(), WaitStopped(),
                                                      C("exec", "-t", "{id}", tty=tty), DELETE]),
        Scenario(f"cli-exec-tty-stopped-bad-process{t}", [
            CREATE, START, WaitOutput(), WaitStopped(),
            Shell(lambda v: open(os.path.join(v["tmp"], "p.json"), "w").write("{nope")),
            C("exec", "-t", "--process", "{tmp}/p.json", "{id}", tty=tty), DELETE]),
    ]

# ---------------------------------------------------------------- update
for name, args in [
    ("cli-update-memory", ["update", "--memory", "67108864", "{id}"]),
    ("cli-update-memory-suffix", ["update", "--memory", "64M", "{id}"]),
    ("cli-update-pids", ["update", "--pids-limit", "100", "{id}"]),
    ("cli-update-cpu-shares", ["update", "--cpu-shares", "512", "{id}"]),
    ("cli-update-cpu-quota", ["update", "--cpu-quota", "50000", "--cpu-period", "100000", "{id}"]),
    ("cli-update-cpuset", ["update", "--cpuset-cpus", "0", "{id}"]),
    ("cli-update-blkio", ["update", "--blkio-weight", "300", "{id}"]),
    ("cli-update-bad-value", ["update", "--memory", "lots", "{id}"]),
    ("cli-update-flags-after-id", ["update", "{id}", "--memory", "67108864"]),
    ("cli-update-no-flags", ["update", "{id}"]),
    ("cli-update-resources-stdin", ["update", "--resources", "-", "{id}"]),
    ("cli-update-resources-missing", ["update", "--resources", "/nonexistent.json", "{id}"]),
]:
    stdin = '{"pids": {"limit": 77}}' if "stdin" in name else None
    SCENARIOS.append(held(name, Call(args, stdin=stdin), Snapshot()))

# ---------------------------------------------------------------- run
SCENARIOS += [
    Scenario("cli-run-detach-short", [Call(["run", "-d", "--bundle", "{bundle}", "{id}"]), WaitOutput(),
                                      WaitStopped(), STATE, DELETE]),
    Scenario("cli-run-exit-code", [Call(["run", "--bundle", "{bundle}", "{id}"])],
             change=lambda c: c["process"].update(args=["sh", "-c", "exit 42"])),
    Scenario("cli-run-killed", [Call(["run", "--bundle", "{bundle}", "{id}"])],
             change=lambda c: c["process"].update(args=["sh", "-c", "kill -9 $$"])),
    Scenario("cli-run-pid-file", [Call(["run", "-d", "--pid-file", "{tmp}/r.pid", "--bundle", "{bundle}", "{id}"]),
                                  WaitOutput(), WaitStopped(), Collect("*.pid"), DELETE]),
    Scenario("cli-run-keep", [Call(["run", "--keep", "--bundle", "{bundle}", "{id}"]), STATE, DELETE],
             change=lambda c: c["process"].update(args=["true"])),
    Scenario("cli-run-no-subreaper", [Call(["run", "--no-subreaper", "--bundle", "{bundle}", "{id}"])],
             change=lambda c: c["process"].update(args=["true"])),
    Scenario("cli-run-missing-bundle", [Call(["run", "--bundle", "/nonexistent", "{id}"])], probe=False),
    Scenario("cli-run-existing-id", [CREATE, Call(["run", "--bundle", "{bundle}", "{id}"]), FORCE], hold=True),
    Scenario("cli-run-detach-keep", [Call(["run", "-d", "--keep", "--bundle", "{bundle}", "{id}"]), WaitOutput(),
                                      FORCE], hold=True),
    Scenario("cli-start-two-created", [CREATE, CREATE2, C("start", "{id}", "{id2}"), STATE,
                                       C("delete", "-f", "{id}"), C("delete", "-f", "{id2}")], hold=True),
    Scenario("cli-delete-two-ids", [CREATE, CREATE2, C("delete", "-f", "{id}", "{id2}"), STATE], hold=True),
    Scenario("cli-kill-missing-then-delete", [C("kill", "{id}", "KILL"), DELETE], probe=False),
]

# ---------------------------------------------------------------- spec, features, version, --log
SCENARIOS += [
    nobundle("cli-spec", C("spec", "--bundle", "{tmp}"), Collect("config.json")),
    nobundle("cli-spec-rootless", C("spec", "--rootless", "--bundle", "{tmp}"), Collect("config.json")),
    nobundle("cli-spec-exists", C("spec", "--bundle", "{tmp}"), C("spec", "--bundle", "{tmp}")),
    nobundle("cli-spec-missing-dir", C("spec", "--bundle", "/nonexistent/dir")),
    nobundle("cli-spec-cwd", Call(["spec"], cwd="{tmp}"), Collect("config.json")),
    Scenario("cli-log-json", [Call(["create", "--bundle", "{bundle}", "{id}"],
                                   global_args=["--root", "{root}", "--log", "{tmp}/log.json",
                                                "--log-format", "json"]), Collect("log.json")],
             change=lambda c: c["process"].update(args=["/nosuch"]), probe=False),
    Scenario("cli-log-text", [Call(["create", "--bundle", "{bundle}", "{id}"],
                                   global_args=["--root", "{root}", "--log", "{tmp}/log.txt"]), Collect("log.txt")],
             change=lambda c: c["process"].update(args=["/nosuch"]), probe=False),
    Scenario("cli-log-error-to-stderr", [Call(["state", "nosuch"],
                                              global_args=["--root", "{root}", "--log", "{tmp}/log.txt"]),
                                         Collect("log.txt")], probe=False),
]

# ---------------------------------------------------------------- deliberate differences, by scenario
LONG_ID = ("an id longer than a file name can be is refused as an invalid id up front, not by the kernel "
           "(runc: lstat ... file name too long); the exit code is the same")
for _s in SCENARIOS:
    if _s.name.endswith("bad-id-long"):
        _s.deliberate = {"call0 *.stderr": LONG_ID}

SPEC_OCI = "pyrunc's `spec` writes the runtime-spec version it implements, 1.3.0 (runc 1.1.5: 1.0.2-dev)"
SPEC_AMBIENT = ("runc 1.5's template has no ambient capabilities (runc commit 0de195333, 'do not add ambient "
                "capabilities'); 1.1.5's asked for three it could not raise")
SPEC_POWERCAP = ("pyrunc's template also masks /sys/devices/virtual/powercap (the energy counters of "
                 "CVE-2020-8694, masked by Docker and containerd too)")
for _s in SCENARIOS:
    if _s.name in ("cli-spec", "cli-spec-cwd", "cli-spec-rootless"):
        _s.deliberate = {"file config.json /ociVersion": SPEC_OCI,
                         "file config.json /process/capabilities*": SPEC_AMBIENT,
                         "file config.json /linux/maskedPaths": SPEC_POWERCAP}
