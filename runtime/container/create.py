"""runtime.md "Create": make the container's environment from the Plan, leave the user
program waiting, record the state.  Everything made on the way is removed on failure.
Layer: container (may import process, spec, linux and the base)."""

import os

from pyrunc.runtime import fault, log
from pyrunc.runtime.container import store
from pyrunc.runtime.container.container import Container, now_rfc3339nano
from pyrunc.runtime.container.handoff import cloexec_from, reserve_fds, write_pid_file
from pyrunc.runtime.errors import Exists, NotExist, PyruncError
from pyrunc.runtime.linux import procfs
from pyrunc.spec.plan import Plan


class CreateOptions:
    __slots__ = ("pid_file", "no_pivot", "no_new_keyring", "preserve_fds", "console_socket", "detach",
                 "rootless_cgroups", "pidfd_socket", "stdio", "systemd_cgroup", "listen_fds")

    def __init__(self, pid_file: str = "", no_pivot: bool = False, no_new_keyring: bool = False,
                 preserve_fds: int = 0, console_socket: str = "", detach: bool = True,
                 rootless_cgroups: bool = False, pidfd_socket: str = "", systemd_cgroup: bool = False,
                 listen_fds: int = 0) -> None:
        self.pid_file = pid_file
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds  # LISTEN_FDS + --preserve-fds
        self.listen_fds = listen_fds  # of which the first ones are LISTEN_FDS's
        self.console_socket = console_socket
        self.detach = detach
        self.rootless_cgroups = rootless_cgroups  # --rootless: cgroup permission errors ignored
        self.pidfd_socket = pidfd_socket  # --pidfd-socket: where the init's pidfd goes
        #: a foreground run without a terminal: the container's ends of its stdio pipes
        self.stdio: tuple[int, int, int] | None = None
        self.systemd_cgroup = systemd_cgroup  # --systemd-cgroup: the systemd cgroup driver


def check_terminal(plan: Plan, co: CreateOptions) -> None:
    """runc's rules for terminals and the console socket."""
    terminal = plan.process is not None and plan.process.terminal
    if terminal and co.detach and not co.console_socket:
        raise PyruncError("cannot allocate tty if runc will detach without setting console socket")
    if co.console_socket and (not terminal or not co.detach):
        raise PyruncError("cannot use console socket if runc will not detach or allocate tty")


def check_userns_maps(plan: Plan) -> None:
    """A user namespace joined by path with mappings in the config too (containerd's and
    CRI-O's shape) is refused unless they are that namespace's own maps, entry for entry
    (runc 1.5's specconv setupUserNamespace; 1.1.5 took the config's and joined a
    namespace they did not describe, so the stdio and device owners were wrong).  A path
    that cannot be read is the setup's to report, as without mappings."""
    user = plan.namespace("user")
    if user is None or not user.path or not (plan.uid_mappings or plan.gid_mappings):
        return
    from pyrunc.runtime.linux import namespaces

    try:
        uids, gids = namespaces.user_id_maps(user.path)
    except (OSError, PyruncError):
        return
    if uids != [(m.container_id, m.host_id, m.size) for m in plan.uid_mappings] or \
            gids != [(m.container_id, m.host_id, m.size) for m in plan.gid_mappings]:
        raise PyruncError("user namespaces enabled, but both namespace path and non-matching mapping "
                          "specified -- you may only provide one")


