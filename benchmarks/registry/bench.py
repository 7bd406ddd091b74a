"""Release tagging: Shipyard (one process, manifest PUTs, concurrent) against `skopeo copy` per tag.

A real docker-registry on loopback holds 50 service images of several layers each. Shipyard gives
each its stable version and 4 aliases (5 tags) in one `shipyard image release` run; skopeo gives
the same 5 tags to a second, identical set of images with one `skopeo copy` per tag. The single
image case is measured the same way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shipyard.registry import RemoteRegistry
from tests.ociimages import push_image
from tests.registryparts import start_registry

TAGS = ["v1.0.0", "stable", "latest", "v1", "v1.0"]


def _shipyard(host: str, repos: list[str]) -> float:
    images = [f"{host}/{repo}:rc" for repo in repos]
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "shipyard", "image", "release", *images, "--version", "v1.0.0", "--json"],
        check=True,
        capture_output=True,
        cwd=tempfile.gettempdir(),
    )
    return time.perf_counter() - started


def _skopeo(skopeo: str, host: str, repos: list[str]) -> float:
    started = time.perf_counter()
    for repo in repos:
        for tag in TAGS:
            subprocess.run(
                [
                    skopeo,
                    "copy",
                    "--quiet",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    f"docker://{host}/{repo}:rc",
                    f"docker://{host}/{repo}:{tag}",
                ],
                check=True,
                capture_output=True,
            )
    return time.perf_counter() - started


def _check(client: RemoteRegistry, repos: list[str]) -> None:
    for repo in repos:
        digest = client.head_manifest(repo, "rc")
        for tag in TAGS:
            if client.head_manifest(repo, tag) != digest:
                raise SystemExit(f"{repo}:{tag} does not name the released digest")


def run(argv: list[str]) -> None:
    """Print the comparison table (seconds and ratio) for 50 images and for one image."""
    binary, skopeo = shutil.which("docker-registry"), shutil.which("skopeo")
    if not binary or not skopeo:
        sys.exit("the registry benchmark needs docker-registry and skopeo (deps/apt-test.txt)")
    count = 50
    work = Path(tempfile.mkdtemp(prefix="shipyard-bench-registry-"))
    server = start_registry(binary, work)
    client = RemoteRegistry(server.host)
    try:
        rows = []
        for label, n in ((f"{count} images x 5 tags", count), ("1 image x 5 tags", 1)):
            ours = [f"services/{label[:2].strip()}-ours-{i}" for i in range(n)]
            theirs = [f"services/{label[:2].strip()}-skopeo-{i}" for i in range(n)]
            for repo in ours + theirs:
                push_image(client, repo, "rc", layers=4, size=64 * 1024)
            shipyard_s = _shipyard(server.host, ours)
            skopeo_s = _skopeo(skopeo, server.host, theirs)
            _check(client, ours + theirs)
            rows.append((label, shipyard_s, skopeo_s))
        print(f"{'case':<22} {'shipyard s':>11} {'skopeo copy s':>14} {'speed-up':>9}")
        for label, ours_s, theirs_s in rows:
            print(f"{label:<22} {ours_s:>11.2f} {theirs_s:>14.2f} {theirs_s / ours_s:>8.1f}x")
    finally:
        client.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
