"""Policy bundles: a policy frozen with every file it reads and its content hash, in one tar file.

A bundle holds `manifest.json` (the policy's name, version, main file, content hash, the hash of
each file and the ecrules version) and the files under `policy/`, at their paths relative to the
policy's folder. The tar is reproducible: same files, same bytes. `open_bundle` loads the policy
from it and refuses a bundle whose files no longer give the hash its manifest states.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from .version import __version__
from .policy import Policy, load

MANIFEST = "manifest.json"
FOLDER = "policy"


class BundleError(Exception):
    """A bundle cannot be made, or read, or does not give the hash it states."""


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0  # reproducible: the manifest, not the tar header, says when
    tar.addfile(info, io.BytesIO(data))


def make_bundle(policy_path: str | Path, output: str | Path) -> dict[str, Any]:
    """Write the bundle of the policy at `policy_path` to `output`; its manifest.

    Raises `PolicyError` when the policy does not load, `BundleError` when it reads a file
    outside its folder (a bundle keeps paths relative to that folder).
    """
    policy = load(policy_path)
    files = policy.files
    assert files is not None  # `load` records them
    outside = sorted(name for name in files.files if name.startswith("../"))
    if outside:
        raise BundleError(f"the policy reads `{outside[0]}`, outside its folder: a bundle cannot hold it")
    manifest = {
        "policy": policy.name, "version": policy.version, "main": files.main,
        "content_hash": files.content_hash, "files": files.digests, "ecrules": __version__,
    }
    with tarfile.open(output, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        for name, data in sorted(files.files.items()):
            _add(tar, f"{FOLDER}/{name}", data)
    return manifest


def read_manifest(path: str | Path) -> dict[str, Any]:
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
            return manifest
    except (tarfile.TarError, KeyError, OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"`{path}` is not an ecrules bundle: {exc}") from None


def open_bundle(path: str | Path) -> tuple[Policy, dict[str, Any]]:
    """The policy of a bundle, and its manifest; `BundleError` when its hash does not match."""
    manifest = read_manifest(path)
    with tempfile.TemporaryDirectory(prefix="ecrules-bundle-") as folder:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(folder, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BundleError(f"cannot unpack `{path}`: {exc}") from None
        policy = load(Path(folder) / FOLDER / str(manifest.get("main", "")))  # lists are read now
    if policy.content_hash != manifest.get("content_hash"):
        raise BundleError(f"`{path}` has been altered: its files hash to {policy.content_hash}, "
                          f"its manifest says {manifest.get('content_hash')}")
    return policy, manifest
