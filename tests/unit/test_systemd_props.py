"""runtime/linux/cgroups/systemd_props.py without a kernel or a systemd: linux.cgroupsPath
in systemd's form, the unit's properties, linux.resources (typed, as spec/resources.py hands
them to every driver) as v1's and v2's unit properties, the device rules as DeviceAllow,
org.systemd.property.* annotations.  Expected values are runc 1.1.5's
(libcontainer/cgroups/systemd, libcontainer/specconv), read beside it; the v1 ones were
also checked against runc in a real systemd (tests/systemd/test_systemd_driver.py)."""

import pytest
from pyrunc.runtime.errors import ConfigError
from pyrunc.runtime.linux.cgroups import systemd_props as sd
from pyrunc.spec.resources import load

INF = 2**64 - 1


# --- linux.cgroupsPath --------------------------------------------------------------


@pytest.mark.parametrize("path, slice_, unit, cgroup", [
    ("system.slice:docker:1234", "system.slice", "docker-1234.scope", "/system.slice/docker-1234.scope"),
    (":a:b", "system.slice", "a-b.scope", "/system.slice/a-b.scope"),
    ("", "system.slice", "runc-cid.scope", "/system.slice/runc-cid.scope"),
    ("kubepods-burstable-pod1234.slice:cri-containerd:0f3a", "kubepods-burstable-pod1234.slice",
     "cri-containerd-0f3a.scope",
     "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-0f3a.scope"),
    ("-.slice:p:n", "-.slice", "p-n.scope", "/p-n.scope"),
    ("user.slice:p:my.slice", "user.slice", "my.slice", "/user.slice/my.slice"),
])
def test_parse_path(path, slice_, unit, cgroup):
    up = sd.parse_path(path, "cid")
    assert (up.slice, up.unit, up.cgroup) == (slice_, unit, cgroup)


@pytest.mark.parametrize("path", ["/foo/bar", "foo.slice:a", "a:b:c:d", "nocolons"])
def test_parse_path_form(path):
    with pytest.raises(ConfigError) as e:
        sd.parse_path(path, "cid")
    assert str(e.value) == ('linux.cgroupsPath: expected cgroupsPath to be of format "slice:prefix:name" for '
                            f'systemd cgroups, got "{path}" instead')


@pytest.mark.parametrize("slice_", ["foo", "a--b.slice", "-a.slice", "a-.slice", ".slice", "a/b.slice", "slice"])
def test_parse_path_bad_slice(slice_):
    with pytest.raises(ConfigError) as e:
        sd.parse_path(f"{slice_}:p:n", "cid")
    assert str(e.value) == f"linux.cgroupsPath: invalid slice name: {slice_}"


@pytest.mark.parametrize("path", ["system.slice:p:", "system.slice:p:a/b", "system.slice:../x:y"])
def test_parse_path_bad_unit(path):
    with pytest.raises(ConfigError, match="^linux.cgroupsPath: invalid unit name"):
        sd.parse_path(path, "cid")


def test_expand_slice():
    assert sd.expand_slice("test-a-b.slice") == "/test.slice/test-a.slice/test-a-b.slice"
    assert sd.expand_slice("-.slice") == "/"
    assert sd.expand_slice("system.slice") == "/system.slice"


# --- the unit -----------------------------------------------------------------------


def test_unit_properties_scope():
    up = sd.parse_path("machine.slice:pfx:c1", "x")
    props = sd.unit_properties(up, 4242, v2=False, extra=[("CollectMode", ("s", "inactive-or-failed"))])
    assert props == [
        ("Description", ("s", "libcontainer container c1")), ("Slice", ("s", "machine.slice")),
        ("Delegate", ("b", True)), ("PIDs", ("au", [4242])), ("MemoryAccounting", ("b", True)),
        ("CPUAccounting", ("b", True)), ("BlockIOAccounting", ("b", True)), ("TasksAccounting", ("b", True)),
        ("DefaultDependencies", ("b", False)), ("CollectMode", ("s", "inactive-or-failed"))]


