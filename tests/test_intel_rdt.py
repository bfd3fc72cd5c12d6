"""linux.intelRdt (runtime-spec 1.3.0, config-linux.md "IntelRdt"): the load checks and the
error on a host without resctrl, and the write logic against a fake resctrl tree."""

import pytest


def _has_resctrl() -> bool:
    from pyrunc.runtime.linux import resctrl

    return resctrl.mountpoint() is not None


@pytest.mark.parametrize("rdt,message", [
    ({"closID": "a/b"}, "linux.intelRdt.closID: 'a/b' must be \"/\" or a single directory name"),
    ({"closID": ".."}, "linux.intelRdt.closID: '..' must be"),
    ({"memBwSchema": "L3:0=ff"}, "linux.intelRdt.memBwSchema: 'L3:0=ff' must start with \"MB:\""),
    ({"l3CacheSchema": "L3:0=ff\nMB:0=10"}, "linux.intelRdt.l3CacheSchema: must not contain a newline"),
    ({"schemata": ["L3:0=f", "MB:0=1\n"]}, "linux.intelRdt.schemata[1]: must not contain a newline"),
    ({"enableMonitoring": "yes"}, "linux.intelRdt.enableMonitoring: expected a boolean, got a string"),
    ({"closID": "guaranteed_group", "schemata": ["L3:0=7f0"]},
     "linux.intelRdt: resctrl is not mounted on this host (/sys/fs/resctrl)"),
    ({}, "linux.intelRdt: resctrl is not mounted on this host (/sys/fs/resctrl)"),
])
def test_intel_rdt_errors(pyrunc, make_bundle, rdt, message):
    if "not mounted" in message and _has_resctrl():
        pytest.skip("this host has resctrl")
    b = make_bundle(["true"])
    b.config["linux"]["intelRdt"] = rdt
    b.write()
    p = pyrunc("run", "-b", b.path, "rdt")
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message.replace('"', '\\"') in lines[0], p.stderr
    assert pyrunc("list", "-q").stdout.strip() == ""


@pytest.fixture
def fake_resctrl(tmp_path):
    """A fake resctrl tree (plain directories and files, named so): the root's schemata,
    tasks and info/last_cmd_status, and a pre-made CLOS ``gold``."""
    root = tmp_path / "fake-resctrl"
    (root / "info").mkdir(parents=True)
    (root / "info" / "last_cmd_status").write_text("ok\n")
    (root / "schemata").write_text("L3:0=7ff;1=7ff\nMB:0=100;1=100\n")
    (root / "tasks").write_text("")
    gold = root / "gold"
    (gold / "mon_groups").mkdir(parents=True)
    (gold / "schemata").write_text("    L3:0=07f0;1=01f\n    MB:0= 20;1= 70\n")
    (gold / "tasks").write_text("")
    return root


def _rdt(**kw):
    from pyrunc.spec import resctrl as spec_rdt

    rdt = spec_rdt.IntelRdt("", "", "", [], False)
    for k, v in kw.items():
        setattr(rdt, k, v)
    return rdt


def test_fake_resctrl_group_named_after_the_container(fake_resctrl):
    from pyrunc.runtime.linux import resctrl

    rdt = _rdt(l3_cache_schema="L3:0=f", mem_bw_schema="MB:0=50", schemata=["L2:0=3"], enable_monitoring=True)
    remove = resctrl.apply(str(fake_resctrl), rdt, "ctr1", 4242)
    group = fake_resctrl / "ctr1"
    # l3CacheSchema first, memBwSchema next, schemata last (config-linux.md).
    assert (group / "schemata").read_text() == "L3:0=f\nMB:0=50\nL2:0=3\n"
    assert (group / "tasks").read_text() == "4242"
    mon = group / "mon_groups" / "ctr1"
    assert (mon / "tasks").read_text() == "4242"
    assert remove == [str(mon), str(group)]


