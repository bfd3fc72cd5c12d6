"""Scenarios over namespaces and terminals: user namespaces (bind sources, no cgroup
namespace), --no-pivot, no mount namespace, terminals (``run -t`` under ``script``,
``--console-socket`` with the test's receiver, ``exec -t``), and rootless containers where
runc runs rootless (as uid 1000, runc's ``spec --rootless`` template)."""

import os

from harness import Call, Collect, Scenario, Shell, Snapshot, WaitOutput, WaitStopped, field

ROOTLESS_UID = 1000


def _userns(c, host=200000):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": host, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": host, "size": 65536}]


def _chown(uid):
    def change(rootfs):
        for d, dirs, files in os.walk(rootfs):
            os.lchown(d, uid, uid)
            for x in dirs + files:
                os.lchown(os.path.join(d, x), uid, uid)
    return change


def _private_dir(v):
    p = os.path.join(v["dir"], "private", "data")
    os.makedirs(p, exist_ok=True)
    os.chmod(os.path.join(v["dir"], "private"), 0o700)
    with open(os.path.join(p, "f"), "w") as f:
        f.write("secret\n")


def _with(*changes):
    def change(c):
        for ch in changes:
            ch(c)
    return change


def _terminal(c):
    c["process"]["terminal"] = True


def _bind(src, dst="/mnt", opts=("rbind",)):
    def change(c):
        c["mounts"].append({"destination": dst, "type": "bind", "source": src, "options": list(opts)})
    return change


def _no_ns(t):
    def change(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != t]
    return change


def _cgroupns(c):
    c["linux"]["namespaces"].append({"type": "cgroup"})


