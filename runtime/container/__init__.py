"""Containers: ids, the on-disk state, status and the lifecycle transitions.
Layer: container (below cli; may import process, spec, linux and the base)."""
