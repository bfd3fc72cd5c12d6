"""linux.intelRdt (config-linux.md "IntelRdt", runtime-spec 1.3.0): checked at load;
applied by runtime.linux.resctrl when create places the container's first process.
Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

from pyrunc.runtime.errors import ConfigError
from pyrunc.spec.check import Obj, join


class IntelRdt:
    __slots__ = ("clos_id", "l3_cache_schema", "mem_bw_schema", "schemata", "enable_monitoring", "root")

    def __init__(self, clos_id: str, l3: str, mb: str, schemata: list[str], monitoring: bool) -> None:
        self.clos_id = clos_id
        self.l3_cache_schema = l3
        self.mem_bw_schema = mb
        self.schemata = schemata
        self.enable_monitoring = monitoring
        #: where resctrl is mounted in the runtime's mount namespace
        self.root = ""

    @property
    def has_schema(self) -> bool:
        return bool(self.l3_cache_schema or self.mem_bw_schema or self.schemata)

    def schema_lines(self) -> list[str]:
        """What goes to the ``schemata`` file, in the spec's order: l3CacheSchema first,
        memBwSchema next, the ``schemata`` lines last."""
        return [s for s in (self.l3_cache_schema, self.mem_bw_schema, *self.schemata) if s]


def parse(ro: Obj, mountinfo: str = "/proc/self/mountinfo") -> IntelRdt:
    """The fields' rules, then the host: without a mounted resctrl the runtime MUST
    generate an error (config-linux.md), here before anything is made."""
    clos = ro.str("closID")
    if clos and clos != "/" and ("/" in clos or clos in (".", "..")):
        raise ConfigError(ro.at("closID"), f"{clos!r} must be \"/\" or a single directory name")
    l3 = ro.str("l3CacheSchema")
    mb = ro.str("memBwSchema")
    for key, v in (("closID", clos), ("l3CacheSchema", l3), ("memBwSchema", mb)):
        if "\n" in v:
            raise ConfigError(ro.at(key), "must not contain a newline")
    if mb and not mb.startswith("MB:"):
        raise ConfigError(ro.at("memBwSchema"), f"{mb!r} must start with \"MB:\"")
    schemata = ro.strings("schemata")
    for i, s in enumerate(schemata):
        if "\n" in s:
            raise ConfigError(join(ro.at("schemata"), i), "must not contain a newline")
    rdt = IntelRdt(clos, l3, mb, schemata, ro.bool("enableMonitoring"))
    from pyrunc.runtime.linux import resctrl

    root = resctrl.mountpoint(mountinfo)
    if root is None:
        raise ConfigError(ro.path, f"resctrl is not mounted on this host ({resctrl.ROOT})")
    rdt.root = root
    return rdt
