"""runtime/linux/cgroups/systemd_dbus.py without a bus: where the system bus is, and the
one-line error when neither the bus nor systemd's private socket can be reached (sockets
that do not exist; the real ones are tested in tests/systemd)."""

import pytest
from pyrunc.runtime.linux.cgroups import systemd_dbus


@pytest.mark.parametrize("addr, path", [
    ("", "/run/dbus/system_bus_socket"),
    ("unix:path=/x/bus", "/x/bus"),
    ("tcp:host=h,port=1;unix:path=/y/bus,guid=abc", "/y/bus"),
    ("unix:abstract=foo", "/run/dbus/system_bus_socket"),
])
def test_system_bus_path(monkeypatch, addr, path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
    assert systemd_dbus.system_bus_path() == path


def test_no_bus_no_systemd(tmp_path):
    with pytest.raises(systemd_dbus.SystemdError) as e:
        systemd_dbus.Systemd(timeout=1, bus=str(tmp_path / "bus"), private=str(tmp_path / "private"))
    assert str(e.value) == (f"dial unix {tmp_path}/bus: connect: no such file or directory; "
                            f"dial unix {tmp_path}/private: connect: no such file or directory")
