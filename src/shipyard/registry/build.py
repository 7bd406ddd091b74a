"""``image build``: build a service's Dockerfile with buildah and push it to the platform's registry.

buildah runs daemonless with ``--isolation chroot`` and the ``vfs`` storage driver under
``.shipyard/buildah`` (no overlay mounts, no user namespaces, no system storage touched), so it works
in CI pods and sandboxes. With the local store the base image is read from, and the result written
to, the workspace's OCI layout directly (buildah's ``oci:`` transport); otherwise both go through the
registry. The digest reported is the one the registry (or layout) then resolves the tag to.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.git import Git
from shipyard.httpcalls import is_loopback
from shipyard.registry.reference import check_tag, parse_reference
from shipyard.registry.stores import Stores
from shipyard.spec.model import Platform

_SERVICE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
_BASE_ARG = re.compile(r"^\s*ARG\s+BASE_IMAGE=(\S+)\s*$", re.MULTILINE)

# OCI annotations (image-spec annotations.md) on every image Shipyard builds: Kargo copies a manifest's
# annotations into its Freight, so a promotion commit made on a cluster names the source commit and PR.
REVISION = "org.opencontainers.image.revision"
SOURCE = "org.opencontainers.image.source"
VERSION = "org.opencontainers.image.version"
PULL_REQUEST = "dev.shipyard.pull-request"


@dataclass(frozen=True)
class BuildPlan:
    """The two buildah commands a build runs, and where the image goes.

    A base image read from the local layout is named through ``base_link`` (a symlink to the layout
    made at run time): buildah cannot read an ``oci:`` path with a dot-directory such as ``.shipyard``.
    """

    service: str
    image: str
    tag: str
    build: list[str]
    push: list[str]
    base_layout: Path | None = None
    base_ref: str | None = None

    def build_command(self, base_link: Path) -> list[str]:
        """The build command, reading the base image through ``base_link`` when it is in the layout."""
        if self.base_layout is None:
            return self.build
        return [*self.build[:-1], "--build-arg", f"BASE_IMAGE=oci:{base_link}:{self.base_ref}", self.build[-1]]

    def to_json(self) -> dict[str, Any]:
        """What ``image build --dry-run`` prints (documented in docs/registries.md)."""
        return {
            "service": self.service,
            "image": f"{self.image}:{self.tag}",
            "build": self.build_command(Path("<tmp>/layout")),
            "push": self.push,
        }


@dataclass(frozen=True)
class BuildResult:
    """A pushed build: the image reference and the digest the registry resolves its tag to."""

    service: str
    image: str
    tag: str
    digest: str

    def to_json(self) -> dict[str, Any]:
        """What ``image build`` prints (documented in docs/registries.md)."""
        return {"service": self.service, "image": f"{self.image}:{self.tag}", "digest": self.digest}


def build_annotations(platform: Platform, root: Path, tag: str, pr: int | None = None) -> dict[str, str]:
    """The OCI annotations of a build of the workspace at ``root``: the commit (HEAD), the source repository
    when ``repos.app`` is a URL, the tag as the version, and the pull request when there is one."""
    found = {VERSION: tag}
    revision = Git(root).run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).strip()
    if revision:
        found[REVISION] = revision
    app = platform.repos.app or ""
    if "://" in app or app.startswith("git@"):
        found[SOURCE] = app
    if pr is not None:
        found[PULL_REQUEST] = str(pr)
    return dict(sorted(found.items()))


def plan_build(
    platform: Platform, root: Path, service: str, tag: str, insecure: bool = False, pr: int | None = None
) -> BuildPlan:
    """The buildah commands for ``service`` (``services/<service>/Dockerfile``, context: the repository),
    its image annotated with where it comes from (``build_annotations``)."""
    check_tag(tag)
    if not _SERVICE.fullmatch(service):
        # The name makes a path and an image name: '../x' or '--file=...' must never reach buildah.
        raise ShipyardError(f"{service[:80]!r} is not a service name (a folder of services/, a DNS label)")
    root = root.resolve()  # an absolute context, so a folder named like an option is never read as one
    dockerfile = root / "services" / service / "Dockerfile"
    if not dockerfile.is_file():
        found = sorted(p.parent.name for p in (root / "services").glob("*/Dockerfile"))
        raise ShipyardError(
            f"no service '{service}' (services/{service}/Dockerfile)", hint=f"services: {', '.join(found)}"
        )
    buildah = shutil.which("buildah")
    if buildah is None:
        raise ShipyardError("buildah is not installed", hint="apt-get install buildah (Debian's package)")
    storage = root / ".shipyard" / "buildah"
    common = [buildah, "--storage-driver", "vfs", "--root", str(storage / "root"), "--runroot", str(storage / "run")]
    registry = platform.registry
    image = registry.image(service)
    local_tag = f"localhost/shipyard-build/{service}:{tag}"
    build = [*common, "bud", "--isolation", "chroot", "--layers=false", "--format", "oci", "-f", str(dockerfile)]
    for key, value in build_annotations(platform, root, tag, pr).items():
        build += ["--annotation", f"{key}={value}"]
    build += ["-t", local_tag]
    push = [*common, "push"]
    base_layout: Path | None = None
    base_ref: str | None = None
    if registry.kind == "local":
        layout = (root / registry.url).resolve()
        match = _BASE_ARG.search(dockerfile.read_text(encoding="utf-8"))
        if match:
            base = parse_reference(match.group(1))
            if base.host == registry.host and base.ref:
                base_layout, base_ref = layout, f"{base.repository}:{base.ref}"
        destination = f"oci:{layout}:{registry.projects.services}/{service}:{tag}"
    else:
        if is_loopback(registry.host) or insecure or registry.insecure:
            build.append("--tls-verify=false")
            push.append("--tls-verify=false")
        destination = f"docker://{image}:{tag}"
    build.append(str(root))
    push += [local_tag, destination]
    return BuildPlan(service, image, tag, build, push, base_layout, base_ref)


@contextlib.contextmanager
def _scratch_dir() -> Iterator[Path]:
    # buildah parses "oci:<path>:<ref>" as an image name, whose path parts may not start with '_' or hold
    # capitals: tempfile's random names can (e.g. "shipyard-build-_gbw1192"), so the name is hex only.
    path = Path(tempfile.gettempdir()) / f"shipyard-build-{secrets.token_hex(6)}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _run(command: list[str], what: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n  ".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise ShipyardError(f"{what} failed (buildah exit {proc.returncode}):\n  {tail}")


def run_build(plan: BuildPlan, stores: Stores) -> BuildResult:
    """Build, push, and confirm the pushed digest by resolving the tag in the store."""
    with _scratch_dir() as scratch:
        link = Path(scratch) / "layout"
        if plan.base_layout is not None:
            link.symlink_to(plan.base_layout, target_is_directory=True)
        _run(plan.build_command(link), f"building {plan.service}")
        digest_file = Path(scratch) / "digest"
        push = [*plan.push[:-2], "--digestfile", str(digest_file), *plan.push[-2:]]
        _run(push, f"pushing {plan.service}")
        pushed = digest_file.read_text(encoding="utf-8").strip()
    reference = parse_reference(f"{plan.image}:{plan.tag}")
    resolved = stores.store(reference).head_manifest(reference.repository, plan.tag)
    if resolved != pushed:
        raise ShipyardError(f"{plan.image}:{plan.tag} resolves to {resolved}, but buildah pushed {pushed}")
    return BuildResult(plan.service, plan.image, plan.tag, pushed)
