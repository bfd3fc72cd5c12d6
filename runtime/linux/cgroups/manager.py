"""The cgroup manager: one object per container that owns everything the runtime does to
its cgroups (runc's libcontainer/cgroups Manager, crun's libcrun_cgroup_manager).
Layer: linux (the bottom: imports only linux and the base).

config-linux.md "Control groups": the runtime creates (or joins) the container's cgroup at
``cgroupsPath``, places the container's processes in it and applies ``linux.resources``;
runtime.md "Delete" removes what create made.  Three drivers implement ``Manager``:

- ``fs``   (v1.py): the v1 controllers, one directory per hierarchy, and on a hybrid host
           the unified tree's directory too (runc's rule: limits go to v1);
- ``fs2``  (v2.py): a pure cgroup v2 host, one directory, an eBPF device filter;
- ``systemd`` (``--systemd-cgroup``, issue 22): a transient unit over D-Bus, then what
           systemd does not cover through fs/fs2 as runc does (systemd.py).

A manager is made from what the state records (``load``: the container's directory in each
hierarchy and the directories create made), or for a create (``new``: from
``linux.cgroupsPath`` and the id).  The call order of a create, which every driver may rely
on (a driver may defer work to a later step, as systemd creates its unit at ``join``):

    new() -> create() -> set(res) -> join(init pid) -> set_devices(res, replaced)   [-> destroy() on failure]

Afterwards, from the state: ``load()`` -> set(res, update=True) | freeze/thaw/frozen |
pids/kill_all | stats/oom_count | destroy.

Errors: OSError from the kernel (the caller words it), ConfigError naming the JSON path
for a limit the kernel refuses, PyruncError for runc's own texts.  Pure stdlib: ``delete``
and ``kill --all`` use it on the hot path; a driver imports its extras only when used.
"""

import abc

TYPE_CHECKING = False  # not the typing module: its import (re, enum, ...) costs the hot path
if TYPE_CHECKING:
    from pyrunc.spec.resources import Resources

#: The drivers: name -> (module, class), each module imported on first use.
DRIVERS: dict[str, tuple[str, str]] = {
    "fs": ("pyrunc.runtime.linux.cgroups.v1", "FsManager"),
    "fs2": ("pyrunc.runtime.linux.cgroups.v2", "Fs2Manager"),
    "systemd": ("pyrunc.runtime.linux.cgroups.systemd", "SystemdManager"),
}


def check_sub_cgroup_args(specs: list[str]) -> None:
    """runc exec's ``--cgroup`` syntax (exec.go, getSubCgroupPaths): "path" alone, or
    "ctrl[,ctrl]:path" each; more than one colon, or a path without its controller among
    several, is refused with runc 1.1.5's texts.  runc parses it right after the process
    is read, before the terminal and --preserve-fds checks (1.1.5 and 1.5 alike); whether
    the controllers and directories exist is :meth:`Manager.sub_dirs`'s, later."""
    from pyrunc.runtime.errors import PyruncError

    for spec in specs:
        n = spec.count(":")
        if n > 1:
            raise PyruncError(f"invalid --cgroup argument: {spec}")
        if n == 0 and len(specs) != 1:
            raise PyruncError(f"invalid --cgroup argument: {spec} (missing <controller>: prefix)")


class Placement:
    """How a process joins the container's cgroups without a write of its pid to
    cgroup.procs (that write waits for an RCU grace period of the kernel's threadgroup
    lock, 6-16 ms): ``born_in``, the cgroup2 directory it is forked into (clone3's
    CLONE_INTO_CGROUP, "" for none), and ``tasks``, the v1 ``tasks`` files it writes "0"
    to itself before anything else (process/forked.join_cgroups)."""

    __slots__ = ("born_in", "tasks")

    def __init__(self, born_in: str, tasks: list[str]) -> None:
        self.born_in = born_in
        self.tasks = tasks

    def place(self, pid: int, born: bool) -> list[str]:
        """Before "go": a child forked without being born in ``born_in`` (the kernel or
        the process could not) is placed there by pid, the slow way (raises OSError);
        returns the ``tasks`` files the child writes itself."""
        if self.born_in and not born:
            from pyrunc.runtime.linux.cgroups import directories

            directories.join([self.born_in], pid)
        return self.tasks


