"""Bundled OCI hook programs (run as their own processes by the runtime, never imported by it)."""
