"""A container and its lifecycle (runtime.md "Lifecycle" and "Operations").
Layer: container (may import process, spec, linux and the base).

Status is derived when read, never stored: the init is alive when its pid has the start
time recorded at create and is not a zombie; a live init that still holds the exec FIFO
is ``created``; a frozen cgroup is ``paused``; otherwise ``running``.  A dead init is
``stopped``.  Transitions take the container's lock; readers take none.
"""

import posix
import time

from pyrunc.runtime.container import store
from pyrunc.runtime.errors import NotRunning, PyruncError
from pyrunc.runtime.linux import fspath, procfs

SIGKILL = 9  # a constant, not the signal module: it imports enum

TYPE_CHECKING = False  # not the typing module (its import costs the hot path)
if TYPE_CHECKING:
    from pyrunc.runtime.linux.cgroups.manager import Manager
    from pyrunc.spec.resources import Resources

CREATING, CREATED, RUNNING, PAUSED, STOPPED = "creating", "created", "running", "paused", "stopped"


def now_rfc3339nano() -> str:
    """Go's time.RFC3339Nano in UTC, as runc writes ``created``."""
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    f = f"{frac:09d}".rstrip("0")
    return base + (("." + f) if f else "") + "Z"


class Container:
    def __init__(self, root: str, cid: str, cdir: str, state: store.State | None) -> None:
        self.root = root
        self.id = cid
        self.dir = cdir
        self.state = state

    @classmethod
    def load(cls, root: str, cid: str) -> "Container":
        cdir = store.container_dir(root, cid)
        return cls(root, cid, cdir, store.read_state(cdir))

    # -- status ----------------------------------------------------------------------
    def status(self) -> str:
        st = self.state
        cpid, cstart = store.creator(self.dir)
        if cpid and procfs.is_alive(cpid, cstart):
            return CREATING
        if st is None or not st.pid or not procfs.is_alive(st.pid, st.start):
            return STOPPED
        if self._frozen():  # runc's order: a frozen created container is paused
            return PAUSED
        if fspath.exists(fspath.join(self.dir, store.FIFO)):
            return CREATED
        return RUNNING

    def _frozen(self) -> bool:
        return bool(self.state and self.state.cgroups) and self.cgroups().frozen()

    def cgroups(self) -> "Manager":
        """The cgroup manager of this container, from its state (linux/cgroups/manager.py)."""
        from pyrunc.runtime.linux import cgroups

        st = self.state
        assert st is not None
        return cgroups.load(st.cgroups, st.made_cgroups, st.cgroup_driver)

    def oci_state(self, status: str | None = None) -> dict:
        """runtime.md "State" plus runc's fields, in runc's order."""
        from pyrunc.runtime import ocistate

        st = self.state
        status = status or self.status()
        annotations = dict(sorted(self.annotations().items())) if st and st.annotations else None  # Go sorts keys
        return ocistate.runc_state(self.id, st.pid if st and status not in (STOPPED, CREATING) else 0, status,
                                   st.bundle if st else "", st.rootfs if st else "", st.created if st else "",
                                   annotations)

    # -- transitions ------------------------------------------------------------------
    def start(self, wait_notify: bool = True) -> None:
        """runtime.md "Start": run the user-specified program of a created container.
        With NOTIFY_SOCKET set, wait for the container's READY=1 and pass it on (runc);
        a foreground ``run`` does not wait (it relays the container instead)."""
        with store.Lock(self.dir):
            self.state = store.read_state(self.dir)
            status = self.status()
            if status == STOPPED:
                raise PyruncError("cannot start a container that has stopped")
            if status == RUNNING:
                raise PyruncError("cannot start an already running container")
            if status != CREATED:
                raise PyruncError(f"cannot start a container in the {status} state")
            fifo = fspath.join(self.dir, store.FIFO)
            from pyrunc.runtime.container import notify

            listener = notify.listen(self.dir) if wait_notify else None
            try:
                fd = posix.open(fifo, posix.O_WRONLY | posix.O_NONBLOCK | posix.O_CLOEXEC)
            except OSError:
                # ENXIO: no reader, the init is gone.
                raise PyruncError("cannot start a container that has stopped") from None
            try:
                posix.write(fd, b"0")
            except BrokenPipeError:
                # The init died between the open and the write (a racing kill).
                raise PyruncError("cannot start a container that has stopped") from None
            finally:
                posix.close(fd)
            posix.unlink(fifo)
            hooks = self._hooks("poststart")
        if listener is not None:
            # runc's start waits for the container's READY=1 and passes it on (sd_notify).
            st = self.state
            assert st is not None
            notify.forward_ready(listener, st.pid, lambda: procfs.is_alive(st.pid, st.start))
        if hooks:
            from pyrunc.runtime.container.handoff import cloexec_from
            from pyrunc.runtime.process import hooks as runner

            # runc runs poststart during create, after its CloseExecFrom(3): the fds
            # start's caller passes do not reach them either.
            cloexec_from(3)
            try:
                runner.run_all(hooks, self._hook_state(RUNNING), "poststart")
            except PyruncError as e:
                # runtime.md: a poststart failure fails start; the container is stopped.
                self._kill_everything()
                raise e from None

    def _state_json(self, text: str, want: type):
        """A JSON field of the state file; a corrupt one is the state's error, one line."""
        from pyrunc.runtime import jsonin

        try:
            v = jsonin.loads(text)
        except (ValueError, RecursionError):
            v = None
        if not isinstance(v, want):
            raise PyruncError(f"state of {self.id}: corrupt state file")
        return v

    def has_seccomp_filter(self) -> bool:
        """The container's init runs under a seccomp filter (its bundle may be gone)."""
        st = self.state
        return st is not None and procfs.has_seccomp_filter(st.pid)

    def annotations(self) -> dict:
        """The annotations of the config the container was created from."""
        st = self.state
        return self._state_json(st.annotations, dict) if st and st.annotations else {}

    def annotation(self, key: str) -> str | None:
        """One annotation of the config the container was created from (None if absent)."""
        st = self.state
        if not st or not st.annotations or key not in st.annotations:
            return None  # no JSON decoding on kill's hot path
        v = self.annotations().get(key)
        return v if isinstance(v, str) else None

    def kill(self, sig: int, all_: bool = False) -> None:
        """runtime.md "Kill": signal a created or running container's process."""
        status = self.status()
        if all_ and self.state is not None and self.state.cgroups:
            # --all (obsolete in runc 1.5, still sent by containerd 1.6): every process of
            # the container's cgroup, even after the init is gone.
            self.cgroups().kill_all(sig)
            if status in (STOPPED, CREATING):
                return  # runc (1.1.5 and 1.5): --all on a stopped container is no error
        if status in (STOPPED, CREATING):
            raise NotRunning()
        assert self.state is not None
        try:
            posix.kill(self.state.pid, sig)
            if sig == SIGKILL and status == PAUSED:
                self._thaw()  # a frozen process cannot die until thawed (runc does the same)
        except ProcessLookupError:
            if not all_:
                raise NotRunning() from None

    def check_exec(self, ignore_paused: bool = False) -> None:
        """Refuse an exec by the container's status, runc's first checks (exec.go): before
        the process is read, so a stopped container is said so whatever the process."""
        status = self.status()
        if status == STOPPED:
            raise PyruncError("cannot exec in a stopped container")
        if status == PAUSED and not ignore_paused:
            raise PyruncError("cannot exec in a paused container (use --ignore-paused to override)")
        if status == CREATING:
            raise NotRunning()

    def exec_process(self, proc, console_socket: str = "", detach: bool = False, pid_file: str = "",
                     preserve_fds: int = 0, ignore_paused: bool = False, sub_cgroups: list[str] | None = None,
                     pidfd_socket: str = "") -> int:
        """runc exec: run ``proc`` (a spec Process) inside the container; the exit code
        of the process in the foreground, 0 when detached.  runc's order of refusals
        (exec.go, then utils_linux.go's runner.run): the container's status (the caller
        checked it once already, before reading the process: :meth:`check_exec`), the
        --cgroup syntax (exec.go), the --tty/--detach/--console-socket combination,
        --preserve-fds, and only then the caller's terminal (setupIO's initHostConsole)."""
        self.check_exec(ignore_paused)
        if sub_cgroups:
            from pyrunc.runtime.linux.cgroups.manager import check_sub_cgroup_args

            check_sub_cgroup_args(sub_cgroups)  # runc: after the process, before the terminal
        if proc.terminal and detach and not console_socket:
            raise PyruncError("cannot allocate tty if runc will detach without setting console socket")
        if console_socket and (not proc.terminal or not detach):
            raise PyruncError("cannot use console socket if runc will not detach or allocate tty")
        from pyrunc.runtime.container.handoff import reserve_fds, write_pid_file
        from pyrunc.runtime.process import execproc

        assert self.state is not None
        st = self.state
        reserve_fds(preserve_fds)
        if proc.terminal and not console_socket and not detach:
            from pyrunc.runtime.container.stdio import check_caller_tty

            check_caller_tty()

        manager = self.cgroups()
        sub = list(sub_cgroups or [])
        manager.sub_dirs(sub)  # --cgroup's checks and that every directory exists, before anything starts

        # The process joins without a write of its pid where it can (Manager.placement).
        placement = manager.placement(sub or None)

        def place(pid: int, born: bool) -> list[str]:
            """Before "go": what the child joins itself (the v1 tasks files)."""
            try:
                if placement is None:
                    manager.join(pid, sub or None)
                    return []
                return placement.place(pid, born)
            except OSError as e:
                raise PyruncError(f"join the container's cgroup: {(e.strerror or str(e)).lower()}") from None

        def placed(pid: int, error: str) -> None:
            if error:
                raise PyruncError(f"join the container's cgroup: {error}")
            if fspath.exists(fspath.join(self.dir, "resctrl")):
                from pyrunc.runtime.linux import resctrl

                resctrl.add_task(self.dir, pid)  # linux.intelRdt: the container's CLOS, as runc

        opts = execproc.ExecOptions(st.pid, proc, console_socket, preserve_fds, proc.terminal and not detach,
                                    self.id)
        if proc.seccomp is not None and proc.seccomp.notify:
            from pyrunc.runtime import ocistate

            # What a seccomp agent receives with the listener: the running container's state.
            opts.container_state = ocistate.state(self.id, RUNNING, st.pid, st.bundle, self.annotations())
        pidfd_sock = None
        if pidfd_socket:
            from pyrunc.runtime.linux import pidfd

            pidfd_sock = pidfd.connect(pidfd_socket)  # before the process: a bad socket starts nothing
        pipes = None
        if not proc.terminal and not detach:
            # In the foreground without a terminal: pipes, as for run (runc's setupIO).
            from pyrunc.runtime.container.stdio import close_pipes, root_id, stdio_pipes

            pipes = stdio_pipes(root_id(st.pid, "uid"), root_id(st.pid, "gid"))
            opts.stdio = (pipes[0][0], pipes[1][1], pipes[2][1])
        try:
            pid, master = execproc.launch(opts, place, placed, placement.born_in if placement else "")
        except BaseException:
            if pidfd_sock is not None:
                pidfd_sock.close()
            if pipes is not None:
                close_pipes(pipes, both=True)
            raise
        if pipes is not None:
            close_pipes(pipes, both=False)  # the process's ends; ours stay
        if pid_file or pidfd_sock is not None:
            try:
                if pid_file:
                    write_pid_file(pid_file, pid)
                if pidfd_sock is not None:
                    pidfd.send(pidfd_sock, pid, "setns")
            except PyruncError:
                # A process nobody can track must not stay behind (runc terminates it too).
                posix.kill(pid, SIGKILL)
                try:
                    posix.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                if master >= 0:
                    posix.close(master)
                if pipes is not None:
                    for fd in (pipes[0][1], pipes[1][0], pipes[2][0]):
                        posix.close(fd)
                raise
        if detach:
            return 0
        from pyrunc.runtime.process.wait import Foreground

        fg = Foreground(pid, master, None if pipes is None else (pipes[0][1], pipes[1][0], pipes[2][0]))
        try:
            return fg.wait()
        finally:
            fg.restore()
            if master >= 0:
                posix.close(master)

    def pause(self) -> None:
        """Freeze every process of the container (runc: running or created only)."""
        with store.Lock(self.dir):
            self.state = store.read_state(self.dir)
            status = self.status()
            if status not in (RUNNING, CREATED):
                raise NotRunning()
            self._freeze(True)

    def resume(self) -> None:
        with store.Lock(self.dir):
            self.state = store.read_state(self.dir)
            if self.status() != PAUSED:
                raise PyruncError("container not paused")
            self._freeze(False)

    def _freeze(self, frozen: bool) -> None:
        assert self.state is not None
        manager = self.cgroups()
        try:
            if frozen:
                manager.freeze()
            else:
                manager.thaw()
        except OSError as e:
            raise PyruncError(f"{'pause' if frozen else 'resume'}: {(e.strerror or str(e)).lower()}") from None

    def pids(self) -> list[int]:
        """Every process of the container: its cgroup's, or the init alone without one."""
        st = self.state
        if st is None:
            return []
        found = self.cgroups().pids() if st.cgroups else []
        if not found and st.pid and procfs.is_alive(st.pid, st.start):
            found = [st.pid]
        return found

    def stats(self) -> dict:
        """Usage statistics of the container's cgroups, in runc's events shape."""
        if self.state is None:
            from pyrunc.runtime.linux.cgroups import stats

            return stats.stats({})
        return self.cgroups().stats()

    def oom_count(self) -> int:
        """OOM kills its memory cgroup has seen."""
        return self.cgroups().oom_count() if self.state is not None else 0

    def update(self, resources: "Resources", l3_cache_schema: str = "", mem_bw_schema: str = "") -> None:
        """Change linux.resources of a live container (runc update); ``resources``: a
        spec.resources.Resources, parsed with update's rules.  runc leaves the device
        rules alone on update.  ``l3_cache_schema``/``mem_bw_schema``: runc 1.1.5's
        update flags for Intel RDT (config-linux.md "IntelRdt"): refused where resctrl
        lacks the feature, else written to the container's group (made for it if create
        made none, as runc does)."""

        with store.Lock(self.dir):
            self.state = store.read_state(self.dir)
            if self.status() in (STOPPED, CREATING):
                raise NotRunning()
            assert self.state is not None
            if l3_cache_schema or mem_bw_schema:
                self._check_rdt(l3_cache_schema, mem_bw_schema)
            self.cgroups().set(resources, update=True)
            if l3_cache_schema or mem_bw_schema:
                self._update_rdt(l3_cache_schema, mem_bw_schema)

    def _check_rdt(self, l3: str, mb: str) -> None:
        from pyrunc.runtime.linux import resctrl

        if l3 and not resctrl.enabled("L3"):
            raise PyruncError("Intel RDT/CAT: l3 cache schema is not enabled")  # runc 1.1.5's texts
        if mb and not resctrl.enabled("MB"):
            raise PyruncError("Intel RDT/MBA: memory bandwidth schema is not enabled")

    def _update_rdt(self, l3: str, mb: str) -> None:
        from pyrunc.runtime.linux import resctrl
        from pyrunc.spec.resctrl import IntelRdt

        assert self.state is not None
        rdt = IntelRdt("", l3, mb, [], False)
        if fspath.exists(fspath.join(self.dir, resctrl.RECORD)):
            resctrl.set_schemata(self.dir, rdt.schema_lines())
            return
        root = resctrl.mountpoint()
        assert root is not None  # _check_rdt found it
        remove = resctrl.apply(root, rdt, self.id, self.state.pid)
        resctrl.record(self.dir, root, resctrl.group_dir(root, rdt, self.id), remove)

    def delete(self, force: bool) -> None:
        """runtime.md "Delete": only a stopped container, unless forced; a created one is
        killed and deleted, as runc does (containerd relies on it)."""
        with store.Lock(self.dir):
            self.state = store.read_state(self.dir)
            status = self.status()
            if status in (RUNNING, PAUSED) and not force:
                raise PyruncError(f"cannot delete container {self.id} that is not stopped: {status}")
            if status == CREATING and not force:
                raise PyruncError(f"cannot delete container {self.id} that is not stopped: creating")
            self.destroy()

    def destroy(self) -> None:
        """Kill what is left, remove the cgroups, run poststop hooks, remove the state."""
        st = self.state
        if st is not None:
            self._kill_everything()
            if st.made_cgroups:
                try:
                    self.cgroups().destroy()
                except OSError as e:
                    from pyrunc.runtime import log

                    log.warn(f"remove cgroup: {(e.strerror or '').lower()}")
            if fspath.exists(fspath.join(self.dir, "resctrl")):
                from pyrunc.runtime.linux import resctrl

                resctrl.release(self.dir)  # linux.intelRdt: the groups create made
            hooks = self._hooks("poststop")
            if hooks:
                from pyrunc.runtime import log
                from pyrunc.runtime.process import hooks as runner

                for h in hooks:
                    try:
                        runner.run(h, self._hook_state(STOPPED), "poststop")
                    except PyruncError as e:
                        # runtime.md: a poststop failure is logged as a warning only.
                        log.warn(str(e))
        store.remove_dir(self.dir)

    def _kill_everything(self) -> None:
        st = self.state
        assert st is not None
        self._thaw()
        # Without a pid namespace of its own the container's processes outlive its init:
        # kill them through the cgroup, as runc does.  With one, the kernel kills them all
        # when the init dies, and a shared cgroup's other members are left alone.  A create
        # killed before it recorded the init leaves no pid to kill, only the cgroups it
        # made for itself: whatever is in them is that create's (its setup child, an init
        # not yet let go on), still dying; swept all the same, so that they can go.
        crashed = not st.pid and bool(st.made_cgroups) and set(st.cgroups) <= set(st.made_cgroups)
        sweep = bool(st.cgroups) and (not st.own_pidns or crashed)
        manager = self.cgroups() if sweep else None
        if manager is not None:
            manager.kill_all(SIGKILL)
        if st.pid and procfs.is_alive(st.pid, st.start):
            try:
                posix.kill(st.pid, SIGKILL)
            except ProcessLookupError:
                pass
        if st.pid:
            wait_dead(st.pid, st.start)
        if manager is not None:
            deadline = time.monotonic() + 5
            while manager.pids() and time.monotonic() < deadline:
                manager.kill_all(SIGKILL)
                time.sleep(0.005)

    def _thaw(self) -> None:
        """Best effort before a SIGKILL: a frozen process cannot die until thawed."""
        assert self.state is not None
        if not self.state.cgroups:
            return
        try:
            self.cgroups().thaw()
        except OSError:
            pass

    def _hooks(self, kind: str) -> list:
        st = self.state
        if not st or not st.hooks:
            return []
        from pyrunc.spec.plan import Hook

        return [Hook(h["path"], h["args"], h["env"], h["timeout"], h["where"])
                for h in self._state_json(st.hooks, dict).get(kind, [])]

    def _hook_state(self, status: str) -> str:
        from pyrunc.runtime import ocistate

        st = self.state
        assert st is not None
        annotations = dict(sorted(self.annotations().items())) if st.annotations else None  # runc (Go) sorts map keys
        return ocistate.state_json(self.id, status, st.pid if status != STOPPED else 0, st.bundle, annotations)


def wait_dead(pid: int, start: int, timeout: float = 10.0) -> None:
    """Wait until the process is gone or a zombie (we may not be its parent): its pidfd
    polled (readable once it has exited), not sleeps between reads of /proc; /proc's start
    time still says whether the pid is the process we mean."""
    deadline = time.monotonic() + timeout
    try:
        fd = posix.pidfd_open(pid)
    except OSError:
        fd = -1  # gone already (ESRCH), or no pidfds: /proc alone, below
    try:
        while procfs.is_alive(pid, start):
            left = deadline - time.monotonic()
            if left <= 0:
                raise PyruncError(f"process {pid} did not exit after SIGKILL")
            if fd >= 0:
                import select

                p = select.poll()
                p.register(fd, select.POLLIN)
                p.poll(max(1, int(min(left, 0.1) * 1000)))
            else:
                time.sleep(0.002)
            try:
                posix.waitpid(pid, posix.WNOHANG)
            except ChildProcessError:
                pass
    finally:
        if fd >= 0:
            posix.close(fd)


def load(root: str, cid: str) -> Container:
    return Container.load(root, cid)

