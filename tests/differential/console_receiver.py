"""A --console-socket receiver for the differential tier: listens on a unix socket,
takes the pty master a runtime sends (SCM_RIGHTS), and copies everything the console
prints to a file until the pty closes.  Run as its own process by the harness.

    python console_receiver.py SOCKET OUTFILE TIMEOUT
"""

import array
import os
import select
import socket
import sys
import time


def main(path: str, out: str, timeout: float) -> int:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(timeout)
    with open(out + ".ready", "w"):
        pass
    deadline = time.monotonic() + timeout
    try:
        conn, _ = srv.accept()
    except OSError:
        return 1
    fds = array.array("i")
    msg, anc, _flags, _addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    conn.close()
    with open(out, "wb") as f:
        f.write(b"=== console-name ===\n" + msg + b"\n")
        if not fds:
            return 1
        master = fds[0]
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.5)
            if not r:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            f.write(chunk)
            f.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
