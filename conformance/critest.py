"""Run the CRI validation suite (cri-tools' critest) against containerd's CRI plugin with
handler runc and handler pyrunc, side by side, and judge pyrunc beside runc.

    python conformance/critest.py [--critest PATH] [--focus REGEX] [--report FILE]

critest is $CRITEST, else critest on PATH (exit 3 without it).  The containerd is
tests/engines/cri_env.py's (private state, its own PID, mount and network namespaces);
critest runs inside those namespaces, where the kubelet would, so its own host-side
mounts and its HostNetwork/HostPID/HostIPC specs stay inside them too.

critest pulls its images from registry.k8s.io and gcr.io.  There is no registry here: a
read-only one (oci_registry.py) serves, inside the daemon's network namespace, images
built here from Debian's busybox under the names critest v1.26.1 asks for (its
pkg/validate/*.go, pkg/framework/*.go), and containerd's mirrors for those hosts point at
it.  They are stand-ins that do what the suite checks of the real ones: the image tests'
tags, users and groups; a web server on the ports the networking specs probe; a process
named as nginx's master; a setuid program for the no-new-privileges specs.  Only the
digest-pinned image cannot be made (its digest is of the real image's bytes).

Each spec's result under each handler is compared with
expectations-critest-v1.26.1.json: exit 1 on a regression (expected to pass, now not),
an unexpected pass, or a spec that passes under runc but not under pyrunc without a
recorded reason.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "engines"))
import cri_env  # noqa: E402
import ociimage  # noqa: E402
import rootfs as rootfs_builder  # noqa: E402

NO_TOOL = 3
VERSION = "v1.26.1"
EXPECTATIONS = os.path.join(HERE, f"expectations-critest-{VERSION}.json")
REGISTRY_PORT = 5000
MIRRORED = ("registry.k8s.io", "k8s.gcr.io", "gcr.io", "docker.io")
E2E = "e2e-test-images/"
STAGING = "k8s-staging-cri-tools/"

FAKE_NGINX_C = r"""
/* Stands in for nginx in critest's specs: a "master process" (by its command line, as
   nginx's), its pid in /var/run/nginx.pid, serving static files through busybox httpd
   on $PYRUNC_FAKE_NGINX_PORT until SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t worker;
static void stop(int sig) { (void)sig; if (worker > 0) kill(worker, SIGTERM); _exit(0); }

int main(int argc, char **argv) {
    (void)argc;
    if (strncmp(argv[0], "nginx: master", 13) != 0) {
        char *args[] = {"nginx: master process nginx -g daemon off;", NULL};
        execv("/usr/sbin/nginx", args);
        return 127;
    }
    FILE *f = fopen("/var/run/nginx.pid", "w");
    if (f) { fprintf(f, "%d\n", getpid()); fclose(f); }
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    const char *port = getenv("PYRUNC_FAKE_NGINX_PORT");
    worker = fork();
    if (worker == 0) {
        execl("/bin/busybox", "httpd", "-f", "-p", port ? port : "80", "-h", "/usr/share/nginx/html", (char *)0);
        _exit(127);
    }
    for (;;) {
        int st;
        if (waitpid(worker, &st, 0) == worker) return 1;
    }
}
"""

NONEWPRIVS_C = r"""
/* Set-uid root: prints the effective uid it runs with (0 unless no_new_privs). */
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("Effective uid: %d\n", (int)geteuid()); return 0; }
"""


PGREP = """#!/bin/sh
# pgrep NAME (busybox-static has none; the suite's busybox image has): pids whose name is NAME
found=1
for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}" && found=0
done
exit $found
"""

IPCS = """#!/bin/sh
# ipcs -m (busybox-static has none): the System V shared memory segments, from procfs
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch     status"
awk 'NR > 1 { printf "0x%08x %-10s %-10s %-10s %-10s %-10s\\n", $1, $2, $8, $3, $4, $7 }' /proc/sysvipc/shm
"""


def critest_busybox(busybox: str, dest: str) -> str:
    """The suite's busybox as it expects it: applets as hard links (a masked /bin/ls must
    not mask the shell with it, as a symlink to busybox would), pgrep and ipcs."""
    if os.path.exists(dest):
        return dest
    shutil.copytree(busybox, dest, symlinks=True)
    bindir = os.path.join(dest, "bin")
    for name in os.listdir(bindir):
        path = os.path.join(bindir, name)
        if os.path.islink(path) and os.readlink(path) == "busybox":
            os.unlink(path)
            os.link(os.path.join(bindir, "busybox"), path)
    for name, text in (("pgrep", PGREP), ("ipcs", IPCS)):
        with open(os.path.join(bindir, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(bindir, name), 0o755)
    return dest


def _variant(busybox: str, dest: str, files: dict[str, tuple[str | bytes, int]] | None = None) -> str:
    """A copy of the busybox rootfs plus ``files`` (path -> (content, mode))."""
    if os.path.exists(dest):
        return dest
    # cp -a keeps the applets' hard links (copytree would copy busybox once per applet).
    subprocess.run(["cp", "-a", busybox, dest], check=True, timeout=60)
    for path, (content, mode) in (files or {}).items():
        full = os.path.join(dest, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        os.chmod(full, mode)
    return dest


def _compile(work: str, name: str, source: str) -> bytes:
    src = os.path.join(work, f"{name}.c")
    with open(src, "w") as f:
        f.write(source)
    out = os.path.join(work, name)
    subprocess.run(["gcc", "-static", "-O2", "-o", out, src], check=True, capture_output=True, timeout=120)
    with open(out, "rb") as f:
        return f.read()


def build_images(work: str, busybox: str) -> dict[str, str]:
    """name:tag (without the registry host) -> OCI archive, for every image critest pulls."""
    d = os.path.join(work, "images")
    os.makedirs(d, exist_ok=True)
    busybox = critest_busybox(busybox, os.path.join(d, "busybox-rootfs"))
    with open(os.path.join(busybox, "etc", "passwd")) as f:
        passwd = f.read()
    with open(os.path.join(busybox, "etc", "group")) as f:
        group = f.read()
    passwd = "".join(line + "\n" for line in passwd.splitlines() if not line.startswith("user:"))
    users = {"/etc/passwd": (passwd + "www-data:x:33:33:www-data:/var/www:/bin/sh\n"
                             "default-user:x:1000:1000:default-user:/home/default-user:/bin/sh\n", 0o644),
             "/etc/group": (group.replace("user:x:1000:\n", "") + "www-data:x:33:\ndefault-user:x:1000:\n"
                            "group-defined-in-image:x:50000:default-user\n", 0o644)}
    nginx = _compile(d, "fake-nginx", FAKE_NGINX_C)
    page = ("<html><body>pyrunc's stand-in for nginx (busybox httpd)</body></html>\n", 0o644)
    roots = {
        "busybox": busybox,
        "users": _variant(busybox, os.path.join(d, "users-rootfs"), users),
        "nginx": _variant(busybox, os.path.join(d, "nginx-rootfs"), {
            "/usr/sbin/nginx": (nginx, 0o755), "/usr/share/nginx/html/index.html": page,
            "/var/run/.keep": ("", 0o644)}),
        "httpd": _variant(busybox, os.path.join(d, "httpd-rootfs"), {
            "/usr/local/bin/httpd-foreground": (
                "#!/bin/sh\n# pyrunc's stand-in for the httpd image: says what Apache says at start\n"
                "echo \"[mpm_event:notice] Command line: 'httpd -D FOREGROUND'\"\n"
                "exec httpd -f -p 80 -h /usr/local/apache2/htdocs\n", 0o755),
            "/usr/local/apache2/htdocs/index.html": ("<html><body>It works!</body></html>\n", 0o644)}),
        "nonewprivs": _variant(busybox, os.path.join(d, "nnp-rootfs"), {
            "/usr/local/bin/nnp": (_compile(d, "nnp", NONEWPRIVS_C), 0o4755)}),
    }
    specs: dict[str, tuple[str, dict]] = {
        E2E + "busybox:1.29-2": ("busybox", {}),
        E2E + "nginx:1.14-2": ("nginx", {"Cmd": ["/usr/sbin/nginx"], "Env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYRUNC_FAKE_NGINX_PORT=80"]}),
        E2E + "httpd:2.4.39-4": ("httpd", {"Cmd": ["httpd-foreground"]}),
        E2E + "nonewprivs:1.3": ("nonewprivs", {"Cmd": ["/usr/local/bin/nnp"]}),
        STAGING + "hostnet-nginx-amd64:latest": ("nginx", {"Cmd": ["/usr/sbin/nginx"], "Env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYRUNC_FAKE_NGINX_PORT=12003"]}),
        STAGING + "test-image-latest:latest": ("busybox", {"Labels": {"pyrunc.image": "latest"}}),
        STAGING + "test-image-tag:test": ("busybox", {"Labels": {"pyrunc.image": "tag"}}),
        STAGING + "test-image-tag:all": ("busybox", {"Labels": {"pyrunc.image": "tag-all"}}),
        STAGING + "test-image-user-uid:latest": ("users", {"User": "1002"}),
        STAGING + "test-image-user-username:latest": ("users", {"User": "www-data"}),
        STAGING + "test-image-user-uid-group:latest": ("users", {"User": "1003:1003"}),
        STAGING + "test-image-user-username-group:latest": ("users", {"User": "www-data:www-data"}),
        STAGING + "test-image-predefined-group:latest": ("users", {"User": "1000"}),
    }
    for i in (1, 2, 3):  # three different images
        specs[STAGING + f"test-image-{i}:latest"] = ("busybox", {"Labels": {"pyrunc.image": f"different-{i}"}})
    out: dict[str, str] = {}
    same = None
    for i in (1, 2, 3):  # one image, three tags
        ref = STAGING + f"test-image-tags:{i}"
        if same is None:
            same = os.path.join(d, "test-image-tags.tar")
            ociimage.build(roots["busybox"], same, ref, {"Labels": {"pyrunc.image": "tags"}})
        out[ref] = same
    for n, (ref, (root, cfg)) in enumerate(sorted(specs.items())):
        archive = os.path.join(d, f"image-{n}.tar")
        ociimage.build(roots[root], archive, ref, cfg)
        out[ref] = archive
    return out


class Registry:
    """oci_registry.py in the daemon's network namespace."""

    def __init__(self, cri: cri_env.Cri, images: dict[str, str], work: str) -> None:
        listing = os.path.join(work, "registry-images.json")
        with open(listing, "w") as f:
            json.dump(images, f)
        self.log = open(os.path.join(work, "registry.log"), "w")
        self.proc = subprocess.Popen(cri.in_ns(sys.executable, os.path.join(HERE, "oci_registry.py"), listing,
                                               "127.0.0.1", str(REGISTRY_PORT)),
                                     stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, text=True)
        import select

        if not select.select([self.proc.stdout], [], [], 30)[0] or self.proc.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError("the registry did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


def run_critest(cri: cri_env.Cri, critest: str, handler: str, work: str, focus: list[str], skip: list[str],
                timeout: float) -> dict[str, dict]:
    """spec name -> {"state", "failure"} from critest's JSON report under ``handler``."""
    report = os.path.join(work, f"critest-{handler}.json")
    endpoint = f"unix://{cri.sock}"
    argv = cri.in_ns(critest, f"--runtime-endpoint={endpoint}", f"--image-endpoint={endpoint}",
                     f"--runtime-handler={handler}", "--ginkgo.no-color", f"--ginkgo.json-report={report}",
                     *[f"--ginkgo.focus={f}" for f in focus], *[f"--ginkgo.skip={s}" for s in skip], mount=True)
    tmp = os.path.join(work, f"tmp-{handler}")
    os.makedirs(tmp, exist_ok=True)
    with open(os.path.join(work, f"critest-{handler}.log"), "w") as log:
        try:
            subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout,
                           env=dict(os.environ, TMPDIR=tmp), cwd=work)
        except subprocess.TimeoutExpired:
            print(f"critest under {handler} timed out after {timeout:.0f}s", file=sys.stderr)
    if not os.path.exists(report):
        return {}
    with open(report) as f:
        suites = json.load(f)
    out: dict[str, dict] = {}
    for suite in suites:
        for spec in suite.get("SpecReports") or []:
            if spec.get("LeafNodeType") != "It":
                continue
            name = " ".join([*(spec.get("ContainerHierarchyTexts") or []), spec.get("LeafNodeText", "")]).strip()
            failure = (spec.get("Failure") or {}).get("Message", "")
            out[name] = {"state": spec.get("State", "unknown"), "failure": " ".join(failure.split())[:300]}
    return out


