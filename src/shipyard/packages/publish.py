"""Publishing the workspace's npm packages at the release's version.

Each package gets the release version, its workspace dependencies pinned to exact versions, and
``publishConfig.registry``; packages go out in dependency order, each under the dist-tag the
versioning rules give (always passed explicitly, so a prerelease never becomes ``latest`` whatever
npm's version). Versions already published are skipped (their dist-tag is repaired if needed), so
a re-run completes an interrupted publish. The user's package.json files are never touched: npm
runs on a staged copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from shipyard.errors import ShipyardError
from shipyard.packages.npm_registry import NpmRegistry
from shipyard.versioning.aliases import npm_dist_tag, npm_version
from shipyard.versioning.semver import Version
from shipyard.workspace.discovery import DEPENDENCY_FIELDS
from shipyard.workspace.model import Workspace

# npm's rule for a package name: lower case, URL-safe, an optional @scope/, at most 214 characters.
NPM_NAME = re.compile(r"(?=.{1,214}\Z)(?:@[a-z0-9~][a-z0-9._~-]*/)?[a-z0-9~][a-z0-9._~-]*", re.ASCII)

Action = Literal["publish", "tag", "skip"]


@dataclass(frozen=True)
class PackageRelease:
    """What happens to one package: publish it, only move its dist-tag, or nothing (already done)."""

    project: str
    npm_name: str
    path: str
    version: str
    dist_tag: str
    action: Action
    dependencies: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (documented in docs/registries.md)."""
        return {
            "name": self.project,
            "npmName": self.npm_name,
            "path": self.path,
            "version": self.version,
            "distTag": self.dist_tag,
            "action": self.action,
            "dependencies": dict(sorted(self.dependencies.items())),
        }