def _caps_all(c):
    caps = ["CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_MKNOD"]
    c["process"]["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}


NESTED_PROC = ["sh", "-c", "mkdir -p /tmp/p && mount -t proc proc /tmp/p 2>&1; echo mount=$?; "
               "ls /tmp/p/sys/kernel 2>&1 | head -3; cat /tmp/p/1/cmdline | tr '\\0' ' '; echo; "
               "grep -c . /tmp/p/mounts; umount /tmp/p 2>&1; sh /probe.sh"]

UR = _chown(200000)
#: runc's refusal is its open bug; the bind is crun's answer and the Kubernetes KEP's.
SYSFS_BIND = (
    "a user namespace in the host's network namespace may not mount a sysfs (the kernel's EPERM): runc "
    "fails the create (runc issue #3672, labelled a bug, open); pyrunc binds the host's /sys read-only "
    "instead, as crun does and runc's pull request #5016 proposes. The container sees the /sys of the "
    "network namespace it shares, as a container without a user namespace there does")

SCENARIOS: list[Scenario] = [
    Scenario("userns-default", field(), change=_userns, rootfs=UR),
    Scenario("userns-cgroupns", field(), change=_with(_userns, _cgroupns), rootfs=UR),
    Scenario("userns-bind-tmp", field(), change=_with(_userns, _bind("{tmp}")), rootfs=UR),
    Scenario("userns-bind-private-source", [Shell(_private_dir), *field()],
             change=_with(_userns, _bind("{dir}/private/data")), rootfs=UR),
    Scenario("userns-bind-ro", field(), change=_with(_userns, _bind("{tmp}", opts=("rbind", "ro"))), rootfs=UR),
    Scenario("userns-user-1000", field(), change=_with(_userns, lambda c: c["process"].update(
        user={"uid": 1000, "gid": 1000})), rootfs=UR),
    Scenario("userns-unmapped-user", field(), change=_with(_userns, lambda c: c["process"].update(
        user={"uid": 70000, "gid": 70000})), rootfs=UR),
    Scenario("userns-rootfs-not-chowned", field(), change=_userns),
    Scenario("userns-sysctl", field(), change=_with(_userns, lambda c: c["linux"].update(
        sysctl={"net.ipv4.ip_forward": "1"})), rootfs=UR),
    Scenario("userns-hostname", field(), change=_with(_userns, lambda c: c.update(hostname="inuserns")), rootfs=UR),
    Scenario("userns-no-network-ns", field(), change=_with(_userns, _no_ns("network")), rootfs=UR,
             deliberate=dict.fromkeys(("call*", "container*", "host.*", "probe.*"), SYSFS_BIND)),
    Scenario("userns-devices", field(), change=_with(_userns, lambda c: c["linux"].update(
        devices=[{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}])), rootfs=UR),
    Scenario("nocgroupns-default", field()),
    Scenario("cgroupns-default", field(), change=_cgroupns),
    Scenario("no-pivot", field(create=["--no-pivot"])),
    Scenario("no-pivot-nested-proc", field(create=["--no-pivot"]),
             change=_with(_caps_all, lambda c: c["process"].update(args=NESTED_PROC))),
    Scenario("pivot-nested-proc", field(), change=_with(_caps_all, lambda c: c["process"].update(args=NESTED_PROC))),
    Scenario("no-pivot-readonly", field(create=["--no-pivot"]),
             change=lambda c: c["root"].update(readonly=False)),
    Scenario("no-mount-ns", field(), change=_no_ns("mount")),
    Scenario("no-mount-ns-no-pivot", field(create=["--no-pivot"]), change=_no_ns("mount")),
    # ---- terminals
    Scenario("tty-run-script", [Call(["run", "--bundle", "{bundle}", "{id}"], tty=True)], change=_terminal),
    Scenario("tty-run-script-user", [Call(["run", "--bundle", "{bundle}", "{id}"], tty=True)],
             change=_with(_terminal, lambda c: c["process"].update(user={"uid": 1000, "gid": 1000}))),
    Scenario("tty-run-script-no-terminal", [Call(["run", "--bundle", "{bundle}", "{id}"], tty=True)]),
    # process.terminal in the foreground with no terminal of the caller's (a new session): refused
    Scenario("tty-run-no-caller-terminal", [Call(["run", "--bundle", "{bundle}", "{id}"])], change=_terminal),
    Scenario("tty-console-socket", [Call(["create", "--console-socket", "{tmp}/console.sock", "--bundle",
                                          "{bundle}", "{id}"], console=True), Snapshot(), Call(["start", "{id}"]),
                                    WaitOutput(), WaitStopped(), Call(["delete", "{id}"])], change=_terminal),
    Scenario("tty-console-socket-user", [Call(["create", "--console-socket", "{tmp}/console.sock", "--bundle",
                                               "{bundle}", "{id}"], console=True), Call(["start", "{id}"]),
                                         WaitOutput(), WaitStopped(), Call(["delete", "{id}"])],
             change=_with(_terminal, lambda c: c["process"].update(user={"uid": 1000, "gid": 1000,
                                                                         "additionalGids": [5]}))),
    Scenario("tty-console-socket-userns", [Call(["create", "--console-socket", "{tmp}/console.sock", "--bundle",
                                                 "{bundle}", "{id}"], console=True), Call(["start", "{id}"]),
                                           WaitOutput(), WaitStopped(), Call(["delete", "{id}"])],
             change=_with(_terminal, _userns), rootfs=UR),
    Scenario("tty-run-detach-console", [Call(["run", "-d", "--console-socket", "{tmp}/console.sock", "--bundle",
                                              "{bundle}", "{id}"], console=True), WaitOutput(), WaitStopped(),
                                        Call(["delete", "{id}"])], change=_terminal),
    Scenario("tty-exec-console", [Call(["create", "--bundle", "{bundle}", "{id}"]), Call(["start", "{id}"]),
                                  WaitOutput(),
                                  Call(["exec", "-t", "--console-socket", "{tmp}/console.sock", "{id}", "sh", "-c",
                                        "tty; stat -c '%a %u %g' $(tty); stty size"], console=True),
                                  Call(["kill", "{id}", "KILL"]), WaitStopped(), Call(["delete", "{id}"])], hold=True),
    Scenario("tty-exec-script", [Call(["create", "--bundle", "{bundle}", "{id}"]), Call(["start", "{id}"]),
                                 WaitOutput(),
                                 Call(["exec", "-t", "{id}", "sh", "-c", "tty; stat -c '%a %u %g' $(tty)"], tty=True),
                                 Call(["kill", "{id}", "KILL"]), WaitStopped(), Call(["delete", "{id}"])], hold=True),
    Scenario("tty-detach-no-socket", [Call(["run", "-d", "--bundle", "{bundle}", "{id}"]),
                                      Call(["delete", "--force", "{id}"])], change=_terminal),
    Scenario("tty-console-socket-not-socket", [
        Shell(lambda v: open(os.path.join(v["tmp"], "console.sock"), "w").close()),
        Call(["create", "--console-socket", "{tmp}/console.sock", "--bundle", "{bundle}", "{id}"]),
        Call(["delete", "--force", "{id}"])], change=_terminal),
]

# ---------------------------------------------------------------- rootless (as uid 1000)


def R(*args, **kw):
    return Call(list(args), as_user=ROOTLESS_UID, **kw)


RL = dict(template="rootless", rootless_user=ROOTLESS_UID)
SCENARIOS += [
    Scenario("rootless-lifecycle", [R("create", "--bundle", "{bundle}", "{id}"), R("state", "{id}"),
                                    R("start", "{id}"), WaitOutput(), R("list"), R("kill", "{id}", "KILL"),
                                    WaitStopped(), R("delete", "{id}")], hold=True, **RL),
    Scenario("rootless-field", [R("create", "--bundle", "{bundle}", "{id}"), Snapshot(), R("start", "{id}"),
                                WaitOutput(), WaitStopped(), R("delete", "{id}")], **RL),
    Scenario("rootless-exec", [R("create", "--bundle", "{bundle}", "{id}"), R("start", "{id}"), WaitOutput(),
                               R("exec", "{id}", "sh", "-c", "id; cat /proc/self/uid_map"),
                               R("kill", "{id}", "KILL"), WaitStopped(), R("delete", "{id}")], hold=True, **RL),
    Scenario("rootless-resources", [R("create", "--bundle", "{bundle}", "{id}"), R("start", "{id}"), WaitOutput(),
                                    WaitStopped(), R("delete", "{id}")],
             change=lambda c: c["linux"].update(resources={"pids": {"limit": 10}, "memory": {"limit": 67108864}}),
             **RL),
    Scenario("rootless-cgroups-path", [R("create", "--bundle", "{bundle}", "{id}"), R("start", "{id}"),
                                       WaitOutput(), WaitStopped(), R("delete", "{id}")],
             change=lambda c: c["linux"].update(cgroupsPath="/diff-{cgtoken}"), **RL),
    Scenario("rootless-default-root", [R("list", global_args=[]), R("state", "nosuch", global_args=[])],
             probe=False, **RL),
    Scenario("rootless-spec", [R("spec", "--rootless", "--bundle", "{tmp}"), Collect("config.json")],
             probe=False, bundle=False),
    Scenario("rootless-root-not-writable", [R("create", "--bundle", "{bundle}", "{id}",
                                              global_args=["--root", "/run/diff-not-writable"])], **RL),
    Scenario("rootless-userns-two-ids", [R("create", "--bundle", "{bundle}", "{id}")],
             change=lambda c: c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1000, "size": 1},
                                                             {"containerID": 1, "hostID": 100000, "size": 10}]),
             **RL),
]

for _s in SCENARIOS:
    if _s.name == "rootless-spec":
        from scenarios_cli import SPEC_AMBIENT, SPEC_OCI, SPEC_POWERCAP

        _s.deliberate = {"file config.json /ociVersion": SPEC_OCI,
                         "file config.json /process/capabilities*": SPEC_AMBIENT,
                         "file config.json /linux/maskedPaths": SPEC_POWERCAP}
