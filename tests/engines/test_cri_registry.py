"""conformance/oci_registry.py, the read-only registry critest's images come from: what a
pull through a mirror asks of it (distribution-spec 1.0 "Pull"), answered from OCI
archives built by tests/ociimage.py.  It listens inside a network namespace of its own
(``unshare --net``), as it does beside the CRI daemon, so nothing reaches the host's
loopback.
"""

import json
import os
import subprocess
import sys

import ociimage

HERE = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE = os.path.join(HERE, "..", "..", "conformance")

CLIENT = r"""
import json, sys, threading, urllib.request, urllib.error
sys.path.insert(0, sys.argv[1])
import oci_registry, http.server
store = oci_registry.Store(json.load(open(sys.argv[2])))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), oci_registry.handler(store))
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{srv.server_address[1]}"
def get(path, method="GET"):
    req = urllib.request.Request(base + path, method=method,
                                 headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return [r.status, dict(r.headers), r.read().decode("latin-1")]
    except urllib.error.HTTPError as e:
        return [e.code, dict(e.headers), e.read().decode()]
out = {"v2": get("/v2/"), "tag": get("/v2/lib/one/manifests/1?ns=registry.k8s.io"),
       "head": get("/v2/lib/one/manifests/1", "HEAD"), "other": get("/v2/lib/two/manifests/latest"),
       "no tag": get("/v2/lib/one/manifests/9"), "no name": get("/v2/lib/none/manifests/1")}
digest = out["tag"][1]["Docker-Content-Digest"]
out["by digest"] = get(f"/v2/lib/one/manifests/{digest}")
out["digest of another name"] = get(f"/v2/lib/two/manifests/{digest}")
layer = json.loads(out["tag"][2])["layers"][0]["digest"]
out["blob"] = get(f"/v2/lib/one/blobs/{layer}")
out["no blob"] = get("/v2/lib/one/blobs/sha256:" + "0" * 64)
out["push"] = get("/v2/lib/one/blobs/uploads/", "POST")
print(json.dumps(out))
"""


def test_registry_serves_pulls_only(tmp_path):
    root = tmp_path / "rootfs"
    root.mkdir()
    (root / "hello").write_text("hello\n")
    images = {}
    for ref, label in (("lib/one:1", "one"), ("lib/two:latest", "two")):
        archive = str(tmp_path / f"{label}.tar")
        ociimage.build(str(root), archive, ref, {"Labels": {"which": label}})
        images[ref] = archive
    listing = tmp_path / "images.json"
    listing.write_text(json.dumps(images))
    p = subprocess.run(["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" -c "$1" "$2" "$3"',
                        sys.executable, CLIENT, CONFORMANCE, str(listing)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["v2"][0] == 200 and out["v2"][1]["Docker-Distribution-API-Version"] == "registry/2.0"
    code, headers, body = out["tag"]
    manifest = json.loads(body)
    assert code == 200 and headers["Content-Type"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert out["head"][0] == 200 and out["head"][2] == "" and out["head"][1]["Content-Length"] == str(len(body))
    assert out["by digest"][0] == 200 and out["by digest"][2] == body
    assert out["other"][0] == 200 and out["other"][2] != body  # a different image
    assert out["no tag"][0] == out["no name"][0] == out["no blob"][0] == 404
    assert "MANIFEST_UNKNOWN" in out["no tag"][2] and "BLOB_UNKNOWN" in out["no blob"][2]
    assert out["digest of another name"][0] == 404  # a digest is served under its own name only
    assert out["blob"][0] == 200 and len(out["blob"][2]) == manifest["layers"][0]["size"]
    assert out["push"][0] in (404, 405, 501)  # read-only
