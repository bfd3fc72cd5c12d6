"""ociVersion: runtime-spec is SemVer 2.0.0 (config.md, "Specification version").
Layer: spec (between process and linux: may import linux's pure helpers and the base).

pyrunc accepts every 1.x.y up to 1.3.0, pre-releases included (containerd and Debian's
runc write "1.0.2-dev"), and refuses other majors and strings that do not parse.
"""

from pyrunc.runtime.errors import ConfigError

MAX = (1, 3, 0)


def parse(v: str) -> tuple[int, int, int, bool]:
    """(major, minor, patch, is_prerelease); ValueError if ``v`` is not SemVer."""
    core, _, _build = v.partition("+")
    core, dash, pre = core.partition("-")
    parts = core.split(".")
    if len(parts) != 3 or (dash and not pre):
        raise ValueError(v)
    nums = []
    for p in parts:
        if not p.isdigit() or (len(p) > 1 and p[0] == "0"):
            raise ValueError(v)
        nums.append(int(p))
    return nums[0], nums[1], nums[2], bool(dash)


def check(v: str, path: str = "ociVersion") -> None:
    try:
        major, minor, patch, pre = parse(v)
    except ValueError:
        raise ConfigError(path, f"{v!r} is not a valid SemVer version") from None
    if major != 1 or (minor, patch) > MAX[1:]:
        raise ConfigError(path, f"unsupported version {v!r}: pyrunc supports 1.0.0 to 1.3.0")
