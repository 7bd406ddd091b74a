"""The cross-object checks of ``shipyard validate``: each fires, by name, on a copy of the example config
repo given the defect it is about, and the example itself passes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipyard.k8s.documents import Finding
from shipyard.k8s.policies import check_policies
from shipyard.k8s.validate import load_documents
from tests.realparts import REPO_ROOT

GOLDEN = REPO_ROOT / "examples" / "acme" / "gitops-config"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the example config repo to break."""
    target = tmp_path / "config"
    shutil.copytree(GOLDEN, target)
    return target


def errors(tree: Path, check: str) -> list[Finding]:
    documents, _ = load_documents(tree)
    return [f for f in check_policies(documents, {}) if f.severity == "error" and f.check == check]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_example_passes_every_cluster_check(tree: Path) -> None:
    documents, _ = load_documents(tree)
    assert [f.line() for f in check_policies(documents, {}) if f.severity == "error"] == []


def test_a_desired_revision_on_the_shared_branch_is_an_error(tree: Path) -> None:
    task = tree / "kargo" / "promotions" / "promote.yaml"
    edit(
        task,
        "        namespace: argocd\n",
        "        namespace: argocd\n        sources:\n        - repoURL: ${{ vars.repoURL }}\n"
        "          desiredRevision: ${{ task.outputs.commit.commit }}\n",
    )
    found = errors(tree, "kargo/shared-branch-health")
    assert {f.file for f in found} == {"kargo/promotions/promote.yaml"}
    assert len(found) == 5  # every Stage runs the task
    assert "Stage preprod" in found[0].message and "branch main" in found[0].message


def test_a_registry_credential_naming_only_the_host_is_an_error(tmp_path: Path) -> None:
    from shipyard.render.common import yaml_of
    from shipyard.render.kargo import credentials
    from shipyard.spec.model import Platform

    platform = Platform.model_validate(
        {
            "org": "acme",
            "domain": "acme.example.com",
            "registry": {"url": "harbor.acme.example.com"},
            "secrets": {"store": "vault"},
        }
    )
    tree = tmp_path / "config"
    shutil.copytree(GOLDEN, tree)
    (tree / "kargo" / "credentials.yaml").write_text(yaml_of(*credentials(platform)), encoding="utf-8")
    assert errors(tree, "kargo/credential-match") == []

    edit(
        tree / "kargo" / "credentials.yaml",
        "repoURL: ^harbor\\.acme\\.example\\.com/services/",
        "repoURL: harbor.acme.example.com",
    )
    edit(tree / "kargo" / "credentials.yaml", "        repoURLIsRegex: 'true'\n", "")
    found = errors(tree, "kargo/credential-match")
    # Once per repository: the first Warehouse that reads it.
    assert next((f.file, f.path) for f in found) == (
        "kargo/warehouses/alpha.yaml",
        "$.spec.subscriptions[0].image.repoURL",
    )
    assert len(found) == 3
    assert "harbor.acme.example.com/services/" in found[0].message


def test_automatic_freight_without_one_version_criteria_is_an_error(tree: Path) -> None:
    warehouse = tree / "kargo" / "warehouses" / "alpha.yaml"
    text = warehouse.read_text(encoding="utf-8")
    start = text.index("  freightCreationCriteria:")
    end = text.index("  subscriptions:")
    warehouse.write_text(text[:start] + text[end:], encoding="utf-8")
    found = errors(tree, "kargo/one-version-freight")
    assert [(f.file, f.path) for f in found] == [("kargo/warehouses/alpha.yaml", "$.spec.freightCreationCriteria")]
    assert "does not compare the tags of" in found[0].message


def test_an_image_without_its_origin_in_a_stage_fed_by_two_warehouses_is_an_error(tree: Path) -> None:
    task = tree / "kargo" / "promotions" / "promote.yaml"
    task.write_text(
        task.read_text(encoding="utf-8").replace(", warehouse(ctx.targetFreight.origin.name))", ")"), encoding="utf-8"
    )
    found = errors(tree, "kargo/image-origin")
    # uat, preprod and production take release and hotfix betas; dev and staging only alphas.
    assert {f.message.split()[1] for f in found} == {"uat", "preprod", "production"}


