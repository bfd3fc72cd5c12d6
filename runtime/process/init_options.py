"""InitOptions: what the setup child and the init need beyond the Plan (the CLI's per-run
choices, the exec FIFO, the stdio), handed from container/create.py to process/launch.py.
Layer: process (may import spec, linux and the base)."""

from pyrunc.spec.plan import Plan


class InitOptions:
    __slots__ = ("plan", "container_id", "no_pivot", "no_new_keyring", "preserve_fds", "fifo_fd",
                 "console_socket", "want_tty_master", "host_pid", "seccomp", "stdio")

    def __init__(self, plan: Plan, container_id: str, no_pivot: bool = False, no_new_keyring: bool = False,
                 preserve_fds: int = 0, fifo_fd: int = -1, console_socket: str = "",
                 want_tty_master: bool = False) -> None:
        self.plan = plan
        self.container_id = container_id
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        #: fds 3 .. 3+preserve_fds-1 pass into the container (LISTEN_FDS + --preserve-fds).
        self.preserve_fds = preserve_fds
        #: the exec FIFO, opened for reading before the fork: the create/start barrier.
        self.fifo_fd = fifo_fd
        self.console_socket = console_socket
        #: foreground run with a terminal: the runtime relays the pty itself.
        self.want_tty_master = want_tty_master
        #: the init's pid in the runtime's pid namespace (set by the init itself).
        self.host_pid = 0
        #: the filter compiled by the setup child (preexec.compile_seccomp), not the Plan's.
        self.seccomp = None
        #: fds to become the container's 0, 1, 2 (a foreground run's pipes), else inherited
        self.stdio: tuple[int, int, int] | None = None
