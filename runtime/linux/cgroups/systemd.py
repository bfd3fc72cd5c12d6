"""The systemd driver (``--systemd-cgroup``): the container's cgroups belong to a transient
systemd unit, as with runc's libcontainer/cgroups/systemd (v1.go's legacyManager on v1 and
hybrid hosts, v2.go's unifiedManager on pure v2 ones).

config-linux.md "Cgroups path": with this driver ``linux.cgroupsPath`` is
``slice:prefix:name`` (systemd_props.parse_path).  A create, in the manager protocol's
order (manager.py):

- ``create``: systemd is asked for its version (a systemd that is not there fails here,
  before any process of the container exists);
- ``set``: the limits wait for the unit;
- ``join(init pid)``: ``StartTransientUnit`` (mode ``replace``) with runc's properties
  (Description, Slice and Delegate=yes, or Wants= for a slice; PIDs: the init; accounting
  on; DefaultDependencies=no; the ``org.systemd.property.*`` annotations), the job waited
  for; then, as runc's joinCgroups, the init joins the unit's directory in every
  hierarchy (systemd makes those of the controllers it manages; the others, cpuset or
  freezer, are made here); then the limits: ``SetUnitProperties`` with the resource
  properties systemd knows, and the same limits through the fs driver, which also writes
  what systemd has no property for;
- ``set_devices``: DevicePolicy/DeviceAllow, then the fs driver's device rules (systemd
  cannot express them all: runc's fallback).

Afterwards everything but ``update`` and ``destroy`` is the fs driver's on the unit's
directories (freezer, processes, statistics).  ``update``: ``SetUnitProperties`` then the
fs driver.  ``destroy``: ``StopUnit`` (a unit already gone is fine), then the fs driver
removes what is left of the unit's directories.  The parent slices stay, as with runc:
they are systemd's (a pod's slice outlives its containers).

A systemd that is not there or refuses is one line naming the cgroupsPath and systemd's
answer; create's clean-up then stops the unit and removes its directories.
"""

import errno
import os

from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux.cgroups import systemd_props
from pyrunc.runtime.linux.cgroups.hierarchy import by_controller, hierarchies, is_pure_v2
from pyrunc.runtime.linux.cgroups.manager import Manager, host_driver

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc.runtime.linux.cgroups.systemd_dbus import Systemd
    from pyrunc.spec.resources import Resources


