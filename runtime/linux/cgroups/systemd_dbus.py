"""systemd's manager over D-Bus (org.freedesktop.systemd1.Manager), for the systemd driver.

As runc 1.1.5 does for root (go-systemd's NewWithContext), the client talks to the system
bus (dbus-daemon: Hello, AddMatch, Subscribe) and, when that cannot be reached, to
systemd's own socket /run/systemd/private (peer to peer: no Hello; systemd sends every
direct connection its signals, JobRemoved among them).  The D-Bus wire format is
jeepney's (pure Python), imported here only: only a container of the systemd driver
loads it.

Every wait is bounded: connecting and authenticating (5 s), each call (10 s), a job
(30 s, runc's wait for StartTransientUnit and StopUnit).  Errors are SystemdError, one
line: systemd's own answer ("Unit x.scope already exists.", "Cannot set property Bogus,
or unknown property."), or what failed on the way ("dial unix /run/systemd/private:
connect: no such file or directory").
"""

import time
from collections import deque

from pyrunc.runtime.errors import PyruncError

PRIVATE_SOCKET = "/run/systemd/private"
BUS_NAME = "org.freedesktop.systemd1"
OBJECT = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
UNIT_IFACE = "org.freedesktop.systemd1.Unit"
PROPERTIES = "org.freedesktop.DBus.Properties"
CONNECT_TIMEOUT = 5.0
CALL_TIMEOUT = 10.0
JOB_TIMEOUT = 30.0

Prop = tuple[str, tuple[str, object]]


def system_bus_path() -> str:
    """$DBUS_SYSTEM_BUS_ADDRESS's unix path, else the well-known one."""
    import os

    addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "")
    for part in addr.split(";"):
        kind, _, params = part.partition(":")
        if kind == "unix":
            kv = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
            if "path" in kv:
                return kv["path"]
    return "/run/dbus/system_bus_socket"


class SystemdError(PyruncError):
    """systemd said no, or could not be asked; ``name`` is the D-Bus error's name
    ("org.freedesktop.systemd1.UnitExists"), '' when systemd was not reached."""

    def __init__(self, msg: str, name: str = "") -> None:
        super().__init__(msg)
        self.name = name


