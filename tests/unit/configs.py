"""Real config.json bodies for the unit tier: runc's ``spec`` template (pyrunc writes runc
1.5's, spec/defaults.py), its ``--rootless`` rewrite, and the Docker 20.10, Podman 4.3 and
CRI (containerd 1.6) shapes of tests/differential/scenarios_engines.py, the same functions
the differential tier runs them with."""

import copy
import json
import os
import sys

sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "differential"))
import scenarios_engines as engines  # noqa: E402

ENGINES = {"docker": engines.docker, "podman": engines.podman, "cri-sandbox": engines.cri_sandbox,
           "cri-container": engines.cri_container}


def runc_template(cgroupns: bool = True) -> dict:
    from pyrunc.spec.defaults import default_config

    return default_config(cgroupns)


def rootless_template() -> dict:
    from pyrunc.spec.defaults import default_config, to_rootless

    return to_rootless(default_config(False), 1000, 1000)


def engine(name: str) -> dict:
    """The template changed as ``name`` changes it (placeholders left for substituted())."""
    cfg = copy.deepcopy(runc_template(False))
    ENGINES[name](cfg)
    return cfg


def substituted(cfg: dict, bundle: str) -> dict:
    """The differential tier's placeholders filled in: {bundle}, {tmp}, {id}, {cgtoken}."""
    text = json.dumps(cfg)
    for k, v in (("{bundle}", bundle), ("{tmp}", os.path.join(bundle, "tmp")), ("{id}", "ctr1"),
                 ("{cgtoken}", "t0k3n")):
        text = text.replace(k, v)
    return json.loads(text)