def test_unit_properties_slice_and_v2():
    up = sd.parse_path("machine.slice:pfx:pod.slice", "x")
    props = dict(sd.unit_properties(up, -1, v2=True))
    assert props["Wants"] == ("as", ["machine.slice"])
    assert "Slice" not in props and "Delegate" not in props and "PIDs" not in props
    assert props["IOAccounting"] == ("b", True) and "BlockIOAccounting" not in props


# --- resources ----------------------------------------------------------------------


@pytest.mark.parametrize("quota, period, version, want", [
    (50000, 100000, 252, [("CPUQuotaPeriodUSec", ("t", 100000)), ("CPUQuotaPerSecUSec", ("t", 500000))]),
    (50000, 0, 252, [("CPUQuotaPerSecUSec", ("t", 500000))]),  # the default period
    # 1234 µs per 100 ms is 12.34 ms per second: rounded up to 20 ms (a whole percent)
    (1234, 100000, 252, [("CPUQuotaPeriodUSec", ("t", 100000)), ("CPUQuotaPerSecUSec", ("t", 20000))]),
    (-1, 100000, 252, [("CPUQuotaPeriodUSec", ("t", 100000)), ("CPUQuotaPerSecUSec", ("t", INF))]),
    (50000, 100000, 241, [("CPUQuotaPerSecUSec", ("t", 500000))]),  # no CPUQuotaPeriodUSec before 242
    (0, 0, 252, []),
])
def test_cpu_quota(quota, period, version, want):
    assert sd.cpu_quota_properties(quota, period, version) == want


@pytest.mark.parametrize("text, bits", [("0", b"\x01"), ("0-1", b"\x03"), ("1,3-5", b"\x3a"),
                                        ("8", b"\x00\x01"), ("0, 9,", b"\x01\x02"), ("0-15", b"\xff\xff")])
def test_range_to_bits(text, bits):
    # bit n of byte n // 8: systemd's order (runc 1.1.5 sends big.Int's big-endian bytes,
    # which is the same only for CPUs 0-7; runc 1.5 sends this order)
    assert sd.range_to_bits(text, "p") == bits


@pytest.mark.parametrize("text", ["", "a", "3-1", "-1", "1-x", "70000", "+1", "1_0", "١"])
def test_range_to_bits_bad(text):
    # "+1", "1_0" and a non-ASCII digit: runc's strconv.ParseUint refuses them (Python's
    # int() took them); the one list parser (runtime/linux/idlist.py) refuses them too.
    with pytest.raises(ConfigError, match="^p: .*conversion error"):
        sd.range_to_bits(text, "p")


@pytest.mark.parametrize("text, message", [
    ("3-1", "p: '3-1' conversion error: invalid range: 3-1"),
    ("0-70000", "p: '0-70000' conversion error: 70000 is out of range (maximum 65535)"),
    ("1,x", "p: '1,x' conversion error: 'x' is not a number or range"),
    (" , ", "p: ' , ' conversion error: empty value"),
])
def test_range_to_bits_says_runcs_conversion_error(text, message):
    with pytest.raises(ConfigError) as e:
        sd.range_to_bits(text, "p")
    assert str(e.value) == message


def test_v1_properties():
    res = {"memory": {"limit": 64 << 20}, "cpu": {"shares": 512, "quota": 25000, "period": 50000, "cpus": "0",
                                                  "mems": "0"},
           "pids": {"limit": 50}, "blockIO": {"weight": 300}}
    assert sd.v1_properties(load(res), 252) == [
        ("MemoryLimit", ("t", 64 << 20)), ("CPUShares", ("t", 512)), ("CPUQuotaPeriodUSec", ("t", 50000)),
        ("CPUQuotaPerSecUSec", ("t", 500000)), ("BlockIOWeight", ("t", 300)), ("TasksMax", ("t", 50)),
        ("AllowedCPUs", ("ay", b"\x01")), ("AllowedMemoryNodes", ("ay", b"\x01"))]


