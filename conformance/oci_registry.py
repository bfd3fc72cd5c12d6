"""A tiny read-only container registry: the pull half of the OCI distribution spec
(distribution-spec 1.0 "Pull": ``GET /v2/``, ``GET|HEAD /v2/<name>/manifests/<tag or
digest>``, ``GET|HEAD /v2/<name>/blobs/<digest>``), serving images from OCI archives
(tests/ociimage.py builds them).  No push, no auth, no catalog: what containerd's pull
through a registry mirror asks for, and nothing else.

    python oci_registry.py IMAGES.json HOST PORT

IMAGES.json maps ``name:tag`` (without the registry host: containerd asks a mirror for
``/v2/<name>/...?ns=<host>``) to an OCI archive path.  Prints ``ready`` once listening.
"""

import http.server
import json
import sys
import tarfile


class Store:
    """Manifests by (name, tag or digest), blobs by digest; all read into memory."""

    def __init__(self, images: dict[str, str]) -> None:
        self.tags: dict[tuple[str, str], str] = {}
        self.blobs: dict[str, bytes] = {}
        self.media: dict[str, str] = {}
        self.names: set[str] = set()
        for ref, archive in images.items():
            name, _, tag = ref.rpartition(":")
            with tarfile.open(archive) as t:
                index = json.load(t.extractfile("index.json"))
                for m in t.getmembers():
                    if m.name.startswith("blobs/sha256/"):
                        self.blobs.setdefault("sha256:" + m.name.rsplit("/", 1)[1], t.extractfile(m).read())
            desc = index["manifests"][0]
            self.tags[(name, tag)] = desc["digest"]
            self.media[desc["digest"]] = desc["mediaType"]
            self.names.add(name)

    def manifest(self, name: str, ref: str) -> tuple[str, str] | None:
        """(digest, media type) of a manifest of ``name`` by tag or digest."""
        if name not in self.names:
            return None
        digest = ref if ref.startswith("sha256:") else self.tags.get((name, ref))
        if digest is None or digest not in self.media:
            return None
        if ref.startswith("sha256:") and (name, digest) not in {(n, d) for (n, _t), d in self.tags.items()}:
            return None
        return digest, self.media[digest]


def handler(store: Store) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args) -> None:  # one line per request on stderr
            sys.stderr.write("registry: " + (fmt % args) + "\n")

        def _send(self, code: int, body: bytes = b"", ctype: str = "application/json", digest: str = "") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            if digest:
                self.send_header("Docker-Content-Digest", digest)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _not_found(self, what: str) -> None:
            code = "MANIFEST_UNKNOWN" if what == "manifest" else "BLOB_UNKNOWN" if what == "blob" else "NAME_UNKNOWN"
            self._send(404, json.dumps({"errors": [{"code": code, "message": f"{what} unknown"}]}).encode())

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/v2", "/v2/"):
                return self._send(200, b"{}")
            if not path.startswith("/v2/"):
                return self._not_found("name")
            rest = path[4:]
            for kind in ("manifests", "blobs"):
                name, sep, ref = rest.rpartition(f"/{kind}/")
                if sep:
                    break
            else:
                return self._not_found("name")
            if kind == "manifests":
                found = store.manifest(name, ref)
                if found is None:
                    return self._not_found("manifest")
                digest, media = found
                return self._send(200, store.blobs[digest], media, digest)
            if name not in store.names or ref not in store.blobs:
                return self._not_found("blob")
            return self._send(200, store.blobs[ref], "application/octet-stream", ref)

        do_HEAD = do_GET

    return Handler


def main() -> int:
    images_file, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(images_file) as f:
        store = Store(json.load(f))
    server = http.server.ThreadingHTTPServer((host, port), handler(store))
    print("ready", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
