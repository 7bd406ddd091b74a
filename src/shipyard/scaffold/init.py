"""Scaffold the seed's monorepo: three services, three TypeScript packages with real dependencies,
a valid ``shipyard.yaml``, as a git repository with main and develop.

Without a registry URL the platform is the embedded default that works on one machine: images go
to an OCI image layout directory and the config repo is a local bare git repository, both under
``.shipyard/`` (ignored by git).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.git import Git
from shipyard.plan import Op, Plan

LOCAL_REGISTRY = ".shipyard/registry"
LOCAL_CONFIG_REPO = ".shipyard/gitops-config.git"
_RENAMES = {"_gitignore": ".gitignore", "_dockerignore": ".dockerignore"}
_ORG = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+")


@dataclass(frozen=True)
class InitOptions:
    """What ``shipyard init`` was asked for."""

    directory: Path
    org: str
    domain: str
    registry: str | None = None


def spec_text(options: InitOptions) -> str:
    """The ``shipyard.yaml`` for a new monorepo: only what differs from the seed's defaults."""
    if options.registry:
        registry = f"registry:\n  kind: harbor\n  url: {options.registry}\n"
        repos = ""
    else:
        registry = f"registry:\n  kind: local\n  url: {LOCAL_REGISTRY}\n"
        repos = f"repos:\n  app: .\n  config: {LOCAL_CONFIG_REPO}\n"
    return (
        "# The platform: everything not written here takes the seed's defaults (see `shipyard check`).\n"
        "apiVersion: shipyard.dev/v1alpha1\n"
        "kind: Platform\n"
        f"org: {options.org}\n"
        f"domain: {options.domain}\n"
        f"{registry}{repos}"
    )


def plan_init(options: InitOptions) -> Plan:
    """The files and repositories ``shipyard init`` will create; refuses to overwrite anything."""
    if not _ORG.fullmatch(options.org):
        raise ShipyardError(f"--org '{options.org}' must be a DNS label: lower case letters, digits and '-'")
    if not _DOMAIN.fullmatch(options.domain) or len(options.domain) > 253:
        raise ShipyardError(f"--domain '{options.domain}' must be a DNS domain such as acme.example.com")
    target = options.directory
    if target.exists() and any(target.iterdir()):
        raise ShipyardError(
            f"{target} is not empty; init only scaffolds into a new or empty folder",
            hint="choose another folder, or remove what is there",
        )
    plan = Plan(command="shipyard init")
    for relative, _ in _templates():
        plan.add(Op.create, relative)
    plan.add(Op.create, "shipyard.yaml", "the platform spec")
    plan.add(Op.commit, "main", "initial commit on main")
    plan.add(Op.create, "develop", "branch develop from main")
    if not options.registry:
        plan.add(Op.create, LOCAL_CONFIG_REPO, "local bare git repository for the GitOps config")
        plan.add(Op.create, LOCAL_REGISTRY, "local OCI image layout (the embedded registry)")
    return plan


def init(options: InitOptions) -> Plan:
    """Scaffold the monorepo; returns the plan that was applied."""
    plan = plan_init(options)
    target = options.directory
    target.mkdir(parents=True, exist_ok=True)
    replacements = _replacements(options)
    for relative, source in _templates():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        for key, value in replacements.items():
            text = text.replace(key, value)
        path.write_text(text, encoding="utf-8")
    (target / "shipyard.yaml").write_text(spec_text(options), encoding="utf-8")
    git = Git(target)
    git.run("init", "--quiet", "--initial-branch=main")
    git.commit("Scaffold the monorepo with shipyard init")
    git.run("branch", "develop")
    if not options.registry:
        config = target / LOCAL_CONFIG_REPO
        config.mkdir(parents=True)
        Git(config).run("init", "--quiet", "--bare", "--initial-branch=main")
        registry = target / LOCAL_REGISTRY
        registry.mkdir(parents=True)
        (registry / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}\n', encoding="utf-8")
        (registry / "index.json").write_text(
            '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}\n',
            encoding="utf-8",
        )
        (registry / "blobs" / "sha256").mkdir(parents=True)
    return plan


def _replacements(options: InitOptions) -> dict[str, str]:
    registry = options.registry or "localhost"
    return {
        "__SCOPE__": f"@{options.org}",
        "__ORG__": options.org,
        "__DOMAIN__": options.domain,
        "__BASE_IMAGES__": f"{registry.split('://', 1)[-1]}/base-images",
    }


def _templates() -> list[tuple[str, Traversable]]:
    root = resources.files("shipyard.scaffold") / "templates" / "monorepo"
    found: list[tuple[str, Traversable]] = []

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__":
                continue
            name = _RENAMES.get(child.name, child.name)
            if child.is_dir():
                walk(child, f"{prefix}{name}/")
            else:
                found.append((f"{prefix}{name}", child))

    walk(root, "")
    return found
