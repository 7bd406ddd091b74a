"""The checks of `shipyard validate` that read a config repo as the controllers will run it (Argo CD, Argo
Rollouts, Kargo, Kubernetes): each fires, by name, on a copy of the example broken the way it guards against,
and a two-cluster platform renders clean."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.config_trees import copy_golden, edit, errors
from tests.realparts import need_binary, need_reference

pytestmark = pytest.mark.integration

REMOTE = "https://production.k8s.acme.example.com"
SERVICE = "overlays/{env}/generated/services/{service}"


@pytest.fixture(scope="module")
def schemas() -> Any:
    from shipyard.k8s.schemas import load_schemas

    return load_schemas(need_reference())


@pytest.fixture(scope="module")
def kubectl() -> str:
    return need_binary("kubectl")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return copy_golden(tmp_path / "config")


def test_a_stage_must_sync_every_application_of_its_promotable_state(tree: Path, schemas: Any) -> None:
    task = tree / "kargo/promotions/promote.yaml"
    # The argocd-update step forgets user-service: its Applications would keep the old images.
    text = task.read_text()
    entry = re.search(r"      - name: user-service-\$\{\{ vars\.overlay \}\}\n(        .*\n)+", text)
    assert entry is not None
    task.write_text(text.replace(entry.group(0), ""))
    found = errors(tree, schemas, check="kargo/stage-applications")
    assert sorted(f.file for f in found) == [
        f"kargo/stages/{s}.yaml" for s in sorted(("dev", "staging", "uat", "preprod", "production"))
    ]
    assert "edits overlays/dev/images, which Application user-service-dev deploys" in found[0].message


def test_a_selector_that_reaches_unauthorized_applications_is_an_error(tree: Path, schemas: Any) -> None:
    task = tree / "kargo/promotions/promote.yaml"
    text = task.read_text()
    apps = re.search(r"      apps:\n(      .*\n)+", text)
    assert apps is not None
    selector = (
        "      apps:\n      - selector:\n          matchLabels:\n            app.kubernetes.io/name: user-service\n"
    )
    task.write_text(text.replace(apps.group(0), selector))
    found = errors(tree, schemas, check="policy/authorized-stage")
    # Each Stage's selector matches user-service in all six environments: Kargo would skip the five others'.
    assert len(found) == 5 * 5
    assert all("skips it without a word" in f.message for f in found)


def test_one_application_for_every_service_of_an_environment_is_an_error(
    tree: Path, schemas: Any, kubectl: str
) -> None:
    # The old design: one Application builds the whole environment.
    resources = "".join(
        f"- generated/services/{s}\n" for s in ("notification-service", "payment-service", "user-service")
    )
    (tree / "overlays/dev/kustomization.yaml").write_text(f"resources:\n- generated\n{resources}")
    edit(tree / "argocd/applications/dev.yaml", "path: overlays/dev/generated", "path: overlays/dev")
    found = errors(tree, schemas, kubectl, check="argocd/app-per-service")
    assert [(f.file, f.object) for f in found] == [("argocd/applications/dev.yaml", "Application/acme-dev")]
    assert "deploys 3 services (notification-service, payment-service, user-service)" in found[0].message
    # And every object of those services now has two owners.
    shared = errors(tree, schemas, kubectl, check="argocd/one-owner")
    assert {f.object for f in shared} == {
        "Application/acme-dev",
        "Application/notification-service-dev",
        "Application/payment-service-dev",
        "Application/user-service-dev",
    }


def test_an_object_two_applications_deploy_is_an_error(tree: Path, schemas: Any, kubectl: str) -> None:
    folder = tree / SERVICE.format(env="dev", service="user-service")
    shutil.copy(tree / "overlays/dev/generated/namespace.yaml", folder / "namespace.yaml")
    edit(folder / "kustomization.yaml", "- objects.yaml\n", "- objects.yaml\n- namespace.yaml\n")
    found = errors(tree, schemas, kubectl, check="argocd/one-owner")
    assert sorted(f.object for f in found) == ["Application/acme-dev", "Application/user-service-dev"]
    assert "Namespace dev on https://kubernetes.default.svc is also deployed by" in found[0].message


def test_a_moving_tag_in_an_auto_synced_overlay_is_an_error(tree: Path, schemas: Any, kubectl: str) -> None:
    # A new environment seeded the old way: every service on the maturity's moving tag.
    component = tree / "overlays/dev/images/kustomization.yaml"
    edit(component, "images: []", "images:\n- name: harbor.acme.example.com/services/user-service\n  newTag: alpha")
    found = errors(tree, schemas, kubectl, check="argocd/mutable-tags")
    assert [(f.file, f.path) for f in found] == [
        (f"{SERVICE.format(env='dev', service='user-service')} (built)", "$.spec.template.spec.containers[0].image")
    ]
    assert "by tag 'alpha' with imagePullPolicy IfNotPresent" in found[0].message
    # uat is promoted by hand (no automated sync): a tag there waits for the promotion that pins a digest.
    edit(
        tree / "overlays/uat/images/kustomization.yaml",
        "images: []",
        "images:\n- name: harbor.acme.example.com/services/user-service\n  newTag: beta",
    )
    assert len(errors(tree, schemas, kubectl, check="argocd/mutable-tags")) == 1


def test_a_destination_cluster_without_credentials_from_the_store_is_an_error(
    tree: Path, schemas: Any, kubectl: str
) -> None:
    edit(tree / "argocd/applications/production/user-service.yaml", "https://kubernetes.default.svc", REMOTE)
    found = errors(tree, schemas, kubectl, check="argocd/cluster-credentials")
    assert [f.file for f in found] == ["argocd/applications/production/user-service.yaml"]
    assert f"Argo CD knows no cluster at {REMOTE}" in found[0].message
    # Nothing installs Argo Rollouts on that cluster either.
    (controller,) = errors(tree, schemas, kubectl, check="rollouts/controller")
    assert controller.object == "Application/user-service-production" and REMOTE in controller.message


def test_rollouts_without_the_controller_are_an_error(tree: Path, schemas: Any, kubectl: str) -> None:
    (tree / "bootstrap/argo-rollouts.yaml").unlink()
    found = errors(tree, schemas, kubectl, check="rollouts/controller")
    assert sorted(f.object for f in found) == sorted(
        f"Application/{s}-{e}"
        for s in ("notification-service", "payment-service", "user-service")
        for e in ("preprod", "production")
    )


def test_canary_weights_without_traffic_routing_are_an_error(tree: Path, schemas: Any, kubectl: str) -> None:
    objects = tree / SERVICE.format(env="preprod", service="user-service") / "objects.yaml"
    edit(objects, "      trafficRouting:\n        nginx:\n          stableIngress: user-service\n", "")
    (found,) = errors(tree, schemas, kubectl, check="rollouts/canary-weights")
    assert found.object == "Rollout/user-service" and found.path == "$.spec.strategy.canary"
    # Two replicas: Argo Rollouts runs one canary pod beside two stable ones.
    assert "setWeight 10 gives it 33%; setWeight 25 gives it 33%" in found.message


def test_traffic_routing_references_must_resolve(tree: Path, schemas: Any, kubectl: str) -> None:
    objects = tree / SERVICE.format(env="preprod", service="user-service") / "objects.yaml"
    edit(objects, "          stableIngress: user-service\n", "          stableIngress: user-service-public\n")
    edit(objects, "      canaryService: user-service-canary\n", "      canaryService: user-service\n")
    found = [f.message for f in errors(tree, schemas, kubectl, check="rollouts/traffic-routing")]
    assert found == [
        "canaryService and stableService must be two Services",
        "stable Ingress user-service-public is not deployed with it",
    ]


def test_a_canary_without_analysis_and_a_switch_that_never_ends_are_errors(
    tree: Path, schemas: Any, kubectl: str
) -> None:
    canary = tree / SERVICE.format(env="preprod", service="user-service") / "objects.yaml"
    edit(
        canary,
        "      analysis:\n        templates:\n        - templateName: user-service-canary\n        startingStep: 1\n",
        "",
    )
    blue_green = tree / SERVICE.format(env="production", service="user-service") / "objects.yaml"
    edit(blue_green, "    count: 3\n", "")
    found = sorted((f.file, f.message) for f in errors(tree, schemas, kubectl, check="rollouts/analysis"))
    assert [file for file, _ in found] == [
        f"{SERVICE.format(env='preprod', service='user-service')} (built)",
        f"{SERVICE.format(env='production', service='user-service')} (built)",
    ]
    assert "nothing aborts a bad canary by itself" in found[0][1]
    assert "AnalysisTemplate user-service-preview runs smoke without a count" in found[1][1]


TWO_CLUSTERS = f"""clusters:
  - name: staging
  - name: production
    server: {REMOTE}