class Systemd:
    """One connection to systemd's manager (close it, or use ``with``): the system bus
    first, then systemd's private socket (go-systemd's NewWithContext for root, which
    runc 1.1.5 uses: either one missing is not an error)."""

    def __init__(self, timeout: float = CONNECT_TIMEOUT, bus: str | None = None,
                 private: str = PRIVATE_SOCKET) -> None:
        self.conn = None
        errors = []
        for path, on_bus in ((bus or system_bus_path(), True), (private, False)):
            try:
                self._connect(path, on_bus, timeout)
                return
            except SystemdError as e:
                errors.append(str(e))
        raise SystemdError("; ".join(errors))

    def _connect(self, path: str, on_bus: bool, timeout: float) -> None:
        from jeepney.io.blocking import DBusConnection, DBusConnectionBase, prep_socket
        from jeepney.io.common import MessageFilters

        class _Conn(DBusConnection):
            """jeepney's blocking connection without its unbounded Hello (said here, with
            a timeout, on a bus; a peer such as systemd's private socket has none)."""

            def __init__(self, sock) -> None:  # noqa: ANN001
                DBusConnectionBase.__init__(self, sock)
                self._filters = MessageFilters()

        try:
            sock = prep_socket(path, timeout=timeout)
        except OSError as e:  # TimeoutError too
            why = (e.strerror or str(e) or type(e).__name__).lower()
            raise SystemdError(f"dial unix {path}: connect: {why}") from None
        except Exception as e:  # jeepney's AuthenticationError
            raise SystemdError(f"authenticate to {path}: {e}") from None
        try:
            self.conn = _Conn(sock)
        except BaseException:
            sock.close()
            raise
        self.socket_path = path
        try:
            if on_bus:
                self._join_bus(timeout)
            else:
                self._prime(timeout)
        except OSError as e:  # a send or receive of _prime's, not through call()
            self.close()
            raise SystemdError(f"{path}: {(e.strerror or str(e) or type(e).__name__).lower()}") from None
        except BaseException:  # SystemdError, jeepney's errors, an interrupt: never left open
            self.close()
            raise

    def _join_bus(self, timeout: float) -> None:
        """Hello, a match for the manager's JobRemoved, and Subscribe (systemd sends its
        signals over the bus only to subscribers)."""
        from jeepney import DBusAddress, new_method_call

        dbus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
        self.call("Hello", msg=new_method_call(dbus, "Hello"), timeout=timeout)
        rule = (f"type='signal',sender='{BUS_NAME}',path='{OBJECT}',interface='{MANAGER}',"
                "member='JobRemoved'")
        self.call("AddMatch", msg=new_method_call(dbus, "AddMatch", "s", (rule,)), timeout=timeout)
        self.call("Subscribe", timeout=timeout)

    def _prime(self, timeout: float) -> None:
        """Ping until systemd answers.  Seen with systemd 252: a message that reaches the
        private socket right after BEGIN waits in systemd's buffer until more data comes
        (the socket is not readable again), so the first call would hang; each further
        ping wakes it, and once one is answered the connection works."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.low_level import HeaderFields

        ping = new_method_call(DBusAddress(OBJECT, BUS_NAME, "org.freedesktop.DBus.Peer"), "Ping")
        deadline = time.monotonic() + timeout
        wait = 0.005
        sent: set[int] = set()
        while True:
            serial = next(self.conn.outgoing_serial)
            sent.add(serial)
            self.conn.send(ping, serial=serial)
            until = min(time.monotonic() + wait, deadline)
            while True:
                left = until - time.monotonic()
                if left <= 0:
                    break
                try:
                    msg = self.conn.receive(timeout=left)
                except TimeoutError:
                    break
                if msg.header.fields.get(HeaderFields.reply_serial) in sent:
                    return
            if time.monotonic() >= deadline:
                self.close()
                raise SystemdError(f"no answer from systemd on {self.socket_path} in {timeout:g}s")
            wait = min(wait * 2, 0.5)

    def __enter__(self) -> "Systemd":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (again: nothing); never raises for a socket already gone."""
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    # -- calls -----------------------------------------------------------------------------
    def call(self, method: str, signature: str = "", body: tuple = (), path: str = OBJECT,
             interface: str = MANAGER, timeout: float = CALL_TIMEOUT, msg=None) -> tuple:  # noqa: ANN001
        """One method call (``msg``, else ``method`` on systemd's manager); its reply's
        body, or SystemdError with systemd's answer."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.low_level import HeaderFields, MessageType

        if msg is None:
            msg = new_method_call(DBusAddress(path, BUS_NAME, interface), method, signature or None, body)
        try:
            reply = self.conn.send_and_get_reply(msg, timeout=timeout)
        except TimeoutError:
            raise SystemdError(f"{method}: no answer from systemd in {timeout:g}s") from None
        except OSError as e:
            raise SystemdError(f"{method}: {(e.strerror or str(e)).lower()}") from None
        if reply.header.message_type == MessageType.error:
            name = reply.header.fields.get(HeaderFields.error_name, "")
            text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else name
            raise SystemdError(text, name)
        return reply.body

    def _job(self, method: str, signature: str, body: tuple, timeout: float) -> str:
        """A call that queues a job; the job's result ("done", "failed", "canceled",
        "timeout", "dependency", "skipped") once systemd reports it removed."""
        from jeepney import MatchRule

        rule = MatchRule(type="signal", interface=MANAGER, member="JobRemoved", path=OBJECT)
        with self.conn.filter(rule, queue=deque()) as removed:
            # Filtered before the call: a job that ends at once is not missed.
            (job,) = self.call(method, signature, body)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                try:
                    if left <= 0:
                        raise TimeoutError
                    msg = self.conn.recv_until_filtered(removed, timeout=left)
                except TimeoutError:
                    raise SystemdError(f"{method}: job {job} not finished after {timeout:g}s") from None
                _id, path, _unit, result = msg.body
                if path == job:
                    return result

    def start_transient_unit(self, unit: str, props: list[Prop], timeout: float = JOB_TIMEOUT) -> str:
        """StartTransientUnit, mode "replace" (as runc); the job's result."""
        return self._job("StartTransientUnit", "ssa(sv)a(sa(sv))", (unit, "replace", props, []), timeout)

    def stop_unit(self, unit: str, timeout: float = JOB_TIMEOUT) -> str:
        return self._job("StopUnit", "ss", (unit, "replace"), timeout)

    def set_unit_properties(self, unit: str, props: list[Prop], runtime: bool = True) -> None:
        """SetUnitProperties: ``runtime`` (as runc) keeps them until the next boot only."""
        if props:
            self.call("SetUnitProperties", "sba(sv)", (unit, runtime, props))

    def reset_failed_unit(self, unit: str) -> None:
        self.call("ResetFailedUnit", "s", (unit,))

    def version(self) -> int:
        """The manager's version ("252.38-1~deb12u1" -> 252; 0 if unreadable)."""
        (value,) = self.call("Get", "ss", (MANAGER, "Version"), interface=PROPERTIES)
        text = str(value[1]).lstrip("v")
        digits = ""
        for ch in text:
            if not ch.isdigit():
                break
            digits += ch
        return int(digits or 0)

    def unit_property(self, unit: str, prop: str, interface: str = UNIT_IFACE) -> object:
        """A property of a loaded unit (SystemdError "Unit x not loaded." otherwise)."""
        (path,) = self.call("GetUnit", "s", (unit,))
        (value,) = self.call("Get", "ss", (interface, prop), path=path, interface=PROPERTIES)
        return value[1]
