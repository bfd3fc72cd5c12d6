"""What the fs (v1) and fs2 (v2) drivers share: the container's directories (one per
hierarchy), made, joined and removed the same way, the status freezer reading, processes,
statistics.  Each driver adds its file mapping of the resources, its device rules and its
freezer (v1.py, v2.py).
Layer: linux (the bottom: imports only linux and the base).
"""


from pyrunc.runtime.errors import PyruncError
from pyrunc.runtime.linux import fspath
from pyrunc.runtime.linux.cgroups.manager import Manager, Placement

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
            self.made += directories.create([d for d in self.dirs if d not in self.made])

    def create_first(self, d: str) -> None:
        from pyrunc.runtime.linux.cgroups import directories

        self.made += directories.create([d])

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

    def placement(self, sub: list[str] | None = None) -> Placement | None:
        dirs = self.sub_dirs(sub) if sub else self.dirs
        if self.lenient or not dirs:
            return None
        from pyrunc.runtime.linux.cgroups.hierarchy import by_controller

        unified = by_controller(dirs).get("", "")
        return Placement(unified, [fspath.join(d, "tasks") for d in dirs if d != unified])

    def check_limits(self, res: "Resources") -> None:
        have = self.paths()
        for ctrl, _file, _value, _path in self.limit_writes(res):
            if ctrl not in have:
                if "memory" not in have and "" not in have:
                    # runc's failed start asks the memory cgroup for its OOM kills, and warns
                    # that it has none to ask (runc 1.1.5's words).
                    from pyrunc.runtime import log

                    log.warn("unable to get oom kill count", error="no directory specified for memory.oom_control")
                # runc's chain: the limits are set at the init's hooks step (procHooks).
                raise PyruncError("unable to start container process: error during container init: error setting "
                                  f"cgroup config for procHooks process: cannot set {ctrl or 'unified'} limit: "
                                  "container could not join or create cgroup")

    # -- limits: the driver's file mapping, written in order -------------------------------
    def limit_writes(self, res: "Resources") -> list[Write]:
        """The files ``set`` writes for ``res`` (pure: the driver's translation)."""
        raise NotImplementedError

    def set(self, res: "Resources", update: bool = False) -> None:
        from pyrunc.runtime.linux.cgroups import files

        files.write_all(self.dirs, self.limit_writes(res))

    def set_devices(self, res: "Resources", replaced: frozenset[str] = frozenset()) -> None:
        if not self.rootless:
            self._set_devices(res, replaced)
            return
        if not self.dirs:
            return
        try:
            self._set_devices(res, replaced)
        except (PyruncError, OSError) as e:
            # runc: device rules are not expected to work rootless; their errors are ignored.
            from pyrunc.runtime import log

            log.debug(f"rootless: device rules not applied: {e}")

    def _set_devices(self, res: "Resources", replaced: frozenset[str]) -> None:
        raise NotImplementedError

    # -- freezer: the status reading is the same on both ----------------------------------
    def _freezer_dirs(self) -> tuple[str | None, str | None]:
        """The container's v1 freezer directory (freezer.state) and its unified one
        (cgroup.freeze, cgroup.events), either None when it has none: only the file each
        hierarchy has is read, not every freezer file in every hierarchy (list reads it
        per container)."""
        from pyrunc.runtime.linux.cgroups.hierarchy import freezer_mounts

        v1 = v2 = None
        m1, m2 = freezer_mounts()
        p1, p2 = f"{m1}/", f"{m2}/"
        for d in self.dirs:
            if v1 is None and m1 is not None and (d == m1 or d.startswith(p1)):
                v1 = d
            elif v2 is None and m2 is not None and (d == m2 or d.startswith(p2)):
                v2 = d
        return v1, v2

    def frozen(self) -> bool:
        # v1's freezer.state where the container has a v1 freezer, the unified tree's
        # cgroup.freeze where it has one (a hybrid host may be frozen through either).
        v1, v2 = self._freezer_dirs()
        return ((v1 is not None and _read(fspath.join(v1, "freezer.state")) == "FROZEN")
                or (v2 is not None and _read(fspath.join(v2, "cgroup.freeze")) == "1"))

    def joining_would_freeze(self) -> bool:
        # The v1 freezer.state shows a frozen parent too; v2's cgroup.events "frozen 1" is
        # the effective state.
        v1, v2 = self._freezer_dirs()
        if v1 is not None and _read(fspath.join(v1, "freezer.state")) in ("FROZEN", "FREEZING"):
            return True
        if v2 is not None:
            if _read(fspath.join(v2, "cgroup.freeze")) == "1":
                return True
            events = _read(fspath.join(v2, "cgroup.events"))
            if events is not None and any(line.strip() == "frozen 1" for line in events.splitlines()):
                return True
        return False

    def thaw(self) -> None:
        from pyrunc.runtime.linux.cgroups import files

        found = False
        err: OSError | None = None
        v1, v2 = self._freezer_dirs()
        for d, name, val in ((v1, "freezer.state", "THAWED"), (v2, "cgroup.freeze", "0")):
            if d is None:
                continue
            p = fspath.join(d, name)
            if fspath.exists(p):
                found = True
                try:
                    files.write_file(p, val)
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


def _read(path: str) -> str | None:
    """A freezer file's content, stripped; None when it cannot be read (no such file in
    this hierarchy, or the cgroup is gone)."""
    try:
        return fspath.read_file(path).decode(errors="replace").strip()
    except OSError:
        return None
