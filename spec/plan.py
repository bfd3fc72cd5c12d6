"""The Plan: config.json checked and translated into what the lower layers consume.

Nothing below the spec layer reads raw JSON; every field here is already typed and
validated, and carries the JSON path it came from where errors may still arise later
(a mount the kernel refuses is reported with its ``mounts[i]`` path).
"""


class Mount:
    __slots__ = ("path", "destination", "type", "source", "options", "flags", "propagation",
                 "data", "extensions", "idmap", "uid_mappings", "gid_mappings", "rec_set", "rec_clr")

    def __init__(self, path: str, destination: str, type_: str, source: str, options: list[str],
                 flags: int, propagation: list[int], data: str, extensions: set[str]) -> None:
        self.path = path
        self.destination = destination
        self.type = type_
        self.source = source
        self.options = options
        self.flags = flags
        self.propagation = propagation
        self.data = data
        self.extensions = extensions
        #: "" or, for an idmapped bind mount, "idmap" or "ridmap" (config.md 1.2+)
        self.idmap = ""
        self.uid_mappings: list[IDMap] = []
        self.gid_mappings: list[IDMap] = []
        #: mount_setattr(2) attributes for the recursive options (rro, rnosuid...)
        self.rec_set = 0
        self.rec_clr = 0

    @property
    def is_bind(self) -> bool:
        from pyrunc.runtime.linux.consts import MS_BIND

        return bool(self.flags & MS_BIND) or self.type == "bind"


class Namespace:
    __slots__ = ("type", "flag", "path")

    def __init__(self, type_: str, flag: int, path: str) -> None:
        self.type = type_
        self.flag = flag
        self.path = path


class IDMap:
    __slots__ = ("container_id", "host_id", "size")

    def __init__(self, container_id: int, host_id: int, size: int) -> None:
        self.container_id = container_id
        self.host_id = host_id
        self.size = size


class Device:
    __slots__ = ("path", "type", "major", "minor", "file_mode", "uid", "gid")

    def __init__(self, path: str, type_: str, major: int, minor: int, file_mode: int,
                 uid: int, gid: int) -> None:
        self.path = path
        self.type = type_
        self.major = major
        self.minor = minor
        self.file_mode = file_mode
        self.uid = uid
        self.gid = gid


class Rlimit:
    __slots__ = ("name", "resource", "soft", "hard")

    def __init__(self, name: str, resource: int, soft: int, hard: int) -> None:
        self.name = name
        self.resource = resource
        self.soft = soft
        self.hard = hard


class Capabilities:
    """Capability numbers per set; ``unknown`` holds (json path, name) for the warnings."""

    __slots__ = ("bounding", "effective", "permitted", "inheritable", "ambient", "unknown")

    def __init__(self) -> None:
        self.bounding: list[int] = []
        self.effective: list[int] = []
        self.permitted: list[int] = []
        self.inheritable: list[int] = []
        self.ambient: list[int] = []
        self.unknown: list[tuple[str, str]] = []


class Hook:
    __slots__ = ("path", "args", "env", "timeout", "where")

    def __init__(self, path: str, args: list[str], env: list[str], timeout: int | None,
                 where: str) -> None:
        self.path = path
        self.args = args
        self.env = env
        self.timeout = timeout
        self.where = where


class Scheduler:
    """``process.scheduler`` as sched_setattr(2) takes it (config.md "process")."""

    __slots__ = ("policy_name", "policy", "nice", "priority", "flags", "runtime", "deadline", "period")

    def __init__(self, policy_name: str, policy: int, nice: int, priority: int, flags: int, runtime: int,
                 deadline: int, period: int) -> None:
        self.policy_name = policy_name
        self.policy = policy
        self.nice = nice
        self.priority = priority
        self.flags = flags
        self.runtime = runtime
        self.deadline = deadline
        self.period = period


class Process:
    __slots__ = ("terminal", "console_size", "uid", "gid", "umask", "additional_gids", "args", "env",
                 "cwd", "capabilities", "rlimits", "no_new_privileges", "oom_score_adj",
                 "apparmor_profile", "selinux_label", "scheduler", "io_priority", "personality", "seccomp",
                 "memory_policy", "exec_cpu_affinity")

    def __init__(self) -> None:
        self.terminal = False
        self.console_size: tuple[int, int] | None = None  # (height, width)
        self.uid = 0
        self.gid = 0
        self.umask: int | None = None
        self.additional_gids: list[int] = []
        self.args: list[str] = []
        self.env: list[str] = []
        self.cwd = "/"
        self.capabilities: Capabilities | None = None
        self.rlimits: list[Rlimit] = []
        self.no_new_privileges = False
        self.oom_score_adj: int | None = None
        self.apparmor_profile = ""
        self.selinux_label = ""
        self.scheduler: Scheduler | None = None
        #: ioprio_set(2)'s value: class << 13 | priority.
        self.io_priority: int | None = None
        # Container-wide (linux.personality, linux.seccomp), copied here for the init and exec.
        self.personality: int | None = None
        self.seccomp = None  # pyrunc.spec.seccomp.Seccomp | None
        self.memory_policy = None  # linux.memoryPolicy: pyrunc.spec.numa.MemoryPolicy | None
        #: process.execCPUAffinity (exec only): (initial, final) CPU lists, [] where unset.
        self.exec_cpu_affinity: tuple[list[int], list[int]] | None = None


class Plan:
    """A checked config.json, with bundle-relative paths made absolute."""

    def __init__(self) -> None:
        self.oci_version = ""
        self.bundle = ""
        self.rootfs = ""
        self.root_readonly = False
        self.process: Process | None = None
        self.hostname: str | None = None
        self.domainname: str | None = None
        self.mounts: list[Mount] = []
        self.namespaces: list[Namespace] = []
        self.uid_mappings: list[IDMap] = []
        self.gid_mappings: list[IDMap] = []
        self.time_offsets: dict[str, tuple[int, int]] = {}
        self.devices: list[Device] = []
        self.masked_paths: list[str] = []
        self.readonly_paths: list[str] = []
        self.rootfs_propagation = ""
        self.cgroups_path = ""
        #: linux.resources, typed (spec/resources.py); None when the config has none
        self.resources = None  # pyrunc.spec.resources.Resources | None
        self.sysctl: dict[str, str] = {}
        self.annotations: dict[str, str] = {}
        self.hooks: dict[str, list[Hook]] = {}
        self.mount_label = ""
        self.personality: int | None = None  # linux.personality: personality(2)'s persona
        self.seccomp = None  # linux.seccomp: pyrunc.spec.seccomp.Seccomp | None
        #: linux.netDevices: host interface name -> its name in the container (config order)
        self.net_devices: dict[str, str] = {}
        self.memory_policy = None  # linux.memoryPolicy: pyrunc.spec.numa.MemoryPolicy | None
        self.intel_rdt = None  # linux.intelRdt: pyrunc.spec.resctrl.IntelRdt | None

    def namespace(self, type_: str) -> Namespace | None:
        for ns in self.namespaces:
            if ns.type == type_:
                return ns
        return None
