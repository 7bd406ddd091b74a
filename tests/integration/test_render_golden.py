"""The rendered config repo of the `shipyard init` example: equal to the checked-in tree, strictly
valid against the engines' own schemas, every overlay built by kubectl kustomize."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from tests.realparts import REPO_ROOT, need_binary, need_reference

pytestmark = pytest.mark.integration

GOLDEN = REPO_ROOT / "examples" / "acme" / "gitops-config"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example (with Harbor, so no path of this machine appears in it) rendered into a fresh folder."""
    from shipyard.render.engine import config_trees, render
    from shipyard.scaffold.init import InitOptions, init
    from shipyard.spec.loader import load_spec
    from shipyard.workspace.discovery import discover

    scratch = tmp_path_factory.mktemp("golden")
    app = scratch / "acme"
    init(InitOptions(directory=app, org="acme", domain="acme.example.com", registry="harbor.acme.example.com"))
    out = scratch / "gitops-config"
    render(
        load_spec(app / "shipyard.yaml"),
        discover(app),
        config_trees(out, app),
        write=True,
        use_cache=False,
        cache_root=app,
    )
    return out


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_render_matches_the_checked_in_example(rendered: Path) -> None:
    assert GOLDEN.is_dir(), "examples/acme/gitops-config is missing: run `make golden`"
    assert _files(rendered) == _files(GOLDEN), "the example tree is out of date: run `make golden` and review"
    _, mismatch, errors = filecmp.cmpfiles(rendered, GOLDEN, _files(rendered), shallow=False)
    assert mismatch == [] and errors == [], f"out of date: {mismatch}; run `make golden` and review the diff"


def test_every_document_is_strictly_valid_and_every_overlay_builds(rendered: Path) -> None:
    from shipyard.k8s.schemas import load_schemas
    from shipyard.k8s.validate import validate_tree

    kubectl = need_binary("kubectl")
    report = validate_tree(rendered, load_schemas(need_reference()), kubectl)
    problems = [f.line() for f in report.findings if f.severity != "info"]
    assert problems == []
    assert report.overlays == 24  # per environment: one overlay per service, one for what they share
    # The example's preprod and production have never been promoted: said so, not an error.
    never = sorted(f.file for f in report.findings if f.check == "policy/pinned-images")
    assert never == ["overlays/preprod/images/kustomization.yaml", "overlays/production/images/kustomization.yaml"]


def _built(kubectl: str, folder: Path) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    import yaml

    text = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text)}


def test_rollout_environments_use_workload_ref_with_the_transformer(rendered: Path) -> None:
    kubectl = need_binary("kubectl")
    service = rendered / "overlays" / "production" / "generated" / "services" / "user-service"
    objects = _built(kubectl, service)
    rollout = objects[("Rollout", "user-service")]
    assert rollout["spec"]["workloadRef"]["name"] == "user-service"
    blue_green = rollout["spec"]["strategy"]["blueGreen"]
    assert blue_green["previewService"] == "user-service-preview" and blue_green["autoPromotionEnabled"] is False
    # The preview is checked before the switch; the template's measurements end, so the switch can happen.
    assert blue_green["prePromotionAnalysis"]["templates"] == [{"templateName": "user-service-preview"}]
    (smoke,) = objects[("AnalysisTemplate", "user-service-preview")]["spec"]["metrics"]
    assert smoke["count"] == 3
    assert smoke["provider"]["web"]["url"] == "http://user-service-preview.production.svc.cluster.local/"
    assert ("Service", "user-service-preview") in objects
    assert objects[("Deployment", "user-service")]["spec"]["replicas"] == 0
    generated = (service / "kustomization.yaml").read_text()
    assert "configurations:\n- rollout-transform.yaml" in generated and "http" not in generated