def test_fake_resctrl_record_exec_and_release(fake_resctrl, tmp_path):
    from pyrunc.runtime.linux import resctrl

    cdir = tmp_path / "state"
    cdir.mkdir()
    rdt = _rdt(schemata=["MB:0=30"], enable_monitoring=True)
    remove = resctrl.apply(str(fake_resctrl), rdt, "ctr2", 1)
    resctrl.record(str(cdir), str(fake_resctrl), resctrl.group_dir(str(fake_resctrl), rdt, "ctr2"), remove)
    resctrl.add_task(str(cdir), 77)
    assert (fake_resctrl / "ctr2" / "tasks").read_text() == "77"
    assert (fake_resctrl / "ctr2" / "mon_groups" / "ctr2" / "tasks").read_text() == "77"
    resctrl.release(str(cdir))
    assert not (fake_resctrl / "ctr2").exists()


def test_fake_resctrl_existing_closid_is_compared_and_kept(fake_resctrl, tmp_path):
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.runtime.linux import resctrl

    # Same values, other spelling (leading zeros, spaces): it matches; the CLOS stays.
    rdt = _rdt(clos_id="gold", l3_cache_schema="L3:0=7f0;1=1f", mem_bw_schema="MB:0=20;1=70",
               enable_monitoring=True)
    remove = resctrl.apply(str(fake_resctrl), rdt, "ctr3", 5)
    assert remove == [str(fake_resctrl / "gold" / "mon_groups" / "ctr3")]
    assert (fake_resctrl / "gold" / "tasks").read_text() == "5"
    assert "07f0" in (fake_resctrl / "gold" / "schemata").read_text()  # not rewritten
    resctrl.remove_dirs(remove)
    assert (fake_resctrl / "gold").is_dir() and not (fake_resctrl / "gold" / "mon_groups" / "ctr3").exists()
    bad = _rdt(clos_id="gold", l3_cache_schema="L3:0=ff")
    with pytest.raises(PyruncError, match="linux.intelRdt.l3CacheSchema: 'L3:0=ff' does not match the schemata "
                                          "of the existing CLOS 'gold'"):
        resctrl.apply(str(fake_resctrl), bad, "ctr4", 6)


def test_fake_resctrl_preconfigured_closid_must_exist(fake_resctrl):
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.runtime.linux import resctrl

    with pytest.raises(PyruncError, match="linux.intelRdt.closID: .*/silver does not exist"):
        resctrl.apply(str(fake_resctrl), _rdt(clos_id="silver"), "ctr5", 7)
    assert not (fake_resctrl / "silver").exists()
    assert resctrl.apply(str(fake_resctrl), _rdt(clos_id="gold"), "ctr5", 7) == []
    # "/" is the default CLOS: the root's own tasks file.
    assert resctrl.apply(str(fake_resctrl), _rdt(clos_id="/"), "ctr5", 8) == []
    assert (fake_resctrl / "tasks").read_text() == "8"


def test_fake_resctrl_refusal_carries_last_cmd_status(fake_resctrl):
    from pyrunc.runtime.errors import PyruncError
    from pyrunc.runtime.linux import resctrl

    (fake_resctrl / "info" / "last_cmd_status").write_text("Unknown or unsupported resource name 'L9'\n")
    (fake_resctrl / "ctr6").mkdir()
    (fake_resctrl / "ctr6" / "schemata").mkdir()  # a write that fails
    with pytest.raises(PyruncError, match=r"linux.intelRdt: write 'L9:0=1' to .*schemata: is a directory "
                                          r"\(last_cmd_status: Unknown or unsupported resource name 'L9'\)"):
        resctrl.apply(str(fake_resctrl), _rdt(schemata=["L9:0=1"]), "ctr6", 9)


def test_resctrl_mountpoint_from_a_fake_mountinfo(tmp_path):
    from pyrunc.runtime.linux import resctrl

    mi = tmp_path / "fake-mountinfo"
    mi.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n"
                  "40 22 0:35 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw\n")
    assert resctrl.mountpoint(str(mi)) == "/sys/fs/resctrl"
    mi.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n")
    assert resctrl.mountpoint(str(mi)) is None
