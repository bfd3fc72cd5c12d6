"""What the fs (v1) and fs2 (v2) drivers share: the container's directories (one per
hierarchy), made, joined and removed the same way, the status freezer reading, processes,
statistics.  Each driver adds its file mapping of the resources, its device rules and its
freezer (v1.py, v2.py).
"""

import os

from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux.cgroups.manager import Manager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc.spec.resources import Resources

Write = tuple[str, str, str, str]  # files.Write: controller, file, value, json path


class DirManager(Manager):
    """A manager over plain cgroupfs directories (no daemon between us and the kernel)."""

    def paths(self) -> dict[str, str]:
        from pyrunc.runtime.linux.cgroups.hierarchy import by_controller

        return by_controller(self.dirs)

    def to_create(self) -> list[str]:
        from pyrunc.runtime.linux.cgroups import directories

        return directories.to_create(self.dirs)

    def create(self) -> None:
        from pyrunc.runtime.linux.cgroups import directories

        if self.lenient:
            self.dirs, self.made, self.refused = directories.create_permitted(self.dirs)
        else:
            self.made = directories.create(self.dirs)

    def join(self, pid: int, sub: list[str] | None = None) -> None:
        from pyrunc.runtime.linux.cgroups import directories

        if sub:
            directories.join(self.sub_dirs(sub), pid)
        elif self.lenient:
            refused = directories.join_permitted(self.dirs, pid)
            self.refused += refused
            self.dirs = [d for d in self.dirs if d not in refused]
        else:
            directories.join(self.dirs, pid)

    def check_limits(self, res: "Resources") -> None:
        have = self.paths()
        for ctrl, _file, _value, _path in self.limit_writes(res):
            if ctrl not in have:
                raise PyruncError(f"cannot set {ctrl or 'unified'} limit: container could not join or create cgroup")

    # -- limits: the driver's file mapping, written in order -------------------------------
    def limit_writes(self, res: "Resources") -> list[Write]:
        """The files ``set`` writes for ``res`` (pure: the driver's translation)."""
        raise NotImplementedError

    def set(self, res: "Resources", update: bool = False) -> None:
        from pyrunc.runtime.linux.cgroups import files

        files.write_all(self.dirs, self.limit_writes(res))

    def set_devices(self, res: "Resources") -> None:
        if not self.rootless:
            self._set_devices(res)
            return
        if not self.dirs:
            return
        try:
            self._set_devices(res)
        except (PyruncError, OSError) as e:
            # runc: device rules are not expected to work rootless; their errors are ignored.
            from pyrunc.runtime import log

            log.debug(f"rootless: device rules not applied: {e}")

    def _set_devices(self, res: "Resources") -> None:
        raise NotImplementedError

    # -- freezer: the status reading is the same on both ----------------------------------
    def frozen(self) -> bool:
        for d in self.dirs:
            for name, frozen in (("freezer.state", "FROZEN"), ("cgroup.freeze", "1")):
                try:
                    with open(os.path.join(d, name)) as f:
                        if f.read().strip() == frozen:
                            return True
                except OSError:
                    continue
        return False

    def joining_would_freeze(self) -> bool:
        # The v1 freezer.state shows a frozen parent too; v2's cgroup.events "frozen 1" is
        # the effective state.
        for d in self.dirs:
            for name, bad in (("freezer.state", ("FROZEN", "FREEZING")), ("cgroup.freeze", ("1",)),
                              ("cgroup.events", ("frozen 1",))):
                try:
                    with open(os.path.join(d, name)) as f:
                        text = f.read()
                except OSError:
                    continue
                if any(b == line.strip() for line in text.splitlines() for b in bad):
                    return True
        return False

    def thaw(self) -> None:
        from pyrunc.runtime.linux.cgroups import files

        found = False
        err: OSError | None = None
        for d in self.dirs:
            for name, val in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
                p = os.path.join(d, name)
                if os.path.exists(p):
                    found = True
                    try:
                        files._write(p, val)
                    except OSError as e:
                        err = err or e
        if err is not None:
            raise err
        if not found:
            raise OSError(95, "cannot toggle freezer: cgroups not configured for container")

    # -- processes, statistics, destroy --------------------------------------------------------
    def pids(self) -> list[int]:
        from pyrunc.runtime.linux.cgroups import directories

        return directories.pids(self.dirs)

    def stats(self) -> dict:
        from pyrunc.runtime.linux.cgroups import stats

        return stats.stats(self.paths())

    def oom_count(self) -> int:
        from pyrunc.runtime.linux.cgroups import stats

        return stats.oom_count(self.paths())

    def destroy(self) -> None:
        if self.made:
            from pyrunc.runtime.linux.cgroups import directories

            directories.remove(self.made, self.dirs)
