"""The foreground of ``run``: forward signals to the init, relay its terminal, reap it,
and turn its wait status into the runtime's exit code (128+signal when killed, as runc).
Layer: process (may import spec, linux and the base)."""

import _signal as signal  # the C module: signal.py imports enum
import os
import select

#: Never forwarded: SIGCHLD is ours; SIGWINCH resizes the pty instead.
_NOT_FORWARDED = {signal.SIGCHLD, signal.SIGWINCH, signal.SIGKILL, signal.SIGSTOP}


class Foreground:
    """Install the handlers before the container starts, so no signal is lost."""

    def __init__(self, pid: int, master: int, stdio: tuple[int, int, int] | None = None,
                 raw: list | None = None) -> None:
        self.pid = pid
        self.master = master
        #: without a terminal: our ends of the container's stdin, stdout and stderr pipes
        self.stdio = stdio
        self.raw = raw  # our terminal's settings, when the caller made it raw already
        self.stdin_eof = False
        if master >= 0 and (raw is not None or os.isatty(0)):
            self._raw_terminal()
        self.rd, self.wr = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.old_wakeup = signal.set_wakeup_fd(self.wr)
        self.saved: dict[int, object] = {}
        for s in signal.valid_signals():
            if s in (signal.SIGKILL, signal.SIGSTOP) or s >= signal.SIGRTMIN:
                continue
            try:
                self.saved[s] = signal.signal(s, _noop)
            except (OSError, ValueError):
                pass

    def _raw_terminal(self) -> None:
        """Our terminal raw (if the caller has not made it so: ``raw_terminal``), and what
        is queued on it copied to the container's terminal now, as runc's copy starts as
        the console arrives: it comes before the process's output."""
        from pyrunc.runtime.linux import tty as ttymod  # a terminal's only: termios, fcntl, struct

        if self.raw is None:
            self.raw = raw_terminal()
        size = ttymod.get_winsize(0)
        if size:
            ttymod.set_winsize(self.master, *size)
        while select.select([0], [], [], 0)[0]:
            try:
                data = os.read(0, 65536)
            except OSError:
                data = b""
            if not data:
                self.stdin_eof = True
                break
            _write_all(self.master, data)

    def _cooked(self) -> None:
        if self.raw is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, self.raw)
            self.raw = None

    def restore(self) -> None:
        self._cooked()
        for s, h in self.saved.items():
            try:
                signal.signal(s, h)  # type: ignore[arg-type]
            except (OSError, ValueError, TypeError):
                pass
        signal.set_wakeup_fd(self.old_wakeup)
        os.close(self.rd)
        os.close(self.wr)

    def wait(self) -> int:
        import gc

        gc.enable()  # off for the command's short life (cli/main.py): this may last days
        status: int | None = None
        stdin_open = self.master >= 0 and not self.stdin_eof
        if self.stdio is not None:
            return self._relay_pipes(*self.stdio)
        try:
            master_open = self.master >= 0
            while True:
                status = self._reap(status)
                if status is not None and not master_open:
                    break
                rfds = [self.rd]
                if master_open:
                    rfds.append(self.master)
                if stdin_open:
                    rfds.append(0)
                timeout = 0.2 if status is not None else None
                try:
                    ready, _, _ = select.select(rfds, [], [], timeout)
                except InterruptedError:
                    continue
                if not ready and status is not None:
                    break  # init gone and its terminal quiet: something else holds the slave
                if self.rd in ready:
                    self._signals()
                if master_open and self.master in ready:
                    try:
                        data = os.read(self.master, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        master_open = False
                    else:
                        _write_all(1, data)
                if stdin_open and 0 in ready:
                    try:
                        data = os.read(0, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        stdin_open = False
                    else:
                        _write_all(self.master, data)
        finally:
            self._cooked()
        assert status is not None
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    def _relay_pipes(self, stdin_w: int, stdout_r: int, stderr_r: int) -> int:
        """Copy our stdin into the container's, its stdout and stderr into ours, until it
        has exited and its pipes are closed (or quiet: a process outside the container
        may hold them); our stdin's EOF closes the container's."""
        status: int | None = None
        outs = {stdout_r: 1, stderr_r: 2}
        stdin_open = True
        # The container's stdin is written without blocking, what does not fit kept in
        # ``pending``: a container that does not read its stdin must not stop its output's
        # copy or our signals' relay (runc copies each stream on its own).
        os.set_blocking(stdin_w, False)
        pending = b""
        try:
            while True:
                status = self._reap(status)
                if status is not None and not outs:
                    break
                rfds = [self.rd, *outs] + ([0] if stdin_open and not pending else [])
                wfds = [stdin_w] if stdin_open and pending else []
                try:
                    ready, writable, _ = select.select(rfds, wfds, [], 0.2 if status is not None else None)
                except InterruptedError:
                    continue
                if not ready and not writable and status is not None:
                    break
                if self.rd in ready:
                    self._signals()
                for fd in [x for x in ready if x in outs]:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        data = b""
                    if data:
                        _write_all(outs[fd], data)
                    else:
                        del outs[fd]
                if stdin_open and 0 in ready:
                    try:
                        pending = os.read(0, 65536)
                    except OSError:
                        pending = b""
                    if not pending:
                        stdin_open = False
                        os.close(stdin_w)
                if stdin_open and pending and (stdin_w in writable or 0 in ready):
                    try:
                        pending = pending[os.write(stdin_w, pending):]
                    except BlockingIOError:
                        pass
                    except OSError:  # EPIPE: the container closed its stdin; ours is dropped
                        pending = b""
                        stdin_open = False
                        os.close(stdin_w)
        finally:
            if stdin_open:
                os.close(stdin_w)
            os.close(stdout_r)
            os.close(stderr_r)
        assert status is not None
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    def _signals(self) -> None:
        try:
            data = os.read(self.rd, 256)
        except BlockingIOError:
            return
        for s in data:
            if s == signal.SIGCHLD:
                continue
            if s == signal.SIGWINCH:
                if self.master >= 0:
                    from pyrunc.runtime.linux import tty as ttymod

                    size = ttymod.get_winsize(0)
                    if size:
                        ttymod.set_winsize(self.master, *size)
                continue
            if s in _NOT_FORWARDED:
                continue
            try:
                os.kill(self.pid, s)
            except ProcessLookupError:
                pass

    def _reap(self, status: int | None) -> int | None:
        """Reap every child (orphans of the container come to us as subreaper)."""
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return status
            if pid == 0:
                return status
            if pid == self.pid:
                status = st


def raw_terminal() -> list:
    """Make our stdin's terminal raw; returns its settings, to restore.  TCSANOW, as runc
    (containerd/console): what is already in the terminal's input queue reaches the
    container, not flushed (tty.setraw's TCSAFLUSH).  The end-of-file that script(1)
    queues for a stdin at EOF is one such byte: queued in canonical mode, it reads as a
    NUL once the terminal is raw."""
    import termios
    import tty

    saved = termios.tcgetattr(0)
    tty.setraw(0, termios.TCSANOW)
    return saved


def _noop(signum: int, frame: object) -> None:
    pass


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except OSError:
            return
        data = data[n:]