def create(root: str, cid: str, plan: Plan, co: CreateOptions):
    """Returns (container, launched): ``launched.tty_master`` is set for a foreground run."""
    from pyrunc.runtime.linux import cgroups
    from pyrunc.runtime.process import launch
    from pyrunc.runtime.process.init_options import InitOptions

    if plan.process is None:
        raise PyruncError("process: is required to create a container")
    check_terminal(plan, co)
    check_userns_maps(plan)
    reserve_fds(co.preserve_fds, co.listen_fds)
    cloexec_from(3)
    pidfd_sock = None
    if co.pidfd_socket:
        from pyrunc.runtime.linux import pidfd

        pidfd_sock = pidfd.connect(co.pidfd_socket)
    cdir = store.make_dir(root, cid)
    manager = None
    setup = None
    fifo_fd = -1
    launched = None
    ours = True  # False once a concurrent delete took the directory: not ours to remove
    try:
        fault.point("state-dir")
        me = os.getpid()
        # A hint, not state: no fsync.  It tells a live create from a crashed one.  Until
        # the lock is held, a concurrent delete --force may remove the directory (and
        # another create make it again): the creator file, made exclusively, tells.
        try:
            with open(os.path.join(cdir, store.CREATOR), "x") as f:
                f.write(f"{me} {procfs.start_time(me)}\n")
        except (FileExistsError, FileNotFoundError) as e:
            ours = False
            raise (Exists() if isinstance(e, FileExistsError) else NotExist()) from None
        try:
            lock = store.Lock(cdir)
        except NotExist:
            ours = False
            raise
        if store.creator(cdir)[0] != me:
            lock.release()
            ours = False
            raise Exists()
        fault.point("lock")
        from pyrunc.runtime.container import notify

        if notify.host_socket():
            plan = notify.prepare(cdir, plan)
        if co.listen_fds:
            # runc's run: the container's process is told about the sockets it got, after
            # the config's environment (a config's own LISTEN_* comes first, and wins).
            from pyrunc.spec.plan import derive

            assert plan.process is not None
            env = [*plan.process.env, f"LISTEN_FDS={co.listen_fds}", "LISTEN_PID=1"]
            plan = derive(plan, process=derive(plan.process, env=env))
        fifo = os.path.join(cdir, store.FIFO)
        os.mkfifo(fifo, 0o600)
        # Opened for reading before the fork: the init inherits it and blocks on it.
        fifo_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        opts = InitOptions(plan, cid, co.no_pivot, co.no_new_keyring, co.preserve_fds, fifo_fd,
                           co.console_socket, want_tty_master=not co.detach)
        opts.stdio = co.stdio
        created = now_rfc3339nano()
        pidns = plan.namespace("pid")
        # --rootless: runc's leniency (manager.py: a hierarchy that refuses us is left out
        # when no cgroupsPath is given; device rule errors are ignored).
        manager = cgroups.new(plan.cgroups_path, cid, rootless=co.rootless_cgroups, systemd=co.systemd_cgroup)
        if co.systemd_cgroup:
            manager.use_annotations(plan.annotations)  # org.systemd.property.*: checked now
        # How the setup child joins the cgroups without a write of its pid (Placement):
        # born in the cgroup2 directory, it is forked once that exists; otherwise now, to
        # load the init's modules while we make the cgroups and write the state.  It
        # waits for "go" to do anything.
        placement = manager.placement()
        born_in = placement.born_in if placement is not None else ""
        if not born_in:
            setup = launch.fork_setup(opts)
        resources = plan.resources or _no_resources()
        # The state is written before anything is made (the cgroups it is about to create
        # are recorded as made) and again once they exist and once the init's pid is
        # known: a create killed at any point leaves what delete --force needs.
        st = store.State()
        st.id = cid
        st.bundle = plan.bundle
        st.rootfs = plan.rootfs
        st.created = created
        st.cgroups = list(manager.dirs)
        st.made_cgroups = manager.to_create()
        st.cgroup_driver = manager.driver
        st.config_version = plan.oci_version
        st.tty = bool(plan.process.terminal)
        st.own_pidns = pidns is not None and not pidns.path
        if plan.annotations:
            from pyrunc.runtime.jsonout import dumps

            st.annotations = dumps(plan.annotations)
        kept = {k: [{"path": h.path, "args": h.args, "env": h.env, "timeout": h.timeout, "where": h.where}
                    for h in plan.hooks[k]] for k in ("poststart", "poststop") if k in plan.hooks}
        if kept:
            from pyrunc.runtime.jsonout import dumps

            st.hooks = dumps(kept)
        state_path = os.path.join(cdir, store.STATE)
        store.write_atomic(state_path, store.encode(st))
        fault.point("state-write")
        if born_in:
            # The cgroup2 directory first, and the setup child forked into it: it loads
            # the init's modules while we make the others and set the limits (it does
            # nothing before "go", which follows the frozen check).
            _make_cgroups(manager.create_first, born_in)
            setup = launch.fork_setup(opts, born_in)
        _make_cgroups(manager.create)
        fault.point("cgroup-create")
        if sorted(manager.made) != sorted(st.made_cgroups) or manager.dirs != st.cgroups:
            st.cgroups, st.made_cgroups = list(manager.dirs), list(manager.made)
            store.write_atomic(state_path, store.encode(st))
        if manager.refused:
            manager.check_limits(resources)
        # runc's check of an existing cgroup: a frozen one would freeze the init as it
        # joins, and create would wait on it for ever.
        if manager.joining_would_freeze():
            raise PyruncError("container's cgroup unexpectedly frozen")
        # Limits are in place before any process of the container runs (the setup child
        # is the runtime's until "go"); the device rules wait until the init has made its
        # device nodes (mknod needs "m"), as runc.
        manager.set(resources)
        fault.point("cgroup-limits")

        def place(pid: int, born: bool) -> list[str]:
            """Before "go": what the child joins itself (the v1 tasks files)."""
            try:
                if placement is None:
                    manager.join(pid)
                    if manager.lenient:
                        st.cgroups = list(manager.dirs)  # the hierarchies that refused us are not the container's
                        manager.check_limits(resources)
                    return []
                return placement.place(pid, born)
            except OSError as e:
                raise PyruncError(f"linux.cgroupsPath: join cgroup: {_lower(e)}") from None

        def placed(pid: int, error: str) -> None:
            """The child is in every cgroup of the container (``error``: it could not join)."""
            if error:
                raise PyruncError(f"linux.cgroupsPath: join cgroup: {error}")
            if manager.refused:
                manager.warn_refused(pidns is not None and not pidns.path)
            # runc: the init gets every CPU its cpuset allows, not the caller's affinity.
            from pyrunc.runtime.linux import affinity

            affinity.reset(pid)
            if plan.intel_rdt is not None:
                # After the cgroups, as runc; the init and its children inherit the group.
                from pyrunc.runtime.linux import resctrl

                rdt = plan.intel_rdt
                remove = resctrl.apply(rdt.root, rdt, cid, pid)
                resctrl.record(cdir, rdt.root, resctrl.group_dir(rdt.root, rdt, cid), remove)
            fault.point("cgroup-join")

        replaced = frozenset(d.path for d in plan.devices)

        def run_hooks(pid: int) -> None:
            # The device rules first: the init has made its device nodes (mknod needs
            # "m") and waits, before pivot_root (runc's procHooks: Set, then the hooks).
            # (Rootless: runc does not expect device rules to work; the manager ignores their errors.)
            manager.set_devices(resources, replaced)
            fault.point("device-rules")
            if "prestart" not in plan.hooks and "createRuntime" not in plan.hooks:
                return
            from pyrunc.runtime import ocistate
            from pyrunc.runtime.process import hooks

            # "creating": the create operation has not finished (runtime.md "Lifecycle"
            # steps 4-6); runc 1.1.5 and 1.5.1 pass the same.  runtime-tools' hooks_stdin
            # expects "created" and fails runc too (conformance/expectations-*.json).
            state = ocistate.state_json(cid, "creating", pid, plan.bundle, plan.annotations)
            # prestart (deprecated) runs with createRuntime, before it (runtime.md).  A
            # failure is worded as runc's: its hooks run in the init's sync step.
            try:
                hooks.run_all(plan.hooks.get("prestart", []), state, "prestart")
                hooks.run_all(plan.hooks.get("createRuntime", []), state, "createRuntime")
            except PyruncError as e:
                raise PyruncError(f"unable to start container process: error during container init: {e}") from None


        def on_pid(pid: int) -> None:
            st.pid = pid
            st.start = procfs.start_time(pid) or 0
            store.write_atomic(state_path, store.encode(st))

        log.debug(f"create {cid}: cgroups {manager.dirs}; launching the init")
        def stuck() -> str:
            # Asked while the child is silent: frozen under us, it would never answer.
            return "container's cgroup unexpectedly frozen" if manager.joining_would_freeze() else ""

        handed, setup = setup, None  # launch owns it now: it reaps it, or kills it on an error
        launched = launch.launch(opts, place, placed, run_hooks, on_pid, stuck, handed)
        log.debug(f"create {cid}: init {launched.pid} waits on the exec FIFO")
        os.close(fifo_fd)
        fifo_fd = -1
        if co.pid_file:
            write_pid_file(co.pid_file, launched.pid)
        if pidfd_sock is not None:
            pidfd.send(pidfd_sock, launched.pid, "standard")
            pidfd_sock = None
        os.unlink(os.path.join(cdir, store.CREATOR))
        lock.release()
        return Container(root, cid, cdir, st), launched
    except BaseException:
        if setup is not None:
            setup.abort()
        if fifo_fd >= 0:
            os.close(fifo_fd)
        if pidfd_sock is not None:
            pidfd_sock.close()
        if ours and plan.intel_rdt is not None:
            from pyrunc.runtime.linux import resctrl

            resctrl.release(cdir)
        _cleanup(cdir if ours else "", manager, launched)
        raise


def _make_cgroups(make, *args: str) -> None:
    """manager.create/create_first, an OSError worded as runc's."""
    try:
        make(*args)
    except OSError as e:
        raise PyruncError(f"linux.cgroupsPath: create cgroup: {_lower(e)}") from None


def _lower(e: OSError) -> str:
    """An OSError as runc words it: its strerror in lower case."""
    return (e.strerror or str(e)).lower()


def _no_resources():
    """A config without linux.resources: no limits, runc's default device rules."""
    from pyrunc.spec.resources import Resources

    return Resources()


def _cleanup(cdir: str, manager, launched) -> None:
    if launched is not None:
        try:
            os.kill(launched.pid, 9)  # SIGKILL
            os.waitpid(launched.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        if launched.tty_master >= 0:
            os.close(launched.tty_master)
    if manager is not None and manager.made:
        try:
            manager.destroy()
        except OSError:
            pass
    if cdir:
        store.remove_dir(cdir)