class Manager(abc.ABC):
    """One container's cgroups.

    ``dirs``: the container's directory in each hierarchy it uses (the state's ``cgroups``;
    after a lenient create, only the hierarchies that accepted us).  ``made``: the
    directories create made, parents first (the state's ``made_cgroups``: destroy removes
    these and only these).  ``refused``: under rootless leniency, the hierarchies left out.
    """

    #: The driver's name as the state may record it: "fs", "fs2" or "systemd".
    driver: str = ""

    def __init__(self, dirs: list[str], made: list[str] | None = None, rootless: bool = False,
                 lenient: bool = False) -> None:
        """``rootless`` (``--rootless``): errors of the device rules are ignored (runc does
        not expect them to work).  ``lenient``: runc's rootless rule for a container without
        an explicit cgroupsPath: a hierarchy that refuses us for lack of permission (EPERM,
        EACCES, EROFS) is left out of ``dirs`` (and listed in ``refused``), not an error."""
        self.dirs: list[str] = list(dirs)
        self.made: list[str] = list(made or [])
        self.rootless = rootless
        self.lenient = lenient
        self.refused: list[str] = []

    @classmethod
    def for_path(cls, cgroups_path: str, cid: str, rootless: bool = False) -> "Manager":
        """The manager of a container about to be created (``new``): the fs drivers resolve
        ``cgroupsPath`` in each hierarchy; systemd parses ``slice:prefix:name``.  A path
        with a ".." component is refused (PyruncError naming linux.cgroupsPath).  Rootless
        is lenient only without an explicit path (runc's rule)."""
        from pyrunc.runtime.errors import PyruncError
        from pyrunc.runtime.linux.cgroups import hierarchy

        dirs = hierarchy.resolve(cgroups_path, cid)
        if ".." in cgroups_path.split("/"):  # a component, not a name holding dots (runc runs /a..b)
            raise PyruncError("linux.cgroupsPath: must not contain '..'")
        return cls(dirs, [], rootless=rootless, lenient=rootless and not cgroups_path)

    # -- create and join ----------------------------------------------------------------
    @abc.abstractmethod
    def paths(self) -> dict[str, str]:
        """controller name ("" for the unified tree) -> the container's directory for it."""

    @abc.abstractmethod
    def to_create(self) -> list[str]:
        """The directories ``create`` would make now, parents first (recorded in the state
        before they are made, so that a create killed half-way leaves what delete needs)."""

    @abc.abstractmethod
    def create(self) -> None:
        """Make the container's cgroups (``made`` lists what was made).  An error removes
        what was made so far and raises OSError; leniency leaves a refusing hierarchy out."""

    def create_first(self, d: str) -> None:
        """Make ``d``, one of ``dirs`` (and its parents), before the others: ``create``
        makes the rest (the setup child is forked into a cgroup2 directory meanwhile,
        Placement).  Drivers that place processes themselves make nothing here."""
        return None

    @abc.abstractmethod
    def join(self, pid: int, sub: list[str] | None = None) -> None:
        """Place ``pid`` in the container's cgroups (raises OSError).  ``sub``: exec's
        ``--cgroup`` ("path" or "ctrl[,ctrl]:path", inside the container's; PyruncError
        when it leaves it or names no controller of the container).  Leniency: a hierarchy
        refusing us is moved from ``dirs`` to ``refused``."""

    def placement(self, sub: list[str] | None = None) -> Placement | None:
        """How a child joins the cgroups ``join(pid, sub)`` would place it in, by itself
        (:class:`Placement`), or None: ``join`` it (systemd places the init through its
        unit; rootless leniency must learn which hierarchies refuse us)."""
        return None

    def sub_dirs(self, specs: list[str]) -> list[str]:
        """The directories ``join(pid, specs)`` places a process in: runc exec's ``--cgroup``
        ("path": every controller, or "ctrl[,ctrl]:path"), inside the container's own; each
        must exist (PyruncError).  With no specs, the container's own directories, checked
        the same way (exec calls it before it starts anything)."""
        from pyrunc.runtime.errors import PyruncError
        from pyrunc.runtime.linux import fspath

        targets = list(self.dirs)
        by = self.paths() if specs else {}
        for spec in specs:
            ctrls, sep, rel = spec.rpartition(":")
            if ".." in rel.split("/"):
                raise PyruncError(f"--cgroup {spec!r}: must stay inside the container's cgroup")
            chosen = {by[k] for k in (ctrls.split(",") if sep else by) if k in by}
            if sep and not chosen:
                raise PyruncError(f"--cgroup {spec!r}: no such controller for this container")
            targets = [fspath.join(d, rel.strip("/")) if d in chosen else d for d in targets]
        for d in targets:
            if not fspath.isdir(d):
                raise PyruncError(f"--cgroup: {d} does not exist")
        return targets

    @abc.abstractmethod
    def check_limits(self, res: "Resources") -> None:
        """Rootless: a limit for a controller the container could not create or join is
        runc's error (PyruncError), not silently dropped."""

    def warn_refused(self, own_pidns: bool) -> None:
        """Rootless: one line naming every hierarchy left out (``refused``): --debug, or a
        warning when nothing could kill every process of the container."""
        from pyrunc.runtime import log
        from pyrunc.runtime.linux.cgroups.hierarchy import by_controller

        names = sorted(c or "unified" for c in by_controller(self.refused))
        msg = (f"rootless: no permission to create or join the container's cgroups (not delegated), "
               f"running without them: {', '.join(names)}")
        if own_pidns:
            # runc 1.1.5 and 1.5 say nothing of cgroups they may not use (rootless, that is
            # the rule): a --debug line only.
            log.debug(msg)
            return
        # Without a cgroup or a pid namespace of its own, nothing can find and kill every
        # process of the container: that is worth a warning.
        log.warn(msg + "; with no cgroup and no private pid namespace, "
                 "not every process of the container can be killed")

    # -- limits ---------------------------------------------------------------------------
    @abc.abstractmethod
    def set(self, res: "Resources", update: bool = False) -> None:
        """Apply the limits of ``res`` (everything but the device rules), in the kernel's
        order; ``update``: runc update's semantics (checkBeforeUpdate on v2).  A value the
        kernel refuses is a ConfigError naming its JSON path."""

    @abc.abstractmethod
    def set_devices(self, res: "Resources", replaced: frozenset[str] = frozenset()) -> None:
        """The device rules of ``res`` then runc's default allow list, less the defaults
        whose path linux.devices lists (``replaced``: runc's specconv drops them) (applied
        after the init made its device nodes, before pivot_root; never on update).
        Leniency: errors are ignored."""

    # -- freezer --------------------------------------------------------------------------
    @abc.abstractmethod
    def freeze(self) -> None:
        """pause: freeze every process; returns once the cgroup is frozen (OSError else,
        EOPNOTSUPP without a freezer)."""

    @abc.abstractmethod
    def thaw(self) -> None:
        """resume (and before a SIGKILL): thaw every freezer the container has (OSError)."""

    @abc.abstractmethod
    def frozen(self) -> bool:
        """The container's own freezer says frozen: its status is "paused"."""

    @abc.abstractmethod
    def joining_would_freeze(self) -> bool:
        """A process placed here now would be frozen: frozen or freezing, by itself or an
        ancestor (runc refuses to create in such a cgroup: it would wait for ever)."""

    # -- processes ------------------------------------------------------------------------
    @abc.abstractmethod
    def pids(self) -> list[int]:
        """Every process in the container's cgroups, each once."""

    def kill_all(self, sig: int) -> None:
        """Signal every process in the container's cgroups (kill --all, delete's sweep)."""
        import posix

        for pid in self.pids():
            try:
                posix.kill(pid, sig)
            except ProcessLookupError:
                pass

    # -- statistics -----------------------------------------------------------------------
    @abc.abstractmethod
    def stats(self) -> dict:
        """runc 1.1.5's events ``types.Stats`` (cpu, cpuset, memory, pids, blkio, hugetlb,
        intel_rdt, network_interfaces), with Go's omitempty where runc has it."""

    @abc.abstractmethod
    def oom_count(self) -> int:
        """OOM kills the container's memory cgroup has seen."""

    # -- destroy --------------------------------------------------------------------------
    @abc.abstractmethod
    def destroy(self) -> None:
        """Remove the directories create made (deepest first; the container's own are
        retried while exiting processes linger; a parent still in use stays).  OSError if
        one cannot go in time."""