secrets:
  store: acme-vault
sandbox:
  database:
    strategy: synthetic
"""


@pytest.fixture(scope="module")
def two_clusters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with the production cluster apart from Argo CD's (staging) one, rendered."""
    from shipyard.render.engine import config_trees, render
    from shipyard.scaffold.init import InitOptions, init
    from shipyard.spec.loader import load_spec
    from shipyard.workspace.discovery import discover

    scratch = tmp_path_factory.mktemp("two-clusters")
    app = scratch / "acme"
    init(InitOptions(directory=app, org="acme", domain="acme.example.com", registry="harbor.acme.example.com"))
    spec = app / "shipyard.yaml"
    spec.write_text(spec.read_text() + TWO_CLUSTERS)
    out = scratch / "gitops-config"
    render(load_spec(spec), discover(app), config_trees(out, app), write=True, use_cache=False, cache_root=app)
    return out


def test_a_two_cluster_platform_renders_clean(two_clusters: Path, schemas: Any, kubectl: str) -> None:
    import yaml

    assert errors(two_clusters, schemas, kubectl) == []
    # Argo Rollouts where the Rollouts run; the production cluster's credentials from the store.
    assert (two_clusters / "bootstrap/argo-rollouts-production.yaml").is_file()
    assert not (two_clusters / "bootstrap/argo-rollouts.yaml").exists()
    (secret,) = yaml.safe_load_all((two_clusters / "argocd/applications/clusters.yaml").read_text())
    template = secret["spec"]["target"]["template"]
    assert template["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "cluster"}
    assert template["data"]["server"] == REMOTE
    assert secret["spec"]["data"][0]["remoteRef"] == {"key": "acme/clusters/production", "property": "config"}
    # The sandbox's CronJobs run where its namespace and database are; the preview clean-up beside Argo CD.
    assert (two_clusters / "jobs/production/sandbox-db-synth.yaml").is_file()
    assert (two_clusters / "jobs/production/sandbox-sync.yaml").is_file()
    assert (two_clusters / "jobs/preview-cleanup.yaml").is_file()
    (jobs,) = yaml.safe_load_all((two_clusters / "argocd/applications/jobs-production.yaml").read_text())
    assert jobs["spec"]["destination"]["server"] == REMOTE


def test_a_job_on_the_wrong_cluster_is_an_error(two_clusters: Path, tmp_path: Path, schemas: Any, kubectl: str) -> None:
    tree = tmp_path / "config"
    shutil.copytree(two_clusters, tree)
    # The sandbox's database job moved beside Argo CD, on the staging cluster.
    (tree / "jobs/production/sandbox-db-synth.yaml").rename(tree / "jobs/sandbox-db-synth.yaml")
    (found,) = errors(tree, schemas, kubectl, check="policy/cluster-local-dns")
    assert found.file == "jobs/sandbox-db-synth.yaml"
    assert "sandbox-db.sandbox.svc.cluster.local" in found.message and REMOTE in found.message
