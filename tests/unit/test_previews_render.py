"""The preview directory's files: deterministic, and carrying exactly the marks the clean-up recognises."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shipyard.k8s.yaml import load_all
from shipyard.previews.marks import Marked, NamePattern, protected_namespaces, read_marks
from shipyard.previews.render import PreviewRequest, preview_urls, render_preview
from shipyard.spec.loader import parse_spec

SPEC = """apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {url: harbor.acme.example.com}
preview: {ttl: 3d, host: "{service}-pr{number}.previews.{domain}"}
"""
WHEN = datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "previews" / "pr-7"


def test_same_inputs_same_bytes_and_marks_the_gc_recognises() -> None:
    platform = parse_spec(SPEC)
    request = PreviewRequest(7, "ABCDEF0123456789", ("web", "api"))
    files = render_preview(platform, request, WHEN)
    assert files == render_preview(platform, PreviewRequest(7, "ABCDEF0123456789", ("api", "web")), WHEN)
    [namespace] = load_all(files["namespace.yaml"])
    meta = namespace["metadata"]
    marked = read_marks(meta["name"], meta["labels"], meta["annotations"], NamePattern(), protected_namespaces([]))
    assert isinstance(marked, Marked) and marked.problem is None
    assert marked.expires_at == WHEN + timedelta(days=3)
    [kustomization] = load_all(files["kustomization.yaml"])
    assert kustomization["resources"][1:3] == ["../../base/api", "../../base/web"]
    assert kustomization["images"][0] == {"name": "harbor.acme.example.com/services/api", "newTag": "pr-7-abcdef0"}
    assert preview_urls(platform, request) == {
        "api": "https://api-pr7.previews.acme.example.com",
        "web": "https://web-pr7.previews.acme.example.com",
    }


def test_preview_directory_matches_the_golden_files() -> None:
    # Open previews are re-rendered on every `preview up`: a changed key order or default would rewrite them all.
    rendered = render_preview(parse_spec(SPEC), PreviewRequest(7, "ABCDEF0123456789", ("web", "api")), WHEN)
    if os.environ.get("SHIPYARD_UPDATE_GOLDEN") == "1":
        for name, text in rendered.items():
            (GOLDEN / name).write_text(text)
    on_disk = {p.name: p.read_text() for p in GOLDEN.glob("*.yaml")}
    assert sorted(on_disk) == sorted(rendered), "run with SHIPYARD_UPDATE_GOLDEN=1 after an intended change"
    for name, text in rendered.items():
        assert on_disk[name] == text, name


def test_the_database_seed_job_runs_the_sandbox_generator() -> None:
    """The seed Job's command must parse with the CLI as shipped (the preview would otherwise start empty)."""
    import subprocess
    import sys

    files = render_preview(parse_spec(SPEC), PreviewRequest(7, "ABCDEF0123456789", ("web",)), WHEN)
    [seed] = [d for d in load_all(files["database.yaml"]) if d["metadata"]["name"] == "preview-db-seed"]
    assert seed["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    [container] = seed["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[:4] == ["shipyard", "sandbox", "db", "synth"] and "--seed=7" in command
    assert all("password" not in part for part in command)  # the password comes from the Secret, via libpq's env
    result = subprocess.run(
        [sys.executable, "-m", "shipyard", *command[1:], "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
