"""runtime/container/store.py: what the state file holds, byte for byte, and what reads
back; corrupt files refused with one line; ids as runc checks them; the container
directory's files (in a temporary --root, nothing else)."""

import json
import os

import pytest
from pyrunc.runtime.container import store
from pyrunc.runtime.errors import Exists, InvalidID, NotExist, PyruncError


def a_state() -> store.State:
    st = store.State()
    st.id = "web-1"
    st.pid = 4242
    st.start = 987654321
    st.bundle = "/srv/bundles/web 1"
    st.rootfs = "/srv/bundles/web 1/rootfs"
    st.created = "2026-12-04T01:02:03.123456789Z"
    st.annotations = json.dumps({"io.kubernetes.cri.container-type": "container", "multi": "line\nand \\ back"})
    st.hooks = json.dumps({"poststop": [{"path": "/usr/bin/cleanup", "args": ["cleanup", "a=b"]}]})
    st.config_version = "1.3.0"
    st.tty = True
    st.own_pidns = False
    st.cgroups = ["/sys/fs/cgroup/pids/docker/web-1", "/sys/fs/cgroup/unified/docker/web-1"]
    st.made_cgroups = ["/sys/fs/cgroup/pids/docker/web-1"]
    return st


def fields(st: store.State) -> dict:
    return {k: getattr(st, k) for k in store.State.__slots__}


def test_what_is_written():
    text = store.encode(a_state())
    lines = text.split("\n")
    assert lines[0] == "pyrunc-state 1" and text.endswith("\n")
    assert "id=web-1" in lines and "pid=4242" in lines and "start=987654321" in lines
    assert "bundle=/srv/bundles/web 1" in lines and "tty=True" in lines and "own_pidns=False" in lines
    assert "config_version=1.3.0" in lines and "created=2026-12-04T01:02:03.123456789Z" in lines
    assert lines.count("cgroup=/sys/fs/cgroup/pids/docker/web-1") == 1
    assert "cgroup_made=/sys/fs/cgroup/pids/docker/web-1" in lines
    # JSON values are kept as JSON text, decoded only when used.
    assert "hooks=" + a_state().hooks in lines


def test_newlines_and_backslashes_are_escaped():
    """One key per line, whatever a value holds."""
    st = a_state()
    st.bundle = "/b\nx\\y"
    st.rootfs = "/r\n"
    lines = store.encode(st).split("\n")
    assert "bundle=/b\\nx\\\\y" in lines and "rootfs=/r\\n" in lines
    assert all(x.partition("=")[0] in store.State.__slots__ + ("cgroup", "cgroup_made") for x in lines[1:] if x)


def test_reads_back_what_it_wrote():
    st = a_state()
    back = store.decode(store.encode(st), "state of web-1")
    assert fields(back) == fields(st)
    assert json.loads(back.annotations)["multi"] == "line\nand \\ back"


def test_a_fresh_state_reads_back():
    st = store.State()
    st.id = "x"
    back = store.decode(store.encode(st), "w")
    assert fields(back) == fields(st) and back.own_pidns and not back.tty and back.cgroups == []


@pytest.mark.parametrize("value", ["", "\\", "\\n", "a\\\\nb", "\n\n", "end\\", "= = ="])
def test_escapes_round_trip(value):
    st = store.State()
    st.id = "x"
    st.bundle = value
    assert store.decode(store.encode(st), "w").bundle == value


@pytest.mark.parametrize("text,message", [
    ("", "state of c: not a pyrunc state file"),
    ('{"id": "c"}', "state of c: not a pyrunc state file"),
    ("pyrunc-state 2\nid=c\n", "state of c: not a pyrunc state file"),
    ("pyrunc-state 1\nid=c\npid=12x\n", "state of c: corrupt state file"),
    ("pyrunc-state 1\nid=c\nno equals sign\n", "state of c: corrupt state file"),
    ("pyrunc-state 1\npid=1\n", "state of c: corrupt state file"),
    ("pyrunc-state 1\nid=c\npid=-1\n", "state of c: corrupt state file"),
    ("pyrunc-state 1\nid=c\x00\n", "state of c: corrupt state file"),
])
def test_corrupt_files(text, message):
    with pytest.raises(PyruncError) as e:
        store.decode(text, "state of c")
    assert str(e.value) == message


