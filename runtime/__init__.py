"""pyrunc's runtime: the CLI, the container lifecycle, process setup and the linux layer.

Imports flow one way, down: cli -> container -> process -> spec (pyrunc.spec) -> linux,
with the base (this package, errors, log, fault, jsonin, jsonout, ocistate) beside them
(ARCHITECTURE.md; tests/unit/test_layers.py checks it).  Nothing heavy is imported at
package level: every command pays for what it uses, nothing more.
"""

__version__ = "0.1.0"

#: The runtime-spec release this runtime implements (reported by `state` and `spec`).
OCI_VERSION = "1.3.0"
