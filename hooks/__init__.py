"""Bundled OCI hook programs (run as their own processes by the runtime, never imported by it).
Not a layer of the runtime: a hook program the runtime runs and never imports."""