def test_unknown_keys_are_ignored():
    """A newer pyrunc may add keys: an older one still reads the rest."""
    st = store.decode("pyrunc-state 1\nid=c\npid=7\nnewer_key=1\n", "w")
    assert (st.id, st.pid) == ("c", 7)


@pytest.mark.parametrize("cid", ["a", "A-b_c.d+e", "0" * 1024, "..."])
def test_good_ids(cid):
    store.validate_id(cid)


@pytest.mark.parametrize("cid", ["", ".", "..", "a/b", "a b", "é", "0" * 1025, "a\x00"])
def test_bad_ids(cid):
    with pytest.raises(InvalidID, match="^invalid container ID format$"):
        store.validate_id(cid)


def test_the_state_directory(tmp_path):
    root = str(tmp_path / "root")
    cdir = store.make_dir(root, "c1")
    assert cdir == os.path.join(root, "c1") and os.stat(root).st_mode & 0o777 == 0o711
    with pytest.raises(Exists, match="^container with given ID already exists$"):
        store.make_dir(root, "c1")
    assert store.read_state(cdir) is None  # no state file yet: still being created
    st = a_state()
    store.write_atomic(os.path.join(cdir, store.STATE), store.encode(st))
    assert os.stat(os.path.join(cdir, store.STATE)).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(cdir)) == [store.STATE]  # the temporary file is gone
    assert fields(store.read_state(cdir)) == fields(st)
    with open(os.path.join(cdir, store.CREATOR), "w") as f:
        f.write("123 456\n")
    assert store.creator(cdir) == (123, 456)
    os.mkdir(os.path.join(root, ".hidden"))
    open(os.path.join(root, "a-file"), "w").close()
    assert store.list_ids(root) == ["c1"]
    with store.Lock(cdir):
        pass
    store.remove_dir(cdir)
    assert not os.path.exists(cdir) and store.list_ids(root) == []
    with pytest.raises(NotExist):
        store.read_state(cdir)
    with pytest.raises(NotExist):
        store.Lock(cdir)
    assert store.list_ids(str(tmp_path / "none")) == [] and store.creator(cdir) == (0, 0)


def test_a_state_file_that_is_not_utf8(tmp_path):
    cdir = tmp_path / "c2"
    cdir.mkdir()
    (cdir / store.STATE).write_bytes(b"pyrunc-state 1\nid=\xff\n")
    with pytest.raises(PyruncError, match=r"^state of c2: corrupt state file \(not UTF-8\)$"):
        store.read_state(str(cdir))


def test_container_dir_checks_the_id(tmp_path):
    with pytest.raises(InvalidID):
        store.container_dir(str(tmp_path), "../escape")


def test_cgroup_driver_names_are_the_managers():
    """A state names one of the manager's drivers; another is a corrupt state, not a KeyError."""
    from pyrunc.runtime.linux.cgroups.manager import DRIVERS

    assert set(store.CGROUP_DRIVERS) == {"", *DRIVERS}
    st = store.State()
    st.id, st.pid, st.cgroup_driver = "c1", 1, "/proc/self/fd/0"
    with pytest.raises(PyruncError, match="corrupt state file"):
        store.decode(store.encode(st), "state of c1")


@pytest.mark.parametrize("body", [b"", b"\0" * 16])
def test_an_emptied_state_reads_as_an_unfinished_create(tmp_path, body):
    """Only a machine crash leaves an empty or zeroed state (the file is written whole and
    renamed): it reads as a create that never finished, which delete removes."""
    (tmp_path / store.STATE).write_bytes(body)
    assert store.read_state(str(tmp_path)) is None
