"""The engines (Docker, Podman, containerd's CRI) running pyrunc beside runc.

A package, so that its modules (``engines.common``...) cannot collide with another
directory's module of the same name (tests/reliability has a ``common`` too)."""