def test_a_stage_requiring_the_stable_tag_without_the_registry_checks_is_an_error(tree: Path) -> None:
    stage = tree / "kargo" / "stages" / "production.yaml"
    text = stage.read_text(encoding="utf-8")
    start = text.index("      - uses: http\n")
    end = text.index("      - task:\n")
    stage.write_text(text[:start] + text[end:], encoding="utf-8")
    found = errors(tree, "kargo/stable-tag-enforced")
    assert [(f.file, f.object) for f in found] == [("kargo/stages/production.yaml", "Stage/production")]
    assert "harbor.acme.example.com/services/user-service" in found[0].message


def test_a_promotion_commit_without_the_trace_trailers_is_an_error(tree: Path) -> None:
    task = tree / "kargo" / "promotions" / "promote.yaml"
    text = task.read_text(encoding="utf-8")
    start = text.index("Shipyard-Stage: ${{ ctx.stage }}") + len("Shipyard-Stage: ${{ ctx.stage }}")
    end = text.index("\n", start)
    task.write_text(text[:start] + text[end:], encoding="utf-8")
    found = errors(tree, "kargo/commit-trailers")
    assert [(f.file, f.path) for f in found] == [("kargo/promotions/promote.yaml", "$.spec.steps[2].config.message")]
    assert "Shipyard-Source-Commit, Shipyard-PR, Shipyard-Approved-By" in found[0].message


def test_an_application_of_custom_kinds_without_skip_dry_run_is_an_error(tree: Path) -> None:
    edit(tree / "argocd/applications/kargo.yaml", "    - SkipDryRunOnMissingResource=true\n", "")
    found = errors(tree, "argocd/bootstrap-order")
    assert [(f.file, f.path) for f in found] == [("argocd/applications/kargo.yaml", "$.spec.syncPolicy.syncOptions")]
    assert "kargo.akuity.io/Warehouse" in found[0].message
    # The other remedy: Argo CD told how to assess an Application's health.
    (tree / "argocd-cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\ndata:\n"
        "  resource.customizations.health.argoproj.io_Application: |\n    hs = {}\n    return hs\n",
        encoding="utf-8",
    )
    assert errors(tree, "argocd/bootstrap-order") == []


def test_kargo_without_cert_manager_is_an_error(tree: Path) -> None:
    (tree / "bootstrap" / "cert-manager.yaml").unlink()
    found = errors(tree, "kargo/webhook-certs")
    assert [f.file for f in found] == ["bootstrap/kargo.yaml"]
    assert "webhooksServer.tls.selfSignedCert" in found[0].message


def test_kargo_nobody_can_sign_in_to_is_an_error(tree: Path) -> None:
    edit(
        tree / "bootstrap" / "kargo.yaml",
        "          adminAccount:\n            enabled: true\n",
        "          adminAccount:\n            enabled: false\n",
    )
    found = errors(tree, "kargo/login")
    assert [f.file for f in found] == ["bootstrap/kargo.yaml"]
    assert "nobody can sign in" in found[0].message
    edit(tree / "bootstrap" / "kargo.yaml", "            enabled: false\n", "            enabled: true\n")
    edit(tree / "bootstrap" / "kargo.yaml", "          secret:\n            name: kargo-api-admin\n", "")
    assert "without a password hash" in errors(tree, "kargo/login")[0].message


def test_the_auth_section_renders_the_kargo_login(tmp_path: Path) -> None:
    from shipyard.errors import ShipyardError
    from shipyard.render.bootstrap import kargo_values
    from shipyard.spec.loader import parse_spec

    base = (
        "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: acme\ndomain: acme.example.com\nregistry: {url: h}\n"
    )
    assert kargo_values(parse_spec(base))["api"]["adminAccount"] == {"enabled": True}
    with_oidc = parse_spec(
        base + "auth:\n  oidc: {issuerUrl: 'https://login.acme.example.com', clientId: kargo, admins: [a@acme.io]}\n"
    )
    api = kargo_values(with_oidc)["api"]
    assert api["adminAccount"] == {"enabled": False} and "secret" not in api
    assert api["oidc"] == {
        "enabled": True,
        "issuerURL": "https://login.acme.example.com",
        "clientID": "kargo",
        "admins": {"claims": {"email": ["a@acme.io"]}},
    }
    with pytest.raises(ShipyardError, match="nobody could sign in"):
        parse_spec(base + "auth: {admin: false}\n")
    with pytest.raises(ShipyardError, match="https URL"):
        parse_spec(base + "auth:\n  oidc: {issuerUrl: 'http://login', clientId: kargo}\n")