@dataclass(frozen=True)
class PublishReport:
    """What ``packages publish`` did (or, on a dry run, would do) at one registry."""

    registry: str
    releases: list[PackageRelease]
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/registries.md)."""
        return {
            "command": "shipyard packages publish",
            "dryRun": self.dry_run,
            "registry": self.registry,
            "packages": [r.to_json() for r in self.releases],
        }


def _manifest(workspace: Workspace, path: str) -> dict[str, Any]:
    data = json.loads((workspace.root / path / "package.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ShipyardError(f"{path}/package.json is not a JSON object")
    return data


def _published(packument: dict[str, Any] | None) -> list[Version]:
    versions = (packument or {}).get("versions") or {}
    return [v for v in (Version.try_parse(str(k), prefix="") for k in versions) if v is not None]


def _pin_for(dep: str, packument: dict[str, Any] | None, version: Version) -> str:
    """The exact version of a workspace dependency that is not part of this publish."""
    tags = (packument or {}).get("dist-tags") or {}
    label = "latest" if version.maturity == "stable" else (version.maturity or "next")
    pinned = tags.get(label) or tags.get("latest")
    if not isinstance(pinned, str):
        raise ShipyardError(
            f"{dep} is a workspace dependency that has never been published",
            hint=f"publish it in the same run: shipyard packages publish {dep.split('/')[-1]} ...",
        )
    return pinned


def plan_publish(
    workspace: Workspace, version: Version, registry: NpmRegistry, names: Sequence[str] | None = None
) -> list[PackageRelease]:
    """Plan the publish of ``names`` (every non-private package when None), in dependency order."""
    packages = {p.name: p for p in workspace.packages if p.npm_name}
    if names:
        # Packages may be named as in the workspace (utils) or as on npm (@acme/utils).
        by_npm_name = {str(p.npm_name): p.name for p in packages.values()}
        wanted = [by_npm_name.get(n, n) for n in names]
    else:
        wanted = [n for n, p in packages.items() if not _manifest(workspace, p.path).get("private")]
    unknown = sorted(set(wanted) - set(packages))
    if unknown:
        raise ShipyardError(
            f"not a workspace package: {', '.join(unknown)}", hint=f"packages: {', '.join(sorted(packages)) or 'none'}"
        )
    bad = sorted(str(packages[n].npm_name) for n in wanted if not NPM_NAME.fullmatch(str(packages[n].npm_name)))
    if bad:
        # The name goes onto npm's command line (npm dist-tag add NAME@VERSION) and into the registry's URLs.
        raise ShipyardError(
            f"not an npm package name: {', '.join(repr(b[:80]) for b in bad)}",
            hint="lower case, URL-safe characters, an optional @scope/, at most 214 characters, "
            "not starting with '.', '_' or '-'",
        )
    manifests = {name: _manifest(workspace, packages[name].path) for name in wanted}
    private = sorted(n for n, m in manifests.items() if m.get("private"))
    if private:
        raise ShipyardError(f"private packages are never published: {', '.join(private)}")
    by_npm = {p.npm_name: p.name for p in packages.values() if p.npm_name}
    deps_of = {
        name: sorted({d for section in DEPENDENCY_FIELDS for d in (manifests[name].get(section) or {}) if d in by_npm})
        for name in wanted
    }
    lookups = sorted({str(packages[n].npm_name) for n in wanted} | {d for ds in deps_of.values() for d in ds})
    with ThreadPoolExecutor(max_workers=8) as pool:
        packuments = dict(zip(lookups, pool.map(registry.packument, lookups), strict=True))
    target = npm_version(version)
    selected_npm = {str(packages[n].npm_name) for n in wanted}
    releases = []
    for name in workspace.topological_order(set(wanted)):
        npm_name = str(packages[name].npm_name)
        packument = packuments[npm_name]
        tag = npm_dist_tag(version, _published(packument))
        dist_tags = (packument or {}).get("dist-tags") or {}
        if target not in ((packument or {}).get("versions") or {}):
            action: Action = "publish"
        elif dist_tags.get(tag) != target:
            action = "tag"
        else:
            action = "skip"
        pins = {d: target if d in selected_npm else _pin_for(d, packuments[d], version) for d in deps_of[name]}
        if action == "publish":
            _check_built(packages[name].path, npm_name, manifests[name], workspace.root)
        releases.append(PackageRelease(name, npm_name, packages[name].path, target, tag, action, pins))
    return releases


def _check_built(path: str, npm_name: str, manifest: dict[str, Any], root: Path) -> None:
    """Refuse to publish a package whose entry points or listed files are not there: it would install as
    an empty shell. Built files (``dist/``) are ignored by git, so a fresh clone has none until it is built."""
    named = [(key, manifest.get(key)) for key in ("main", "types", "typings")]
    named += [("files", entry) for entry in manifest.get("files") or [] if isinstance(entry, str)]
    for key, entry in named:
        if not isinstance(entry, str) or any(c in entry for c in "*?[!"):
            continue  # globs and negations are npm's to expand; a missing glob match is not an error there
        if not (root / path / entry).exists():
            raise ShipyardError(
                f"{npm_name}: {path}/{entry.removeprefix('./')} ({key} in its package.json) is missing",
                hint="build the packages first: shipyard packages build",
            )


def staged_manifest(manifest: dict[str, Any], release: PackageRelease, registry_url: str) -> dict[str, Any]:
    """The package.json that is published: the version, exact workspace dependencies, publishConfig."""
    out = dict(manifest)
    out["version"] = release.version
    for section in DEPENDENCY_FIELDS:
        deps = out.get(section)
        if isinstance(deps, dict):
            out[section] = {k: release.dependencies.get(k, v) for k, v in deps.items()}
    out["publishConfig"] = {**(out.get("publishConfig") or {}), "registry": registry_url}
    return out


def _npmrc(folder: Path, registry_url: str) -> Path:
    # The token stays in the environment: npm expands ${SHIPYARD_NPM_TOKEN} itself, so it is never on disk.
    parts = urlsplit(registry_url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    npmrc = folder / ".npmrc"
    npmrc.write_text(f"registry={registry_url}\n//{parts.netloc}{path}:_authToken=${{SHIPYARD_NPM_TOKEN}}\n")
    return npmrc


def _npm(args: list[str], cwd: Path, npmrc: Path, token: str, what: str) -> None:
    env = {**os.environ, "SHIPYARD_NPM_TOKEN": token, "npm_config_userconfig": str(npmrc)}
    proc = subprocess.run(
        ["npm", *args, "--userconfig", str(npmrc)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n  ".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise ShipyardError(f"{what} failed (npm exit {proc.returncode}):\n  {tail}")


def apply_publish(
    workspace: Workspace, releases: Sequence[PackageRelease], registry_url: str, token: str, registry: NpmRegistry
) -> None:
    """Publish (or re-tag) each package in order, from a staged copy; the workspace stays untouched."""
    if shutil.which("npm") is None:
        raise ShipyardError("npm is not installed; packages are published with npm")
    with tempfile.TemporaryDirectory(prefix="shipyard-publish-") as scratch:
        base = Path(scratch)
        npmrc = _npmrc(base, registry_url)
        for release in releases:
            if release.action == "skip":
                continue
            spec = f"{release.npm_name}@{release.version}"

            def run(args: list[str], what: str = spec) -> None:
                _npm([*args, "--registry", registry_url], base, npmrc, token, f"npm {' '.join(args)} ({what})")

            if release.action == "tag":
                run(["dist-tag", "add", spec, release.dist_tag])
                continue
            stage = base / release.project
            shutil.copytree(
                workspace.root / release.path, stage, ignore=shutil.ignore_patterns("node_modules", ".git", ".npmrc")
            )
            manifest = staged_manifest(_manifest(workspace, release.path), release, registry_url)
            (stage / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            try:
                _npm(
                    ["publish", "--tag", release.dist_tag, "--registry", registry_url, "--ignore-scripts"],
                    stage,
                    npmrc,
                    token,
                    f"publishing {release.npm_name}@{release.version}",
                )
            except ShipyardError:
                # Another run may have published it meanwhile: that is the idempotent outcome, not a failure.
                if release.version not in ((registry.packument(release.npm_name) or {}).get("versions") or {}):
                    raise
