"""Process setup: the fork topology, the parent/child sync protocol, the ordered init,
terminals, signal forwarding and waiting.  Layer: process (may import spec, linux and the base)."""
