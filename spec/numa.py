"""linux.memoryPolicy (config-linux.md "Memory policy", runtime-spec 1.3.0): checked at
load, applied with set_mempolicy(2) by runtime.linux.numa in every process the runtime
starts in the container (the init and exec's processes, as runc), just before execve;
the policy survives execve.  Layer: spec (between process and linux: may import linux's pure helpers and the base)."""

import os

from pyrunc.runtime.errors import ConfigError
from pyrunc.spec import cpulist
from pyrunc.spec.check import Obj, join, string

#: set_mempolicy(2) modes (uapi linux/mempolicy.h), in the spec's order.
MODES = {"MPOL_DEFAULT": 0, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3, "MPOL_WEIGHTED_INTERLEAVE": 6,
         "MPOL_PREFERRED": 1, "MPOL_PREFERRED_MANY": 5, "MPOL_LOCAL": 4}
#: Mode flags, or'ed into the mode argument.
FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14, "MPOL_F_STATIC_NODES": 1 << 15}

#: set_mempolicy(2): these modes take no nodes, these need at least one; MPOL_PREFERRED
#: takes none (then it is local allocation) or some.
_NO_NODES = {"MPOL_DEFAULT", "MPOL_LOCAL"}
_NEED_NODES = {"MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED_MANY"}

NODE_DIR = "/sys/devices/system/node"


class MemoryPolicy:
    __slots__ = ("mode_name", "mode", "flags", "nodes")

    def __init__(self, mode_name: str, mode: int, flags: int, nodes: list[int]) -> None:
        self.mode_name = mode_name
        self.mode = mode
        self.flags = flags
        self.nodes = nodes


def parse(mp: Obj, node_dir: str = NODE_DIR) -> MemoryPolicy:
    """The kernel's rules that do not depend on its version are checked here, so that a
    wrong policy fails before anything is made; the rest is the kernel's refusal,
    reported by the init with the same field."""
    mode_name = string(mp.require("mode"), mp.at("mode"))
    if mode_name not in MODES:
        raise ConfigError(mp.at("mode"), f"unknown memory policy mode {mode_name!r}")
    flags = 0
    names: set[str] = set()
    for i, f in enumerate(mp.strings("flags")):
        if f not in FLAGS:
            raise ConfigError(join(mp.at("flags"), i), f"unknown memory policy flag {f!r}")
        flags |= FLAGS[f]
        names.add(f)
    nodes = cpulist.parse(mp.str("nodes"), mp.at("nodes"))
    if mode_name in _NO_NODES and nodes:
        raise ConfigError(mp.at("nodes"), f"{mode_name} takes no nodes, got {len(nodes)}")
    if mode_name in _NEED_NODES and not nodes:
        raise ConfigError(mp.at("nodes"), f"{mode_name} needs at least one node")
    if {"MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"} <= names:
        raise ConfigError(mp.at("flags"), "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
    if names & {"MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"} and (
            mode_name == "MPOL_LOCAL" or (mode_name == "MPOL_PREFERRED" and not nodes)):
        raise ConfigError(mp.at("flags"), "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES need nodes "
                          "(set_mempolicy(2) refuses them for local allocation)")
    if "MPOL_F_NUMA_BALANCING" in names and mode_name not in ("MPOL_BIND", "MPOL_PREFERRED_MANY"):
        raise ConfigError(mp.at("flags"), f"MPOL_F_NUMA_BALANCING cannot be used with {mode_name}")
    possible = possible_nodes(node_dir)
    if possible is None:
        raise ConfigError(mp.path, f"this kernel has no NUMA support ({node_dir} is absent)")
    if "MPOL_F_RELATIVE_NODES" not in names:
        # Relative nodes are positions in the allowed set, not node ids: any number is fine.
        outside = [n for n in nodes if n not in possible]
        if outside:
            raise ConfigError(mp.at("nodes"), f"node {cpulist.format_list(outside)} does not exist on this host "
                              f"(possible nodes: {cpulist.format_list(sorted(possible))})")
    return MemoryPolicy(mode_name, MODES[mode_name], flags, nodes)


def possible_nodes(node_dir: str = NODE_DIR) -> set[int] | None:
    """The node ids this machine can ever have (``possible``), None without NUMA."""
    try:
        with open(os.path.join(node_dir, "possible")) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    except OSError:
        return {0}
    try:
        return set(cpulist.parse(text, "possible"))
    except ConfigError:
        return {0}
