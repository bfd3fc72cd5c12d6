"""Differences the tier finds that are not fixed on this branch: (scenario glob, field glob,
who fixes it and what).  A scenario whose only differences are listed here is reported as
an expected failure (xfail) naming them; once the fix lands the scenario passes and the
report says which line is no longer needed.  ``DIFF_STRICT=1`` turns them into failures,
to see what is still open after a merge.  The field "hang" stands for a call that did not
return in its timeout.

These are NOT deliberate differences: each is a place where pyrunc is still wrong.
"""

FIXES = "open (issue 19's sample list: fixed, a remainder differs)"
DOCKER = "open (cgroups and mounts)"
PODMAN = "open"
CRI = "open"
OPEN = "open (larger than a local fix; in the tier's report)"
USERNS = ("in a user namespace (the cgroup mount's EPERM is fixed; /dev/mqueue's group and the /dev bind "
          "order still differ)")

KNOWN: list[tuple[str, str, str]] = [
    # ---- docker helper: cgroup mounts without a cgroup namespace (runc binds each v1 hierarchy's
    # directory of the container onto a writable tmpfs, and mounts no cgroup2 on a hybrid host;
    # in a user namespace pyrunc's mount of the hierarchies fails with EPERM)
    ("*", "container.mountinfo.cgroup", f"{DOCKER}: cgroup mounts without a cgroup namespace"),
    ("*", "container.cgroupfs", f"{DOCKER}: cgroup mounts without a cgroup namespace"),
    ("ns-user*", "*", f"{DOCKER}: {USERNS}"),
    ("userns-*", "*", f"{DOCKER}: {USERNS}"),
    ("rootless-lifecycle", "*", f"{DOCKER}: {USERNS}"),
    ("rootless-field", "*", f"{DOCKER}: {USERNS}"),
    ("rootless-exec", "*", f"{DOCKER}: {USERNS}"),
    ("caps-sys-resource", "*", f"{DOCKER}: bounding-set caps (runc fails: unable to apply caps)"),
    # ---- fixes helper: issue 19's sample list
    ("cwd-root-as-1000", "*", f"{FIXES}: cwd before the privilege drop"),
    ("userns-bind-private-source", "*", f"{FIXES}: bind sources in a user namespace"),
    ("hooks-*", "file hook-*.json", f'{FIXES}: hooks status "creating"'),
    ("cli-update-flags-after-id", "*", f"{FIXES}: update ID --flags order"),
    ("cli-create-flag-after-id", "*", f"{FIXES}: flags after the id (urfave's argument reordering, as update)"),
    ("cgroups-path-frozen", "*", f"{FIXES}: frozen cgroupsPath (pyrunc's create hangs)"),
    ("cgroups-path-frozen", "hang", f"{FIXES}: frozen cgroupsPath (pyrunc's create hangs)"),
    ("*", "container.syscalls", f"{FIXES}: seccomp ENOSYS for syscalls newer than the profile"),
    ("mount-sysfs-proc-symlink", "*", f"{FIXES}: procfs/sysfs over a symlink refused"),
    ("mount-sys-symlink", "*", f"{FIXES}: procfs/sysfs over a symlink refused"),
    ("no-pivot-nested-proc", "*", f"{FIXES}: --no-pivot leaves the host's /proc reachable"),
    ("seccomp-notify-write", "*", f"{FIXES}: SCMP_ACT_NOTIFY on write refused"),
    ("tty-*", "container.tty", f"{FIXES}: console pty group (tty, gid 5) and mode"),
    ("tty-*", "container.dev", f"{FIXES}: console pty group (tty, gid 5) and mode"),
    ("tty-run-script*", "call0 run.stdout", f"{FIXES}: console (runc's run -t writes a NUL first)"),
    ("tty-exec-*", "call* exec.stdout", f"{FIXES}: console (runc's exec -t writes a NUL first, as run -t)"),
    ("cli-spec*", "file config.json /linux/namespaces", f"{FIXES}: spec's cgroup namespace default"),
    ("rootless-spec", "file config.json /linux/namespaces", f"{FIXES}: spec's cgroup namespace default"),
    # ---- podman helper
    ("devices-default-path", "*", f"{PODMAN}: devices fileMode (a missing fileMode is 0 in runc)"),
    ("podman-*", "container.syscalls", f"{FIXES}: seccomp ENOSYS for syscalls newer than the profile"),
    # ---- CRI helper
    ("cri-container-cpuset", "*", f"{CRI}: cpuset fill (an empty mems/cpus is unset)"),
    # ---- found by this tier, larger than a local fix
    ("*run*", "container.stdio", f"{OPEN}: a foreground run gives the container pipes (runc copies them); "
     "pyrunc hands its own stdio down"),
    ("mount-dev-symlink", "container.stdio", f"{OPEN}: runc reopens a /dev/null stdio inside the container"),
    ("seccomp-allowlist-enosys", "container*", f"{OPEN}: both creates and starts now agree (the init's ready "
     "comes before the filter, as runc's); under this allow list runc's container then prints nothing, "
     "pyrunc's probe runs: runc's own step that the filter breaks is not found yet"),
    ("seccomp-allowlist-enosys", "probe.*", f"{OPEN}: as above"),
    ("cpu-shares-1", "*", f"{OPEN} (docker helper's area): runc reads cpu.shares back and refuses a value "
     "the kernel clamped ('the minimum allowed cpu-shares is 2')"),
    ("cli-ps-args-dashdash", "*", f"{OPEN} (minor): runc passes a '--' after the id on to ps"),
    ("tty-console-socket-userns", "container.dev", f"{OPEN} (minor): /dev/mqueue's group in a user namespace"),
    ("tty-console-socket-userns", "container.mountinfo", f"{OPEN} (minor): the order of the /dev binds in a "
     "user namespace (as userns-cgroupns)"),
    ("userns-cgroupns", "container.dev", f"{OPEN} (minor): /dev/mqueue's group in a user namespace"),
    ("userns-cgroupns", "container.mountinfo", f"{OPEN} (minor): the order of the /dev binds in a user "
     "namespace (runc: null, random, full, tty, zero, urandom)"),
    ("rootless-resources", "call0 create.stderr", f"{OPEN} (minor): runc's error chain prefix "
     "(error during container init: error setting cgroup config...)"),
]
