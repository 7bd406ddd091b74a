"""Generated monorepos for the affected benchmark and the Turborepo cross-check.

Services and packages with a dependency graph declared in package.json (the one kind of edge every
tool understands), many small source files, and a long history of small commits, all written with
one ``git fast-import`` so thousands of commits take seconds, not minutes. The graph has one of three
shapes: layered (each package depends on a few lower ones, chains a few levels deep), chains (long
chains of packages, each depending on the one before) or fan-in (a small core of packages that
nearly every project depends on).
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SCOPE = "@bench"
Graph = Literal["layered", "chains", "fan-in"]
PACKAGE_MANAGER = "npm@10.9.2"


@dataclass(frozen=True)
class Shape:
    """How big the generated monorepo is."""

    services: int = 400
    packages: int = 1600
    source_files: int = 21  # per project, plus package.json, tsconfig.json, a test and (services) a Dockerfile
    commits: int = 3000
    seed: int = 7
    graph: Graph = "layered"


def project_names(shape: Shape) -> tuple[list[str], list[str]]:
    """The (services, packages) folder names."""
    return [f"svc-{i:04d}" for i in range(shape.services)], [f"pkg-{i:04d}" for i in range(shape.packages)]


def npm_name(folder: str) -> str:
    """The package.json name of a generated project (what Turborepo and Nx call it)."""
    return f"{SCOPE}/{folder}"


def generate(target: Path, shape: Shape) -> None:
    """Create a git repository at ``target`` holding the monorepo on branch main, checked out."""
    rng = random.Random(shape.seed)
    services, packages = project_names(shape)
    files: dict[str, str] = {
        "shipyard.yaml": (
            "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: bench\ndomain: bench.example.com\n"
            "registry:\n  kind: local\n  url: .shipyard/registry\n"
            "workspace:\n  globalFiles: [tsconfig.base.json]\n"
        ),
        "package.json": json.dumps(
            {
                "name": "bench-monorepo",
                "private": True,
                "packageManager": PACKAGE_MANAGER,
                "workspaces": ["packages/*", "services/*"],
            },
            indent=2,
        )
        + "\n",
        # The shared compiler settings are a global file for every tool (shipyard.yaml lists it too).
        "turbo.json": json.dumps(
            {"globalDependencies": ["tsconfig.base.json"], "tasks": {"build": {"dependsOn": ["^build"]}}}, indent=2
        )
        + "\n",
        "tsconfig.base.json": '{"compilerOptions": {"strict": true}}\n',
        "nx.json": json.dumps({"namedInputs": {"default": ["{projectRoot}/**/*"]}}, indent=2) + "\n",
        ".gitignore": "node_modules\n.turbo/\n.nx/\n",
    }
    lock: dict[str, object] = {"": {"name": "bench-monorepo", "workspaces": ["packages/*", "services/*"]}}
    package_deps, service_deps = dependencies(shape, rng, packages)
    for name, deps in zip(packages, package_deps, strict=True):
        _project(files, "packages", name, deps, shape, dockerfile=False)
        lock[f"packages/{name}"] = {"name": npm_name(name), "version": "1.0.0"}
        lock[f"node_modules/{npm_name(name)}"] = {"resolved": f"packages/{name}", "link": True}
    for name, deps in zip(services, service_deps, strict=True):
        _project(files, "services", name, deps, shape, dockerfile=True)
        lock[f"services/{name}"] = {"name": npm_name(name), "version": "1.0.0"}
        lock[f"node_modules/{npm_name(name)}"] = {"resolved": f"services/{name}", "link": True}
    files["package-lock.json"] = (
        json.dumps({"name": "bench-monorepo", "lockfileVersion": 3, "requires": True, "packages": lock}, indent=2)
        + "\n"
    )

    editable = sorted(p for p in files if "/src/" in p)
    stream = bytearray()
    _commit(stream, 1, None, "Initial monorepo", files, 1_700_000_000)
    for number in range(2, shape.commits + 1):
        changed = {}
        for path in rng.sample(editable, rng.randint(1, 3)):
            changed[path] = f"export const value = {number};\n"
        _commit(stream, number, number - 1, f"Change {number}", changed, 1_700_000_000 + number * 60)
    target.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(target)]
    subprocess.run([*git, "init", "-q", "--initial-branch=main"], check=True)
    subprocess.run([*git, "fast-import", "--quiet"], input=bytes(stream), check=True)
    # fast-import writes a pack without good deltas; repack as a real repository would be.
    subprocess.run([*git, "repack", "-a", "-d", "-q"], check=True)
    subprocess.run([*git, "checkout", "-q", "-f", "main"], check=True)


def dependencies(shape: Shape, rng: random.Random, packages: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """The dependencies of each package and of each service. Packages depend only on packages with a
    lower number, so the graph has no cycle."""
    package_deps: list[list[str]] = []
    if shape.graph == "layered":
        # A few packages among the 150 before, as in many real monorepos: chains a few levels deep.
        for index in range(len(packages)):
            window = packages[max(0, index - 150) : index]
            package_deps.append(rng.sample(window, min(len(window), rng.randint(0, 3))))
        services = [rng.sample(packages, min(len(packages), rng.randint(2, 5))) for _ in range(shape.services)]
        return package_deps, services
    if shape.graph == "chains":
        # Ten chains: each package depends on the one before it in its chain, sometimes on one more
        # from any chain below; services use the last packages of the chains, so a change near a
        # chain's start reaches them through dozens of hops.
        chains = 10
        for index in range(len(packages)):
            deps = [packages[index - chains]] if index >= chains else []
            if index >= chains and rng.random() < 0.2:
                deps.append(packages[rng.randrange(index - chains)] if index > chains else packages[0])
            package_deps.append(sorted(set(deps)))
        tail = packages[-chains * 3 :]
        services = [rng.sample(tail, min(len(tail), rng.randint(1, 2))) for _ in range(shape.services)]
        return package_deps, services
    # Fan-in: twenty core packages that every other project depends on, plus a few packages nearby.
    core = packages[:20]
    for index in range(len(packages)):
        if index < len(core):
            package_deps.append(core[:index][-2:])
            continue
        window = packages[max(len(core), index - 50) : index]
        nearby = rng.sample(window, min(len(window), rng.randint(0, 2)))
        package_deps.append(sorted({*rng.sample(core, rng.randint(1, 3)), *nearby}))
    services = [
        sorted({*rng.sample(core, rng.randint(1, 2)), *rng.sample(packages, rng.randint(3, 8))})
        for _ in range(shape.services)
    ]
    return package_deps, services


def _project(files: dict[str, str], folder: str, name: str, deps: list[str], shape: Shape, *, dockerfile: bool) -> None:
    root = f"{folder}/{name}"
    manifest = {
        "name": npm_name(name),
        "version": "1.0.0",
        "private": True,
        "scripts": {"build": "tsc -p ."},
        "dependencies": {npm_name(d): "*" for d in sorted(deps)},
    }
    files[f"{root}/package.json"] = json.dumps(manifest, indent=2) + "\n"
    files[f"{root}/tsconfig.json"] = '{"compilerOptions": {"outDir": "dist"}}\n'
    files[f"{root}/tests/index.test.ts"] = f"import {{ value }} from '../src/m0';\nconsole.log('{name}', value);\n"
    for i in range(shape.source_files):
        files[f"{root}/src/m{i}.ts"] = f"export const value = {i}; // {name}\n"
    if dockerfile:
        files[f"{root}/Dockerfile"] = f'FROM node:20\nWORKDIR /app\nCOPY {root} ./\nCMD ["node", "dist/index.js"]\n'


def _commit(stream: bytearray, mark: int, parent: int | None, message: str, files: dict[str, str], when: int) -> None:
    who = f"Bench <bench@example.com> {when} +0000"
    text = message.encode()
    stream += f"commit refs/heads/main\nmark :{mark}\nauthor {who}\ncommitter {who}\n".encode()
    stream += f"data {len(text)}\n".encode() + text + b"\n"
    if parent is not None:
        stream += f"from :{parent}\n".encode()
    for path, content in sorted(files.items()):
        data = content.encode()
        stream += f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"
    stream += b"\n"
