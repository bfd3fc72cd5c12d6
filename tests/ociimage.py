"""Build an OCI image archive (oci-layout, index, manifest, config, one layer) from a
rootfs directory, for `ctr images import`: there is no registry here."""

import gzip
import hashlib
import io
import json
import os
import tarfile


def _blob(out: tarfile.TarFile, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))
    return "sha256:" + digest, len(data)


def build(rootfs: str, archive: str, ref: str, image_config: dict | None = None) -> None:
    """``image_config`` is merged into the image config's ``config`` (Entrypoint, User, Labels...)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as layer:
        for name in sorted(os.listdir(rootfs)):
            if name.startswith(".pyrunc"):
                continue
            layer.add(os.path.join(rootfs, name), arcname=name)
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    gz = gzip.compress(raw.getvalue(), mtime=0)
    with tarfile.open(archive, "w") as out:
        layer_digest, layer_size = _blob(out, gz)
        config = json.dumps({"architecture": "amd64" if os.uname().machine == "x86_64" else "arm64", "os": "linux",
                             "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                                        "Cmd": ["sh"], **(image_config or {})},
                             "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
        cfg_digest, cfg_size = _blob(out, config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": cfg_digest, "size": cfg_size},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                           "digest": layer_digest, "size": layer_size}]}).encode()
        man_digest, man_size = _blob(out, manifest)
        index = json.dumps({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest, "size": man_size,
            "annotations": {"org.opencontainers.image.ref.name": ref, "io.containerd.image.name": ref}}]}).encode()
        for name, data in (("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", index)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