def init_cgroups() -> dict[str, str]:
    """controllers ('' for the unified tree) -> PID 1's cgroup, without a trailing
    init.scope (systemd >= 226 runs there; its slices hang from the level above)."""
    out = {}
    with open("/proc/1/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            path = os.path.normpath(path)
            if os.path.basename(path) == "init.scope":
                path = os.path.dirname(path)
            out[",".join(sorted(ctrls.split(","))) if ctrls else ""] = path
    return out


def unit_dirs(cgroup: str) -> list[str]:
    """The unit's directory in every hierarchy (runc's getSubsystemPath: mount point +
    PID 1's cgroup + the slices + the unit)."""
    init = init_cgroups()
    out = []
    for mnt, root, fstype, ctrls in hierarchies():
        base = init.get("" if fstype == "cgroup2" else ctrls, "/")
        inner = os.path.normpath(base.rstrip("/") + cgroup)
        if root != "/" and (inner == root or inner.startswith(root + "/")):
            inner = inner[len(root):] or "/"
        out.append(mnt.rstrip("/") + inner)
    return out


class SystemdManager(Manager):
    driver = "systemd"

    def __init__(self, dirs: list[str], made: list[str] | None = None, rootless: bool = False,
                 lenient: bool = False) -> None:
        super().__init__(dirs, made, rootless, lenient)
        from pyrunc.runtime.linux.cgroups.manager import driver_class

        self.unit = os.path.basename(self.dirs[0]) if self.dirs else ""
        self.v2 = is_pure_v2()
        # What the unit's directories need besides systemd: the fs driver of this host.
        self.fs = driver_class(host_driver())(self.dirs, self.made)
        self.path: systemd_props.UnitPath | None = None  # set for a create (for_path)
        self.cgroups_path = ""
        self.extra: list[systemd_props.Prop] = []  # the annotations' properties
        self.started = False
        self._pending: Resources | None = None
        self._bus: Systemd | None = None
        self._version = 0

    @classmethod
    def for_path(cls, cgroups_path: str, cid: str, rootless: bool = False) -> "SystemdManager":
        if rootless:
            # runc 1.1.5 on v1 (NewLegacyManager); on v2 runc talks to the user's systemd,
            # which this driver does not do.
            raise PyruncError("cannot use rootless systemd cgroups manager on cgroup v1" if not is_pure_v2()
                              else "rootless systemd cgroups manager (systemd --user) is not supported")
        up = systemd_props.parse_path(cgroups_path, cid)
        m = cls(unit_dirs(up.cgroup))
        m.path, m.cgroups_path, m.unit = up, cgroups_path, up.unit
        return m

    def use_annotations(self, annotations: dict[str, str]) -> None:
        """The ``org.systemd.property.*`` annotations, checked now (ConfigError naming one)."""
        self.extra = systemd_props.annotation_properties(annotations)

    # -- talking to systemd ----------------------------------------------------------------
    def _fail(self, what: str, answer: object) -> PyruncError:
        shown = self.cgroups_path if self.path is not None else self.unit
        import json  # not at the top: status() loads this driver on every short command

        return PyruncError(f"linux.cgroupsPath {json.dumps(shown)}: systemd: {what} {self.unit}: {answer}")

    def bus(self) -> "Systemd":
        from pyrunc.runtime.linux.cgroups.systemd_dbus import Systemd, SystemdError

        if self._bus is None:
            try:
                bus = Systemd()
            except SystemdError as e:
                raise self._fail("connect for unit", e) from None
            try:
                self._version = bus.version()
            except BaseException as e:
                bus.close()
                if isinstance(e, SystemdError):
                    raise self._fail("connect for unit", e) from None
                raise
            self._bus = bus
        return self._bus

    def close(self) -> None:
        """Close the connection to systemd, if one is open (each step that uses it opens it
        again when needed).  Closed by the last step of a create (set_devices), by an
        update's set, and by destroy (a failed create's clean-up): a foreground ``run``
        holds no connection while its container lives."""
        if self._bus is not None:
            bus, self._bus = self._bus, None
            bus.close()

    def _set_properties(self, props: list, what: str = "set properties of") -> None:
        from pyrunc.runtime.linux.cgroups.systemd_dbus import SystemdError

        try:
            self.bus().set_unit_properties(self.unit, props)
        except SystemdError as e:
            raise self._fail(what, e) from None

    def _resource_properties(self, res: "Resources") -> list:
        self.bus()  # the version decides some properties (update has not asked yet)
        gen = systemd_props.v2_properties if self.v2 else systemd_props.v1_properties
        return gen(res, self._version)

    # -- create and join -------------------------------------------------------------------
    def paths(self) -> dict[str, str]:
        return by_controller(self.dirs)

    def to_create(self) -> list[str]:
        return list(self.dirs)  # the unit's own; its slices are systemd's

    def create(self) -> None:
        self.bus()  # no systemd: fail before the init exists
        self.made = list(self.dirs)
        self.fs.made = self.made

    def join(self, pid: int, sub: list[str] | None = None) -> None:
        if self.path is None or self.started:  # exec, or a second process
            self.fs.join(pid, sub)
            return
        from pyrunc.runtime.linux.cgroups import directories
        from pyrunc.runtime.linux.cgroups.systemd_dbus import SystemdError

        props = systemd_props.unit_properties(self.path, pid, self.v2, self.extra)
        bus = self.bus()
        try:
            result = bus.start_transient_unit(self.unit, props)
        except SystemdError as e:
            if not e.name.endswith(".UnitExists"):  # runc: an existing unit is joined
                raise self._fail("start unit", e) from None
            result = "done"
        self.started = True
        if result != "done":
            try:
                bus.reset_failed_unit(self.unit)
            except SystemdError:
                pass
            raise self._fail("start unit", f"got `{result}`")
        # runc's joinCgroups: the hierarchies systemd does not manage get the directory too.
        directories.create(self.dirs)
        directories.join(self.dirs, pid)
        if self._pending is not None:
            res, self._pending = self._pending, None
            self.set(res)

    def check_limits(self, res: "Resources") -> None:
        return  # no leniency: rootless is refused

    # -- limits ----------------------------------------------------------------------------
    def set(self, res: "Resources", update: bool = False) -> None:
        if self.path is not None and not self.started:
            self._pending = res  # the unit comes at join
            return
        try:
            # Update: no device properties (an update leaves the device rules alone; systemd
            # re-applies a controller only when one of its own properties changes).
            self._set_properties(self._resource_properties(res))
        finally:
            if self.path is None:  # an update (a manager from the state): its one step
                self.close()
        self.fs.set(res, update)

    def set_devices(self, res: "Resources", replaced: frozenset[str] = frozenset()) -> None:
        def group_of(typ: str, major: int) -> str:
            try:
                with open("/proc/devices") as f:
                    return systemd_props.device_group(f.read(), typ, major)
            except OSError:
                return ""

        def exists(path: str) -> bool:
            # systemd warns about a missing path; /sys/dev too (no udev, no /dev/char).
            return os.path.exists(path) or os.path.exists("/sys" + path)

        try:
            self._set_properties(systemd_props.device_properties(res, group_of, exists, replaced),
                                 "set device rules of")
        finally:
            self.close()  # the last step of a create that talks to systemd (manager.py's order)
        self.fs.set_devices(res, replaced)

    # -- freezer, processes, statistics: the unit's directories ----------------------------
    def freeze(self) -> None:
        self.fs.freeze()

    def thaw(self) -> None:
        self.fs.thaw()

    def frozen(self) -> bool:
        return self.fs.frozen()

    def joining_would_freeze(self) -> bool:
        return self.fs.joining_would_freeze()

    def pids(self) -> list[int]:
        return self.fs.pids()

    def stats(self) -> dict:
        return self.fs.stats()

    def oom_count(self) -> int:
        return self.fs.oom_count()

    # -- destroy ---------------------------------------------------------------------------
    def destroy(self) -> None:
        """StopUnit, then the unit's directories; OSError if systemd could not be asked
        (the directories are removed all the same)."""
        from pyrunc.runtime.linux.cgroups.systemd_dbus import Systemd, SystemdError

        self.close()  # a failed create's connection: a fresh one asks for the stop
        problem = ""
        try:
            with Systemd() as bus:
                try:
                    result = bus.stop_unit(self.unit)
                    if result != "done":
                        problem = f"stop unit {self.unit}: got `{result}`"
                except SystemdError as e:
                    if not e.name.endswith(".NoSuchUnit"):
                        problem = f"stop unit {self.unit}: {e}"
                try:
                    bus.reset_failed_unit(self.unit)  # a failed unit would stay listed
                except SystemdError:
                    pass
        except SystemdError as e:
            problem = f"stop unit {self.unit}: {e}"
        self.fs.made = self.made
        self.fs.destroy()
        if problem:
            raise OSError(errno.EIO, f"systemd: {problem}")
