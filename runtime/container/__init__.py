"""Containers: identity, the on-disk state, status and the lifecycle transitions."""
