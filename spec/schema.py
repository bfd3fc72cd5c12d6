"""A JSON Schema of config.json for runtime-spec 1.3.0 (Linux), written from config.md,
config-linux.md and the spec's Go types' field list, for ``pyrunc validate``.
Layer: spec (between process and linux: may import linux's pure helpers and the base).

It checks shapes and enumerations; the cross-field rules (a hostname needs a UTS
namespace, ...) stay with the Plan loader, which ``validate`` runs as well.
Only ``validate`` imports this module (and jsonschema): never the create path.
"""

U32 = {"type": "integer", "minimum": 0, "maximum": 4294967295}
I64 = {"type": "integer", "minimum": -9223372036854775808, "maximum": 9223372036854775807}
U64 = {"type": "integer", "minimum": 0, "maximum": 18446744073709551615}
STR = {"type": "string"}
STRS = {"type": "array", "items": STR}
ABS = {"type": "string", "pattern": "^/"}

ID_MAP = {"type": "object", "required": ["containerID", "hostID", "size"], "additionalProperties": False,
          "properties": {"containerID": U32, "hostID": U32, "size": U32}}

HOOK = {"type": "object", "required": ["path"],
        "properties": {"path": ABS, "args": STRS, "env": STRS, "timeout": {"type": "integer", "minimum": 1}}}
HOOKS = {"type": "array", "items": HOOK}

CAPS = {"type": "array", "items": {"type": "string", "pattern": "^CAP_[A-Z_]+$"}}

CPU_LIST = {"type": "string", "pattern": r"^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$"}

WEIGHT_DEVICE = {"type": "object", "required": ["major", "minor"],
                 "properties": {"major": I64, "minor": I64,
                                "weight": {"type": "integer", "minimum": 0, "maximum": 65535},
                                "leafWeight": {"type": "integer", "minimum": 0, "maximum": 65535}}}
THROTTLE_DEVICE = {"type": "object", "required": ["major", "minor", "rate"],
                   "properties": {"major": I64, "minor": I64, "rate": U64}}

RESOURCES = {
    "type": "object",
    "properties": {
        "devices": {"type": "array", "items": {
            "type": "object", "required": ["allow"],
            "properties": {"allow": {"type": "boolean"}, "type": {"enum": ["a", "c", "b"]},
                           "major": I64, "minor": I64, "access": {"type": "string", "pattern": "^[rwm]*$"}}}},
        "memory": {"type": "object", "properties": {
            "limit": I64, "reservation": I64, "swap": I64, "kernel": I64, "kernelTCP": I64,
            "swappiness": {"type": "integer", "minimum": 0, "maximum": 100},
            "disableOOMKiller": {"type": "boolean"}, "useHierarchy": {"type": "boolean"},
            "checkBeforeUpdate": {"type": "boolean"}}},
        "cpu": {"type": "object", "properties": {
            "shares": U64, "quota": I64, "burst": U64, "period": U64, "realtimeRuntime": I64,
            "realtimePeriod": U64, "cpus": STR, "mems": STR, "idle": I64}},
        "pids": {"type": "object", "properties": {"limit": I64}},
        "blockIO": {"type": "object", "properties": {
            "weight": {"type": "integer", "minimum": 0, "maximum": 65535},
            "leafWeight": {"type": "integer", "minimum": 0, "maximum": 65535},
            "weightDevice": {"type": "array", "items": WEIGHT_DEVICE},
            "throttleReadBpsDevice": {"type": "array", "items": THROTTLE_DEVICE},
            "throttleWriteBpsDevice": {"type": "array", "items": THROTTLE_DEVICE},
            "throttleReadIOPSDevice": {"type": "array", "items": THROTTLE_DEVICE},
            "throttleWriteIOPSDevice": {"type": "array", "items": THROTTLE_DEVICE}}},
        "hugepageLimits": {"type": "array", "items": {
            "type": "object", "required": ["pageSize", "limit"],
            "properties": {"pageSize": {"type": "string", "pattern": "^[1-9][0-9]*[KMG]B$"}, "limit": U64}}},
        "network": {"type": "object", "properties": {
            "classID": U32, "priorities": {"type": "array", "items": {
                "type": "object", "required": ["name", "priority"],
                "properties": {"name": STR, "priority": U32}}}}},
        "rdma": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"hcaHandles": U32, "hcaObjects": U32}}},
        "unified": {"type": "object", "additionalProperties": STR},
    },
}

SECCOMP_ACTIONS = ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
                   "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"]
SECCOMP_OPS = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
               "SCMP_CMP_MASKED_EQ"]
