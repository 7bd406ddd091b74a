"""Each check of `shipyard validate` firing on a bad input, with the file, document and JSON path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.config_trees import copy_golden, edit
from tests.config_trees import errors as validate_errors
from tests.realparts import need_binary, need_reference

pytestmark = pytest.mark.integration

DIGEST = "sha256:" + "a" * 64


@pytest.fixture(scope="module")
def schemas():  # type: ignore[no-untyped-def]
    from shipyard.k8s.schemas import load_schemas

    return load_schemas(need_reference())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the example config repo to break."""
    return copy_golden(tmp_path / "config")


def _errors(tree: Path, schemas, kubectl: str | None = None) -> list:  # type: ignore[no-untyped-def,type-arg]
    return validate_errors(tree, schemas, kubectl)


_edit = edit


def test_the_example_has_no_errors(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    assert _errors(tree, schemas) == []


def test_a_mutable_tag_after_promotion_is_an_error(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    top = tree / "overlays" / "production" / "images" / "kustomization.yaml"
    # One image promoted, the other two put on a tag by hand.
    pinned = f"images:\n- name: a\n  digest: {DIGEST}\n- name: b\n  newTag: stable\n- name: c\n  newTag: stable"
    _edit(top, "images: []", pinned)
    errors = [f for f in _errors(tree, schemas) if f.check == "policy/pinned-images"]
    assert [(f.file, f.path) for f in errors] == [
        ("overlays/production/images/kustomization.yaml", "$.images[1]"),
        ("overlays/production/images/kustomization.yaml", "$.images[2]"),
    ]
    assert "mutable tag 'stable'" in errors[0].message


def test_duplicate_hosts_are_errors(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    _edit(
        tree / "overlays/dev/generated/services/user-service/objects.yaml",
        "host: user-service.dev.",
        "host: payment-service.dev.",
    )
    errors = [f for f in _errors(tree, schemas) if f.check == "policy/unique-hosts"]
    assert {f.file for f in errors} == {
        "overlays/dev/generated/services/user-service/objects.yaml",
        "overlays/dev/generated/services/payment-service/objects.yaml",
    }
    assert all(f.path == "$.spec.rules[0].host" for f in errors)


def test_an_application_kargo_updates_must_be_authorized(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    _edit(tree / "argocd/applications/uat/user-service.yaml", "kargo.akuity.io/authorized-stage: acme:uat", "team: qa")
    errors = [f for f in _errors(tree, schemas) if f.check == "policy/authorized-stage"]
    assert len(errors) == 1
    assert errors[0].file == "argocd/applications/uat/user-service.yaml"
    assert "kargo.akuity.io/authorized-stage: acme:uat" in errors[0].message


def test_a_secret_with_data_is_an_error(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    (tree / "jobs" / "leak.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n"
    )
    errors = [f for f in _errors(tree, schemas) if f.check == "policy/no-secret-data"]
    assert [(f.file, f.document, f.path) for f in errors] == [("jobs/leak.yaml", 1, "$.stringData")]


def test_unknown_fields_are_errors_in_builtin_and_custom_kinds(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    _edit(
        tree / "base/user-service/deployment.yaml", "      containers:\n", "      containres: []\n      containers:\n"
    )
    _edit(tree / "kargo/warehouses/beta.yaml", "  interval: 5m0s\n", "  interval: 5m0s\n  semverConstraint: ^1.0.0\n")
    errors = {(f.file, f.path): f.message for f in _errors(tree, schemas) if f.check == "schema"}
    assert "'containres' was unexpected" in errors[("base/user-service/deployment.yaml", "$.spec.template.spec")]
    assert "'semverConstraint' was unexpected" in errors[("kargo/warehouses/beta.yaml", "$.spec")]


def test_deprecated_kargo_fields_and_bad_step_configs_are_errors(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    _edit(
        tree / "kargo/warehouses/alpha.yaml",
        "      discoveryLimit: 20\n",
        "      allowTags: ^v1\n",
    )
    _edit(tree / "kargo/promotions/promote.yaml", "      targetBranch: ${{ vars.branch }}\n", "      branch: main\n")
    errors = {(f.file, f.path): f.message for f in _errors(tree, schemas)}
    assert "use allowTagsRegexes" in errors[("kargo/warehouses/alpha.yaml", "$.spec.subscriptions[0].image.allowTags")]
    assert "'branch' was unexpected" in errors[("kargo/promotions/promote.yaml", "$.spec.steps[3].config")]


def test_an_overlay_that_does_not_build_is_an_error(tree: Path, schemas) -> None:  # type: ignore[no-untyped-def]
    kubectl = need_binary("kubectl")
    (tree / "base" / "user-service" / "service.yaml").unlink()
    errors = [f for f in _errors(tree, schemas, kubectl) if f.check == "kustomize"]
    assert len(errors) == 6  # user-service's overlay in every environment
    assert errors[0].file == "overlays/dev/generated/services/user-service/kustomization.yaml"


def test_validate_cli_json_and_exit_codes(tree: Path) -> None:
    need_binary("kubectl")
    reference = need_reference()

    def validate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shipyard", "validate", str(tree), "--schemas", str(reference), "--no-build", *args],
            capture_output=True,
            text=True,
            check=False,
        )

    assert validate().returncode == 0
    _edit(tree / "argocd/applications/dev/user-service.yaml", "kargo.akuity.io/authorized-stage: acme:dev", "x: y")
    result = validate("--json")
    assert result.returncode == 1
    import json

    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {"file", "document", "object", "path", "check", "severity", "message"} <= set(report["findings"][0])
