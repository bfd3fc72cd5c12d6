"""The tier without root: pure code (spec/'s load and checks, the resources translation,
the Plan, the state store's encoding, the import graph), in seconds, as any user and
without a kernel (no namespace, mount or cgroup; files only under a temporary directory).

``make unit`` runs it against the source tree; ``make test`` runs it with the rest.
"""

import os

import pytest

from unit import configs


@pytest.fixture(autouse=True)
def no_leaks():
    """Overrides the suite's leak check (tests/conftest.py): no container runs here."""
    yield


@pytest.fixture
def bundle(tmp_path) -> str:
    """A bundle directory with an empty rootfs/ (spec.load stats the rootfs, nothing more)."""
    os.mkdir(tmp_path / "rootfs")
    return str(tmp_path)


@pytest.fixture
def build(bundle):
    """build(config) -> the Plan spec.load.build makes of it for ``bundle``."""
    from pyrunc.spec import load

    def run(cfg: dict):
        return load.build(configs.substituted(cfg, bundle), bundle)

    return run