def test_v1_properties_unlimited_and_old_systemd():
    res = {"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"cpus": "0-1"}}
    assert sd.v1_properties(load(res), 243) == [("MemoryLimit", ("t", INF)), ("TasksMax", ("t", INF))]
    # pids.limit below -1 (or 0): systemd is not told, the fs driver writes "max"
    assert sd.v1_properties(load({"pids": {"limit": -5}}), 252) == []


def test_v2_properties():
    res = {"memory": {"limit": 100 << 20, "reservation": 50 << 20, "swap": 150 << 20},
           "cpu": {"shares": 1024, "quota": 50000, "period": 100000}, "pids": {"limit": 10},
           "unified": {"memory.high": "90000000", "pids.max": "max", "io.weight": "default 100",
                       "cpu.weight": "77"}}
    assert sd.v2_properties(load(res), 252) == [
        ("MemoryMax", ("t", 100 << 20)), ("MemoryLow", ("t", 50 << 20)), ("MemorySwapMax", ("t", 50 << 20)),
        ("CPUWeight", ("t", 39)), ("CPUQuotaPeriodUSec", ("t", 100000)), ("CPUQuotaPerSecUSec", ("t", 500000)),
        ("TasksMax", ("t", 10)), ("MemoryHigh", ("t", 90000000)), ("TasksMax", ("t", INF)),
        ("CPUWeight", ("t", 77))]


def test_v2_swap():
    assert dict(sd.v2_properties(load({"memory": {"limit": -1}}), 252))["MemorySwapMax"] == ("t", INF)
    assert dict(sd.v2_properties(load({"memory": {"limit": 10, "swap": -1}}), 252))["MemorySwapMax"] == ("t", INF)
    with pytest.raises(ConfigError, match="^linux.resources.memory.swap: on cgroup v2 a swap limit needs"):
        sd.v2_properties(load({"memory": {"swap": 100}}), 252)
    with pytest.raises(ConfigError, match="is below memory.limit"):
        sd.v2_properties(load({"memory": {"limit": 200, "swap": 100}}), 252)


def test_unified_cpu_max_and_errors():
    assert sd.unified_properties({"cpu.max": "max 50000"}, 252) == [
        ("CPUQuotaPeriodUSec", ("t", 50000)), ("CPUQuotaPerSecUSec", ("t", INF))]
    assert sd.unified_properties({"cpu.max": "20000"}, 252) == [
        ("CPUQuotaPeriodUSec", ("t", 100000)), ("CPUQuotaPerSecUSec", ("t", 200000))]
    assert sd.unified_properties({"cpuset.cpus": "1"}, 252) == [("AllowedCPUs", ("ay", b"\x02"))]
    for key, val, msg in [("cpu.max", "1 2 3", "value invalid"), ("cpu.weight", "x", "not a number"),
                          ("a/b", "1", "no slashes"), ("nodot", "1", "CONTROLLER.PARAMETER"),
                          ("memory.max", "-5", "out of range")]:
        with pytest.raises(ConfigError, match=msg):
            sd.unified_properties({key: val}, 252)


# --- devices ------------------------------------------------------------------------

PROC_DEVICES = "Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n\nBlock devices:\n  8 sd\n"


def _group(typ, major):
    return sd.device_group(PROC_DEVICES, typ, major)


def test_device_properties_default_spec():
    # the default spec's deny-all, then runc's default allow list
    res = {"devices": [{"allow": False, "access": "rwm"}]}
    props = sd.device_properties(load(res), _group, exists=lambda p: True)
    assert props[:2] == [("DevicePolicy", ("s", "strict")), ("DeviceAllow", ("a(ss)", []))]
    name, (sig, entries) = props[2]
    assert (name, sig) == ("DeviceAllow", "a(ss)")
    assert ("char-*", "m") in entries and ("block-*", "m") in entries
    assert ("/dev/char/1:3", "rwm") in entries and ("/dev/char/10:200", "rwm") in entries
    assert ("char-pts", "rwm") in entries


def test_device_properties_missing_paths_and_groups():
    res = {"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "b", "major": 7, "access": "r"}]}
    entries = sd.device_properties(load(res), _group, exists=lambda p: p != "/dev/char/10:200")[2][1][1]
    assert ("/dev/char/10:200", "rwm") not in entries  # absent: left to the fs driver
    assert not any(e.startswith("block-") and e != "block-*" for e, _ in entries)  # no group for block 7


def test_device_properties_allow_all_and_blacklist():
    assert sd.device_properties(load({"devices": [{"allow": True, "access": "rwm"}]})) == [
        ("DevicePolicy", ("s", "auto")), ("DeviceAllow", ("a(ss)", []))]
    # a deny-list (a default allow list entry would re-allow its device: not 1:3 then)
    res = {"devices": [{"allow": True, "access": "rwm"}, {"allow": False, "type": "c", "major": 4, "minor": 1,
                                                          "access": "rwm"}]}
    assert sd.device_properties(load(res)) == [("DevicePolicy", ("s", "strict")), ("DeviceAllow", ("a(ss)", []))]


def test_device_group():
    assert sd.device_group(PROC_DEVICES, "c", 136) == "char-pts"
    assert sd.device_group(PROC_DEVICES, "b", 8) == "block-sd"
    assert sd.device_group(PROC_DEVICES, "b", 136) == ""


# --- annotations --------------------------------------------------------------------


def test_annotation_properties():
    ann = {"org.systemd.property.TimeoutStopSec": "uint64 7", "org.systemd.property.CollectMode":
           "'inactive-or-failed'", "org.systemd.property.OOMScoreAdjust": "@i -5", "other": "x",
           "org.systemd.property.RuntimeMaxSec": "1.5", "org.systemd.property.Wants": "['a.service', 'b.service']"}
    assert sd.annotation_properties(ann) == [
        ("TimeoutStopUSec", ("t", 7000000)), ("CollectMode", ("s", "inactive-or-failed")),
        ("OOMScoreAdjust", ("i", -5)), ("RuntimeMaxUSec", ("t", 1500000)),
        ("Wants", ("as", ["a.service", "b.service"]))]


@pytest.mark.parametrize("name, value, msg", [
    ("Ab", "1", "name incorrect: too short"), ("Foo1", "1", "contains non-alphabetic character"),
    ("Foo", "uint64", "parse error"), ("Foo", "[1, 'a']", "parse error"), ("Foo", "'open", "unterminated"),
    ("TimeoutSec", "'x'", "not a number"), ("Foo", "byte 300", "out of range"), ("Foo", "[]", "needs its type"),
])
def test_annotation_errors(name, value, msg):
    with pytest.raises(ConfigError) as e:
        sd.annotation_properties({f"org.systemd.property.{name}": value})
    assert str(e.value).startswith(f"annotations.org.systemd.property.{name}: ") and msg in str(e.value)


@pytest.mark.parametrize("text, want", [
    ("true", ("b", True)), ("false", ("b", False)), ("42", ("i", 42)), ("uint64 42", ("t", 42)),
    ("@t 42", ("t", 42)), ("int64 -3", ("x", -3)), ("2.5", ("d", 2.5)), ('"a b"', ("s", "a b")),
    ("'it\\'s'", ("s", "it's")), ("@as []", ("as", [])), ("[1, 2]", ("ai", [1, 2])), ("uint32 0x10", ("u", 16)),
    ("[uint64 1, 2]", ("at", [1, 2])),
])
def test_parse_variant(text, want):
    assert sd.parse_variant(text) == want