def test_preprods_canary_routes_its_weights_through_ingress_nginx(rendered: Path) -> None:
    kubectl = need_binary("kubectl")
    objects = _built(kubectl, rendered / "overlays" / "preprod" / "generated" / "services" / "user-service")
    canary = objects[("Rollout", "user-service")]["spec"]["strategy"]["canary"]
    assert (canary["canaryService"], canary["stableService"]) == ("user-service-canary", "user-service")
    assert canary["trafficRouting"] == {"nginx": {"stableIngress": "user-service"}}
    assert [s["setWeight"] for s in canary["steps"] if "setWeight" in s] == [10, 25, 50, 100]
    assert canary["analysis"] == {"templates": [{"templateName": "user-service-canary"}], "startingStep": 1}
    (smoke,) = objects[("AnalysisTemplate", "user-service-canary")]["spec"]["metrics"]
    assert "count" not in smoke and smoke["consecutiveErrorLimit"] == 2
    assert smoke["provider"]["web"]["url"] == "http://user-service-canary.pre-prod.svc.cluster.local/"
    backend = objects[("Ingress", "user-service")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "user-service"


def test_an_unpromoted_service_runs_nothing_and_a_promotion_pins_its_digest(rendered: Path, tmp_path: Path) -> None:
    import shutil

    from shipyard.configrepo.promotable import promotable_path, set_images

    kubectl = need_binary("kubectl")
    tree = tmp_path / "config"
    shutil.copytree(rendered, tree)
    folder = tree / "overlays" / "dev" / "generated" / "services" / "user-service"
    (container,) = _built(kubectl, folder)[("Deployment", "user-service")]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "harbor.acme.example.com/services/user-service@sha256:" + "0" * 64
    digest = "sha256:" + "1" * 64
    set_images(tree / promotable_path("dev"), {"harbor.acme.example.com/services/user-service": digest})
    (container,) = _built(kubectl, folder)[("Deployment", "user-service")]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"harbor.acme.example.com/services/user-service@{digest}"


def test_the_cli_check_exits_1_when_the_tree_is_out_of_date(rendered: Path, tmp_path: Path) -> None:
    from shipyard.scaffold.init import InitOptions, init

    app = tmp_path / "acme"
    init(InitOptions(directory=app, org="acme", domain="acme.example.com", registry="harbor.acme.example.com"))

    def shipyard(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shipyard", *args], cwd=app, capture_output=True, text=True, check=False
        )

    out = tmp_path / "out"
    assert shipyard("render", "--out", str(out)).returncode == 0
    assert shipyard("render", "--out", str(out), "--check").returncode == 0
    target = out / "kargo" / "stages" / "dev.yaml"
    target.write_text(target.read_text() + "# hand edit\n")
    check = shipyard("render", "--out", str(out), "--check")
    assert check.returncode == 1
    assert "update  kargo/stages/dev.yaml" in check.stdout
    diff = shipyard("render", "--out", str(out), "--diff")
    assert "-# hand edit" in diff.stdout
    assert shipyard("render", "--out", str(out)).returncode == 0
    assert shipyard("render", "--out", str(out), "--check").returncode == 0


def test_the_rollout_transformer_renames_references_with_a_name_prefix(rendered: Path, tmp_path: Path) -> None:
    import shutil

    import yaml

    kubectl = need_binary("kubectl")
    tree = tmp_path / "config"
    shutil.copytree(rendered, tree)
    wrapper = tree / "wrapped"
    wrapper.mkdir()
    (wrapper / "kustomization.yaml").write_text(
        "namePrefix: blue-\nresources:\n- ../overlays/preprod/generated/services/notification-service\n"
    )
    built = subprocess.run([kubectl, "kustomize", str(wrapper)], capture_output=True, text=True, check=True).stdout
    rollout = next(d for d in yaml.safe_load_all(built) if d["kind"] == "Rollout")
    canary = rollout["spec"]["strategy"]["canary"]
    assert rollout["metadata"]["name"] == "blue-notification-service"
    assert rollout["spec"]["workloadRef"]["name"] == "blue-notification-service"
    assert canary["stableService"] == "blue-notification-service"
    assert canary["canaryService"] == "blue-notification-service-canary"
    assert canary["trafficRouting"]["nginx"]["stableIngress"] == "blue-notification-service"
    assert canary["analysis"]["templates"] == [{"templateName": "blue-notification-service-canary"}]