SECCOMP = {
    "type": "object", "required": ["defaultAction"],
    "properties": {
        "defaultAction": {"enum": SECCOMP_ACTIONS}, "defaultErrnoRet": U32,
        "architectures": {"type": "array", "items": {"type": "string", "pattern": "^SCMP_ARCH_[A-Z0-9_]+$"}},
        "flags": {"type": "array", "items": {"enum": [
            "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}},
        "listenerPath": STR, "listenerMetadata": STR,
        "syscalls": {"type": "array", "items": {
            "type": "object", "required": ["names", "action"],
            "properties": {"names": {"type": "array", "items": STR, "minItems": 1},
                           "action": {"enum": SECCOMP_ACTIONS}, "errnoRet": U32,
                           "args": {"type": "array", "items": {
                               "type": "object", "required": ["index", "value", "op"],
                               "properties": {"index": U32, "value": U64, "valueTwo": U64,
                                              "op": {"enum": SECCOMP_OPS}}}}}}},
    },
}

LINUX = {
    "type": "object",
    "properties": {
        "devices": {"type": "array", "items": {
            "type": "object", "required": ["type", "path"],
            "properties": {"type": {"enum": ["c", "b", "u", "p"]}, "path": ABS, "major": I64, "minor": I64,
                           "fileMode": {"type": "integer", "minimum": 0, "maximum": 4095}, "uid": U32,
                           "gid": U32}}},
        "uidMappings": {"type": "array", "items": ID_MAP},
        "gidMappings": {"type": "array", "items": ID_MAP},
        "namespaces": {"type": "array", "items": {
            "type": "object", "required": ["type"],
            "properties": {"type": {"enum": ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]},
                           "path": ABS}}},
        "timeOffsets": {"type": "object", "additionalProperties": False, "properties": {
            k: {"type": "object", "properties": {"secs": I64, "nanosecs": U32}} for k in ("boottime", "monotonic")}},
        "resources": RESOURCES,
        "cgroupsPath": STR,
        "rootfsPropagation": {"enum": ["private", "shared", "slave", "unbindable", "rprivate", "rshared",
                                       "rslave", "runbindable"]},
        "seccomp": SECCOMP,
        "sysctl": {"type": "object", "additionalProperties": STR},
        "maskedPaths": {"type": "array", "items": ABS},
        "readonlyPaths": {"type": "array", "items": ABS},
        "mountLabel": STR,
        "intelRdt": {"type": "object", "properties": {
            "closID": STR, "l3CacheSchema": STR, "memBwSchema": STR, "schemata": STRS,
            "enableMonitoring": {"type": "boolean"}}},
        "personality": {"type": "object", "required": ["domain"], "properties": {
            "domain": {"enum": ["LINUX", "LINUX32"]}, "flags": STRS}},
        "memoryPolicy": {"type": "object", "required": ["mode"], "properties": {
            "mode": {"enum": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                              "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"]},
            "nodes": STR,
            "flags": {"type": "array", "items": {"enum": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
                                                          "MPOL_F_STATIC_NODES"]}}}},
        "netDevices": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"name": STR}}},
    },
}

PROCESS = {
    "type": "object", "required": ["cwd"],
    "properties": {
        "terminal": {"type": "boolean"},
        "consoleSize": {"type": "object", "required": ["height", "width"],
                        "properties": {"height": U32, "width": U32}},
        "cwd": ABS,
        "env": {"type": "array", "items": {"type": "string", "pattern": "^[^=]+="}},
        "args": {"type": "array", "items": STR, "minItems": 1},
        "commandLine": STR,
        "rlimits": {"type": "array", "items": {
            "type": "object", "required": ["type", "soft", "hard"],
            "properties": {"type": {"type": "string", "pattern": "^RLIMIT_[A-Z]+$"}, "soft": U64, "hard": U64}}},
        "apparmorProfile": STR,
        "capabilities": {"type": "object", "properties": {
            k: CAPS for k in ("bounding", "permitted", "effective", "inheritable", "ambient")}},
        "noNewPrivileges": {"type": "boolean"},
        "oomScoreAdj": {"type": "integer", "minimum": -1000, "maximum": 1000},
        "scheduler": {"type": "object", "required": ["policy"], "properties": {
            "policy": {"enum": ["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
                                "SCHED_IDLE", "SCHED_DEADLINE"]},
            "nice": {"type": "integer", "minimum": -20, "maximum": 19}, "priority": {"type": "integer"},
            "flags": STRS, "runtime": U64, "deadline": U64, "period": U64}},
        "selinuxLabel": STR,
        "ioPriority": {"type": "object", "required": ["class"], "properties": {
            "class": {"enum": ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"]},
            "priority": {"type": "integer", "minimum": 0, "maximum": 7}}},
        "execCPUAffinity": {"type": "object", "properties": {"initial": CPU_LIST, "final": CPU_LIST}},
        "user": {"type": "object", "required": ["uid", "gid"], "properties": {
            "uid": U32, "gid": U32, "umask": U32, "additionalGids": {"type": "array", "items": U32},
            "username": STR}},
    },
}

CONFIG = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "OCI runtime-spec 1.3.0 config.json (Linux)",
    "type": "object",
    "required": ["ociVersion", "root"],
    "properties": {
        "ociVersion": {"type": "string", "pattern": r"^1\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"},
        "root": {"type": "object", "required": ["path"],
                 "properties": {"path": STR, "readonly": {"type": "boolean"}}},
        "mounts": {"type": "array", "items": {
            "type": "object", "required": ["destination"],
            "properties": {"destination": STR, "source": STR, "options": STRS, "type": STR,
                           "uidMappings": {"type": "array", "items": ID_MAP},
                           "gidMappings": {"type": "array", "items": ID_MAP}}}},
        "process": PROCESS,
        "hostname": STR,
        "domainname": STR,
        "hooks": {"type": "object", "additionalProperties": False, "properties": {
            k: HOOKS for k in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                               "poststop")}},
        "annotations": {"type": "object", "additionalProperties": STR},
        "linux": LINUX,
    },
}
