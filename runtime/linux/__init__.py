"""Thin, checked wrappers over the kernel: every failure raises SysError naming the call and path.
Layer: linux (the bottom: imports only linux and the base)."""