def host_driver() -> str:
    """"fs2" on a pure v2 host, else "fs" (runc: a hybrid host's limits go to v1)."""
    from pyrunc.runtime.linux.cgroups import hierarchy

    return "fs2" if hierarchy.is_pure_v2() else "fs"


def driver_class(driver: str) -> type[Manager]:
    """The manager class of a driver name (DRIVERS), its module imported on first use."""
    mod, name = DRIVERS[driver]
    return getattr(__import__(mod, fromlist=[name]), name)  # not importlib: it imports warnings


def new(cgroups_path: str, cid: str, rootless: bool = False, systemd: bool = False) -> Manager:
    """The manager for a container being created: ``cgroupsPath`` (config-linux.md: absolute
    from each hierarchy's root, relative from the runtime's own cgroup; empty: the id,
    relative), ``rootless``: ``--rootless`` (lenient only without an explicit path, runc's
    rule), ``systemd``: ``--systemd-cgroup`` (the path is then ``slice:prefix:name``)."""
    driver = "systemd" if systemd else host_driver()
    return driver_class(driver).for_path(cgroups_path, cid, rootless=rootless)


def load(dirs: list[str], made: list[str] | None = None, driver: str = "") -> Manager:
    """The manager of an existing container from its state: its directories, those create
    made, and the driver that made them ("" for this host's fs driver)."""
    return driver_class(driver or host_driver())(dirs, made)
