"""The fs2 driver: a pure cgroup v2 host, one directory in the unified tree, device rules
as an eBPF program attached to it (cgroup v2 has no devices files).  config-linux.md
"Control groups"; runc 1.1's libcontainer/cgroups/fs2/*.go for the files, with its
conversions from v1 values (shares -> cpu.weight, blkio weight -> io.weight, swap as swap
alone).
Layer: linux (the bottom: imports only linux and the base).

No ``os`` (fspath and posix instead, as v1.py): on a pure v2 host the short commands
(state, kill, delete) load this driver, and ``import os`` costs them a millisecond.
"""

from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux import fspath
from pyrunc.runtime.linux.cgroups import convert, files
from pyrunc.runtime.linux.cgroups.base import DirManager
from pyrunc.runtime.linux.cgroups.convert import (
    DEFAULT_MKNOD,
    blkio_weight_to_io_weight,
    default_allowed,
    shares_to_weight,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc.spec.resources import DeviceRule, Resources

Write = files.Write  # controller, file, value, json path
P = "linux.resources"


class Fs2Manager(DirManager):
    driver = "fs2"

    def limit_writes(self, res: "Resources") -> list[Write]:
        return limit_writes(res)

    def set(self, res: "Resources", update: bool = False) -> None:
        writes = limit_writes(res)
        mem = res.memory
        if update and mem is not None and mem.check_before_update and (mem.limit or 0) > 0:
            # config-linux.md: refuse a memory limit below the current usage (v2 only; v1's
            # kernel refuses by itself).
            from pyrunc.runtime.linux.cgroups import stats

            current = stats.read_int(fspath.join(self.paths().get("", ""), "memory.current"))
            if mem.limit < current:  # type: ignore[operator]
                raise ConfigError(f"{P}.memory.limit",
                                  f"{mem.limit} is below the current usage {current} (checkBeforeUpdate)")
        files.write_all(self.dirs, _bfq_weight(self.paths().get(""), res, writes))

    def _set_devices(self, res: "Resources", replaced: frozenset[str]) -> None:
        import posix

        from pyrunc.runtime.linux import devicefilter

        prog = devicefilter.load(devicefilter.build(device_rules_with_defaults(res.devices or [], replaced)))
        try:
            devicefilter.attach(self.paths()[""], prog)
        finally:
            posix.close(prog)

    def freeze(self) -> None:
        ctl = self.paths()
        if "" not in ctl:
            raise OSError(95, "cannot toggle freezer: cgroups not configured for container")
        from pyrunc.runtime.linux.cgroups import freezer  # (imports os: pause only)

        freezer.freeze_v2(ctl[""])




def _bfq_weight(d: str | None, res: "Resources", writes: list[Write]) -> list[Write]:
    """runc 1.1.5 (fs2/io.go setIo): where the BFQ scheduler offers io.bfq.weight, the
    blkio weight goes there as it is (10-1000), not converted into io.weight."""
    blk = res.block_io
    if d is None or blk is None or blk.weight is None or not fspath.exists(fspath.join(d, "io.bfq.weight")):
        return writes
    return [("", "io.bfq.weight", str(blk.weight), p) if f == "io.weight" else (c, f, v, p) for c, f, v, p in writes]


def limit_writes(res: "Resources") -> list[Write]:
    """``res`` as the unified tree's files (controller "": every write goes to the one tree).
    ``res`` comes checked from spec/resources.py; -1 is "max" (runc's numToStr), and any
    other value the kernel refuses is refused by the kernel, as under runc."""

    out: list[Write] = []
    mem = res.memory
    mp = f"{P}.memory"
    if mem is not None:
        limit = mem.limit
        if limit is not None:
            out.append(("", "memory.max", _max(limit), f"{mp}.limit"))
        if mem.reservation is not None:
            out.append(("", "memory.low", _max(mem.reservation), f"{mp}.reservation"))
        if mem.swap is not None:
            # v1's swap is memory+swap; v2's memory.swap.max is swap alone.
            val = "max" if mem.swap < 0 else str(convert.swap_only(mem.swap, limit, f"{mp}.swap"))
            out.append(("", "memory.swap.max", val, f"{mp}.swap"))
    cpu = res.cpu
    cp = f"{P}.cpu"
    if cpu is not None:
        if cpu.shares is not None:
            out.append(("", "cpu.weight", str(shares_to_weight(cpu.shares)), f"{cp}.shares"))
        if cpu.quota is not None or cpu.period is not None:
            q = -1 if cpu.quota is None else cpu.quota
            per = 100000 if cpu.period is None else cpu.period
            out.append(("", "cpu.max", f"{'max' if q <= 0 else q} {per}", f"{cp}.quota"))
        if cpu.burst is not None:
            out.append(("", "cpu.max.burst", str(cpu.burst), f"{cp}.burst"))
        if cpu.idle is not None:
            out.append(("", "cpu.idle", str(cpu.idle), f"{cp}.idle"))
    out += convert.cpuset_and_pids(res, v2=True)
    blk = res.block_io
    if blk is not None:
        if blk.weight is not None:
            out.append(("", "io.weight", f"default {blkio_weight_to_io_weight(blk.weight)}",
                        f"{P}.blockIO.weight"))
        for attr, key in blk.THROTTLES:
            kw = {"throttleReadBpsDevice": "rbps", "throttleWriteBpsDevice": "wbps",
                  "throttleReadIOPSDevice": "riops", "throttleWriteIOPSDevice": "wiops"}[key]
            for i, t in enumerate(getattr(blk, attr) or []):
                out.append(("", "io.max", f"{t.major}:{t.minor} {kw}={t.rate}", f"{P}.blockIO.{key}[{i}]"))
    for i, h in enumerate(res.hugepage_limits or []):
        out.append(("", f"hugetlb.{h.page_size}.max", str(h.limit), f"{P}.hugepageLimits[{i}]"))
    for key, val in (res.unified or {}).items():  # file names checked by spec/resources.py
        out.append(("", key, str(val), f"{P}.unified.{key}"))
    return out


def _max(v: int) -> str:
    """runc's numToStr for the memory files: -1 is "max"."""
    return "max" if v == -1 else str(v)


def device_rules_with_defaults(devices: "list[DeviceRule]", replaced: frozenset[str] = frozenset()) -> list[dict]:
    """The rules of the eBPF device filter (linux/devicefilter.py's shape): the config's,
    then runc's defaults (less those whose path linux.devices lists: ``replaced``)."""
    out = [{"allow": r.allow, "type": r.type, "major": r.major, "minor": r.minor, "access": r.access}
           for r in devices]
    for typ, _major, _minor in DEFAULT_MKNOD:
        out.append({"allow": True, "type": typ, "major": None, "minor": None, "access": "m"})
    for typ, major, minor in default_allowed(replaced):
        out.append({"allow": True, "type": typ, "major": major, "minor": None if minor < 0 else minor,
                    "access": "rwm"})
    return out