def top_cgroups() -> set[str]:
    """The top-level cgroups of every hierarchy, as paths from its root."""
    out = set()
    for mnt in cri_env._cgroup_mounts():
        if os.path.isdir(mnt):
            out |= {"/" + x for x in os.listdir(mnt) if os.path.isdir(os.path.join(mnt, x))}
    return out


def _host_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f]


def judge(results: dict[str, dict[str, dict]], report: str) -> int:
    names = sorted(set().union(*[set(r) for r in results.values()]))
    handlers = list(results)
    run = {h: [n for n in names if results[h].get(n, {}).get("state") in ("passed", "failed")] for h in handlers}
    passed = {h: {n for n in names if results[h].get(n, {}).get("state") == "passed"} for h in handlers}
    print(f"\n{'spec':<100} " + " ".join(f"{h:<8}" for h in handlers))
    for n in names:
        states = [results[h].get(n, {}).get("state", "-") for h in handlers]
        if set(states) != {"skipped"}:
            print(f"{n[:100]:<100} " + " ".join(f"{s:<8}" for s in states))
    print("\n" + ", ".join(f"{h}: {len(passed[h])} passed of {len(run[h])} run" for h in handlers))
    expected: dict = {}
    if os.path.exists(EXPECTATIONS):
        with open(EXPECTATIONS) as f:
            expected = json.load(f)["specs"]
    problems = []
    for n in names:
        exp = expected.get(n, {})
        for h in handlers:
            got = results[h].get(n, {}).get("state")
            if got not in ("passed", "failed"):
                continue
            want = exp.get(h)
            if want == "passed" and got != "passed":
                problems.append(f"REGRESSION under {h}: {n}: {results[h][n]['failure']}")
            elif want is not None and want != "passed" and got == "passed":
                problems.append(f"UNEXPECTED PASS under {h}: {n} (update {os.path.basename(EXPECTATIONS)})")
        if "runc" in passed and "pyrunc" in results and n in passed["runc"] and n not in passed["pyrunc"] \
                and results["pyrunc"].get(n, {}).get("state") == "failed" and not exp.get("reason"):
            problems.append(f"passes under runc, not under pyrunc: {n}: {results['pyrunc'][n]['failure']}")
    for p in problems:
        print(p)
    if not expected:
        print(f"no {os.path.basename(EXPECTATIONS)}: results reported, not judged")
    elif not problems:
        print(f"as expected ({os.path.basename(EXPECTATIONS)})")
    if report:
        with open(report, "w") as f:
            json.dump({"critest": VERSION, "results": results,
                       "passed": {h: len(passed[h]) for h in handlers}, "run": {h: len(run[h]) for h in handlers},
                       "problems": problems}, f, indent=1)
    return 1 if problems and expected else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--critest", default=cri_env.find_tool("critest", "CRITEST") or "")
    ap.add_argument("--handler", action="append", default=[], help="runc, pyrunc (default: both)")
    ap.add_argument("--focus", action="append", default=[])
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=900, help="per handler, seconds")
    ap.add_argument("--report", default="")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, reports)")
    a = ap.parse_args()
    # A SIGTERM (a CI timeout) unwinds through the clean-up below like an error.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not a.critest or not os.access(a.critest, os.X_OK):
        sys.stderr.write("critest: not found: set $CRITEST or put cri-tools' critest (v1.26.1) on PATH\n")
        return NO_TOOL
    reason = cri_env.missing_prerequisites(need_crictl=False)
    if reason:
        sys.stderr.write(f"critest: {reason}\n")
        return NO_TOOL
    work = cri_env.workdir("pyrunc-critest-")
    busybox = rootfs_builder.build(os.path.join(work, "busybox-rootfs"))
    t0 = time.monotonic()
    images = build_images(work, busybox)
    mirror = f"http://127.0.0.1:{REGISTRY_PORT}"
    cri = cri_env.Cri(os.path.join(work, "containerd"), mirrors={h: mirror for h in MIRRORED})
    os.makedirs(cri.d)
    cgroups_before = top_cgroups()
    results: dict[str, dict[str, dict]] = {}
    registry = None
    try:
        cri.start()
        cri.import_pause_image()
        registry = Registry(cri, images, work)
        for h in a.handler or list(cri_env.HANDLERS):
            t = time.monotonic()
            results[h] = run_critest(cri, a.critest, h, work, a.focus, a.skip, a.timeout)
            cri.remove_all_pods()
            print(f"critest under {h}: {sum(r['state'] == 'passed' for r in results[h].values())} passed "
                  f"in {time.monotonic() - t:.0f}s", flush=True)
    finally:
        if registry is not None:
            registry.stop()
        cri.remove_all_pods()
        cri.stop()
        # critest's pods carry no cgroup parent: containerd puts them under /k8s.io (its
        # CRI namespace).  Only that, and only if this run made it: other cgroups that
        # appeared meanwhile are someone else's.
        if "/k8s.io" not in cgroups_before:
            left = cri_env.remove_cgroup_tree("/k8s.io")
            if left:
                print(f"leak: cgroups left: {left}", file=sys.stderr)
        mounts = [m for m in _host_mounts() if m.startswith(work)]
        if mounts:
            print(f"leak: mounts left on the host: {mounts}", file=sys.stderr)
        if os.path.exists(f"/sys/class/net/{cri.bridge}"):
            print(f"leak: the CNI bridge {cri.bridge} is on the host", file=sys.stderr)
        if a.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"total {time.monotonic() - t0:.0f}s")
    return judge(results, a.report)


if __name__ == "__main__":
    sys.exit(main())
