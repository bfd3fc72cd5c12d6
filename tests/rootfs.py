"""Build a busybox rootfs from Debian's busybox-static (used by the tests and `make demo`).

    python tests/rootfs.py DIR                 a rootfs in DIR (kept if already built)
    python tests/rootfs.py --demo-config FILE  make `pyrunc spec`'s config non-interactive
                                               when there is no terminal
"""

import json
import os
import shutil
import subprocess
import sys

BUSYBOX = "/bin/busybox"


def build(root: str) -> str:
    marker = os.path.join(root, ".pyrunc-rootfs")
    if os.path.exists(marker):
        return root
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "home"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    os.chmod(os.path.join(tmp, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(tmp, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(tmp, "bin", a))
    with open(os.path.join(tmp, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                "user:x:1000:1000:user:/home/user:/bin/sh\n")
    with open(os.path.join(tmp, "etc", "group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n")
    open(os.path.join(tmp, ".pyrunc-rootfs"), "w").close()
    if os.path.exists(root):
        shutil.rmtree(root)
    os.rename(tmp, root)
    return root


def demo_config(path: str) -> None:
    with open(path) as f:
        cfg = json.load(f)
    if not sys.stdin.isatty():
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["sh", "-c", "echo hello from a pyrunc container: $(hostname), pid $$; "
                                  "id; ls /; cat /proc/self/cgroup"]
    with open(path, "w") as f:
        json.dump(cfg, f, indent="\t")


if __name__ == "__main__":
    if sys.argv[1] == "--demo-config":
        demo_config(sys.argv[2])
    else:
        build(sys.argv[1])
