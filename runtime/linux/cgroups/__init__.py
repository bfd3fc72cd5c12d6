"""The container's cgroups: one manager object per container (manager.py: the interface
and the factory), with a driver per cgroup layout: fs (v1.py, v1 and hybrid hosts), fs2
(v2.py, pure v2 hosts), systemd (``--systemd-cgroup``).  The small modules each own one
thing: hierarchy.py (this host's hierarchies, a cgroupsPath's directories), directories.py
(make, join, list, remove), files.py (writing limits in the kernel's order), stats.py
(events' statistics), convert.py (runc's v1 -> v2 conversions), base.py (what fs and fs2
share).

Pure stdlib: ``delete`` and ``kill --all`` use it on the hot path.
Names are imported when first used (PEP 562): ``state`` needs the manager, not the rest.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc.runtime.linux.cgroups.hierarchy import by_controller, hierarchies, is_pure_v2, resolve, unified_mode
    from pyrunc.runtime.linux.cgroups.manager import Manager, load, new

_HOME = {"Manager": "manager", "load": "manager", "new": "manager", "by_controller": "hierarchy",
         "hierarchies": "hierarchy", "is_pure_v2": "hierarchy", "resolve": "hierarchy", "unified_mode": "hierarchy"}

__all__ = ["Manager", "by_controller", "hierarchies", "is_pure_v2", "load", "new", "resolve", "unified_mode"]


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(__import__(f"{__name__}.{home}", fromlist=[name]), name)
