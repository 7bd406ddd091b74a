"""Base images built from this host's own runtimes, for platforms that cannot pull a public image.

``node`` packs the host's node binary, ``python`` its python3 and standard library, each with the
shared libraries ``ldd`` names, into one layer of a from-scratch OCI image, tagged with the runtime's
version (``node:20``, ``python:3.11``), as the scaffold's Dockerfiles expect under ``base-images/``.
The layer is deterministic (sorted entries, zero times and owners), so the same host gives the same
digest.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.registry.assemble import push_image_content
from shipyard.registry.store import OCI_MANIFEST, ImageStore, Manifest

RUNTIMES = ("node", "python")
_SKIP_STDLIB = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "__pycache__", "pydoc_data"}


@dataclass(frozen=True)
class BaseImage:
    """What was pushed: the repository's tag and the manifest's digest."""

    repository: str
    tag: str
    digest: str
    size: int
    host: str = ""

    @property
    def image(self) -> str:
        """``host/repository:tag``."""
        return f"{self.host}/{self.repository}:{self.tag}" if self.host else f"{self.repository}:{self.tag}"

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/registries.md)."""
        return {"image": self.image, "digest": self.digest, "size": self.size}


def _run(*args: str) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ShipyardError(f"`{' '.join(args)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _libraries(binary: Path) -> list[Path]:
    """The shared libraries and the loader a binary needs, as ldd lists them."""
    found: list[Path] = []
    for line in _run("ldd", str(binary)).splitlines():
        match = re.search(r"(/\S+) \(0x", line)
        if match:
            found.append(Path(match.group(1)))
    return found


def _runtime_files(runtime: str) -> tuple[str, list[Path], list[tuple[str, str]], list[str]]:
    """(tag, files to copy, symlinks (name, target), default command) for a runtime of this host."""
    if runtime == "node":
        node = shutil.which("node")
        if not node:
            raise ShipyardError("no node on this host to build the node base image from")
        binary = Path(node).resolve()
        major = _run(str(binary), "--version").strip().lstrip("v").split(".")[0]
        links = [("usr/local/bin/node", str(binary))] if str(binary) != "/usr/local/bin/node" else []
        return major, [binary, *_libraries(binary)], links, ["node"]
    if runtime == "python":
        # The system's python first; a version manager's `python3` on PATH may be a shell script.
        python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else shutil.which("python3")
        if not python:
            raise ShipyardError("no python3 on this host to build the python base image from")
        binary = Path(_run(python, "-c", "import sys; print(sys.executable)").strip()).resolve()
        version = _run(str(binary), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')").strip()
        stdlib = Path(_run(str(binary), "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])").strip())
        files = [binary, *_libraries(binary)]
        for path in sorted(stdlib.rglob("*")):
            relative = path.relative_to(stdlib).parts
            if path.is_file() and not _SKIP_STDLIB.intersection(relative) and "site-packages" not in relative:
                files.append(path)
                if path.suffix == ".so":
                    files += _libraries(path)
        return version, files, [("usr/bin/python3", binary.name)], ["python3"]
    raise ShipyardError(f"unknown runtime '{runtime}'; valid: {', '.join(RUNTIMES)}")


def _layer(files: list[Path], links: list[tuple[str, str]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({str(p) for f in files for p in f.parents if str(p) != "/"} | {"/tmp"})
        for directory in directories:
            info = tarfile.TarInfo(directory.lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "/tmp" else 0o755
            tar.addfile(info)
        for path in sorted(set(files)):
            info = tarfile.TarInfo(str(path).lstrip("/"))
            info.size, info.mode = path.stat().st_size, path.stat().st_mode & 0o755
            with path.open("rb") as handle:
                tar.addfile(info, handle)
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return raw.getvalue()


def build_base_image(store: ImageStore, project: str, runtime: str, host: str = "") -> BaseImage:
    """Build the runtime's base image and push it to ``<project>/<runtime>:<version>`` in ``store`` (the
    registry ``host``, which names the result)."""
    tag, files, links, command = _runtime_files(runtime)
    repository = f"{project}/{runtime}"
    document = push_image_content(
        store, repository, [_layer(files, links)], {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": command}
    )
    manifest = Manifest.from_bytes(json.dumps(document, sort_keys=True).encode(), OCI_MANIFEST)
    digest = store.put_manifest(repository, tag, manifest)
    return BaseImage(repository, tag, digest, sum(layer["size"] for layer in document["layers"]), host)
