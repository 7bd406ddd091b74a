"""The cross-object checks of ``shipyard validate`` about the platform's own parts on a cluster (Verdaccio, the
CronJobs, Ingresses and previews, syncs that nothing requests): each fires, by name, on a copy of the example
config repo given the defect it is about, and the example itself passes them."""

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


def cut(path: Path, start: str, end: str) -> None:
    """Remove the lines from the one holding ``start`` up to (not including) the one holding ``end``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if start in line)
    last = next(i for i, line in enumerate(lines) if i > first and end in line)
    path.write_text("".join(lines[:first] + lines[last:]), encoding="utf-8")


def test_the_example_passes(tree: Path) -> None:
    documents, _ = load_documents(tree)
    assert [f.line() for f in check_policies(documents, {}) if f.severity == "error"] == []


# Verdaccio


def test_verdaccio_without_the_generated_config_runs_the_charts_proxying_default(tree: Path) -> None:
    app = tree / "bootstrap" / "verdaccio.yaml"
    cut(app, "configMap: |", "persistence:")
    found = errors(tree, "verdaccio/scope-proxied")
    assert [f.file for f in found] == ["bootstrap/verdaccio.yaml"]
    assert "'@*/*'" in found[0].message


def test_a_broader_proxied_pattern_before_the_scope_is_dependency_confusion(tree: Path) -> None:
    app = tree / "bootstrap" / "verdaccio.yaml"
    edit(app, "'@acme/*':", "'@*/*':\n              access: $all\n              proxy: npmjs\n            '@acme/*':")
    found = errors(tree, "verdaccio/scope-proxied")
    assert len(found) == 1 and "@acme/* packages match '@*/*'" in found[0].message


def test_values_other_than_the_reviewed_file_are_an_error(tree: Path) -> None:
    edit(tree / "verdaccio" / "values.yaml", "size: 50Gi", "size: 8Gi")
    found = errors(tree, "verdaccio/deployed-config")
    assert len(found) == 1 and "(persistence)" in found[0].message


# Ingresses, previews and images


def preview(tree: Path, number: int = 7, services: tuple[str, ...] = ("user-service", "payment-service")) -> Path:
    """A preview directory, as ``preview up`` writes it, in the tree."""
    from datetime import UTC, datetime

    from shipyard.previews.render import PreviewRequest, render_preview
    from shipyard.spec.loader import parse_spec

    platform = parse_spec(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: acme\ndomain: acme.example.com\n"
        "registry:\n  url: harbor.acme.example.com\n"
    )
    request = PreviewRequest(number=number, sha="0123456789abcdef", services=services)
    folder = tree / "previews" / f"pr-{number}"
    folder.mkdir(parents=True)
    for name, text in render_preview(platform, request, datetime(2024, 11, 20, tzinfo=UTC)).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_preview_as_rendered_passes(tree: Path) -> None:
    preview(tree)
    test_the_example_passes(tree)


def test_an_ingress_class_no_controller_serves_is_an_error(tree: Path) -> None:
    folder = preview(tree)
    edit(folder / "ingress.yaml", "ingressClassName: nginx-public", "ingressClassName: public")
    found = errors(tree, "ingress/class")
    assert [f.file for f in found] == ["previews/pr-7/ingress.yaml"]
    assert "class 'public'" in found[0].message and "nginx-internal, nginx-public" in found[0].message
    edit(tree / "bootstrap" / "verdaccio.yaml", "className: nginx-internal", "className: ''")
    assert {f.file for f in errors(tree, "ingress/class")} == {"previews/pr-7/ingress.yaml", "bootstrap/verdaccio.yaml"}


def test_an_announced_host_without_tls_is_an_error(tree: Path) -> None:
    folder = preview(tree)
    cut(folder / "ingress.yaml", "  tls:", "  rules:")
    found = errors(tree, "ingress/tls")
    assert [f.path for f in found] == ["$.spec.rules[0].host", "$.spec.rules[1].host"]
    assert "https://pr-7-payment-service.preview.acme.example.com" in found[0].message


def test_a_preview_running_an_image_ci_did_not_build_is_an_error(tree: Path) -> None:
    folder = preview(tree)
    cut(folder / "kustomization.yaml", "- name: harbor.acme.example.com/services/payment-service", "- name:")
    found = errors(tree, "previews/built-images")
    assert len(found) == 1 and "payment-service: it runs the base's image as written" in found[0].message
    edit(folder / "kustomization.yaml", "newTag: pr-7-0123456", "newTag: pr-8-0123456")
    assert "not a build of its pull request" in errors(tree, "previews/built-images")[-1].message


def test_an_image_from_outside_the_platform_registry_is_an_error(tree: Path) -> None:
    folder = preview(tree)
    edit(folder / "database.yaml", "harbor.acme.example.com/base-images/postgres", "docker.io/library/postgres")
    found = errors(tree, "images/platform-registry")
    assert [f.file for f in found] == ["previews/pr-7/database.yaml"]
    assert "docker.io/library/postgres:16.6-alpine" in found[0].message


# The CronJobs


def test_git_credentials_git_does_not_read_are_an_error(tree: Path) -> None:
    job = tree / "jobs" / "preview-cleanup.yaml"
    cut(job, "- name: GIT_CONFIG_COUNT", "volumeMounts:")
    edit(
        job,
        "            env:\n",
        "            envFrom:\n            - secretRef:\n                name: shipyard-git\n            env:\n",
    )
    found = errors(tree, "jobs/git-credentials")
    assert [f.file for f in found] == ["jobs/preview-cleanup.yaml"]
    assert "no credential helper for https://github.com" in found[0].message


def test_a_helper_reading_keys_the_secret_does_not_have_is_an_error(tmp_path: Path) -> None:
    from shipyard.render.jobs import render_jobs
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
    (tree / "jobs" / "git-credentials.yaml").write_text(render_jobs(platform, None)["jobs/git-credentials.yaml"])  # type: ignore[arg-type]
    assert errors(tree, "jobs/git-credentials") == []
    edit(tree / "jobs" / "git-credentials.yaml", "secretKey: username", "secretKey: GIT_USERNAME")
    found = errors(tree, "jobs/git-credentials")
    assert len(found) == 3 and "reads /etc/shipyard-git/username" in found[0].message


@pytest.mark.parametrize("database", [{"strategy": "synthetic"}, {"rules": "masking.yaml"}])
def test_the_database_jobs_as_rendered_pass_every_check(tmp_path: Path, database: dict[str, str]) -> None:
    """The database jobs read no config repo: given its URL, they would be held to cloning it, with no
    credentials (they get none, rightly)."""
    from shipyard.render.jobs import render_jobs
    from shipyard.spec.model import Platform
    from shipyard.workspace.model import Workspace

    platform = Platform.model_validate(
        {
            "org": "acme",
            "domain": "acme.example.com",
            "registry": {"url": "harbor.acme.example.com"},
            "secrets": {"store": "vault"},
            "sandbox": {"database": database},
        }
    )
    (tmp_path / "masking.yaml").write_text("tables: {}\n")
    tree = tmp_path / "config"
    shutil.copytree(GOLDEN, tree)
    files = render_jobs(platform, Workspace(tmp_path, {}, ()))
    assert {"jobs/sandbox-db-synth.yaml", "jobs/sandbox-db-clone.yaml"} & set(files)
    for name, text in files.items():
        (tree / name).write_text(text)
    test_the_example_passes(tree)


def test_a_job_pod_the_restricted_level_refuses_is_an_error(tree: Path) -> None:
    job = tree / "jobs" / "sandbox-sync.yaml"
    edit(job, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
    cut(job, "- name: tmp\n", "- name: git")
    found = errors(tree, "jobs/pod-security")
    assert [f.file for f in found] == ["jobs/sandbox-sync.yaml"]
    assert "allowPrivilegeEscalation is not false" in found[0].message and "pod is refused" in found[0].message


def test_a_shipyard_container_without_its_command_is_an_error(tree: Path) -> None:
    cut(tree / "jobs" / "preview-cleanup.yaml", "            command:", "            args:")
    assert [f.file for f in errors(tree, "jobs/command")] == ["jobs/preview-cleanup.yaml"]


def test_a_token_no_call_needs_is_an_error(tree: Path) -> None:
    edit(
        tree / "jobs" / "preview-cleanup.yaml",
        "automountServiceAccountToken: false",
        "automountServiceAccountToken: true",
    )
    found = errors(tree, "jobs/rbac")
    assert [f.file for f in found] == ["jobs/preview-cleanup.yaml"] and "makes no Kubernetes API call" in found[
        0
    ].message


def test_a_call_no_role_allows_is_an_error(tree: Path) -> None:
    job = tree / "jobs" / "preview-cleanup.yaml"
    edit(job, "            - gc\n", "            - gc\n            - --cluster\n")
    edit(job, "automountServiceAccountToken: false", "automountServiceAccountToken: true")
    found = errors(tree, "jobs/rbac")
    assert [f.message.split(" (")[0] for f in found] == [
        "this job must list core/namespaces",
        "this job must delete core/namespaces",
    ]


# Promotions reach the cluster


def test_a_manual_application_nothing_syncs_is_an_error(tree: Path) -> None:
    task = tree / "kargo" / "promotions" / "promote.yaml"
    edit(task, "      - name: user-service-${{ vars.overlay }}\n        namespace: argocd\n", "")
    found = errors(tree, "argocd/unsynced-promotion")
    # dev and staging sync by themselves; the manual stages' user-service Applications are synced by nothing.
    assert sorted(str(f.object) for f in found) == [
        "Application/user-service-preprod",
        "Application/user-service-production",
        "Application/user-service-uat",
    ]
    assert "overlays/uat/images" in next(f.message for f in found if f.object == "Application/user-service-uat")


# The sandbox's TTL on the cluster


def test_a_reset_on_a_schedule_is_an_error(tree: Path) -> None:
    """What the jobs were: a daily unconditional reset, and a TTL check that touched only the config repo."""
    edit(tree / "jobs" / "sandbox-sync.yaml", "            - sync\n", "            - reset\n")
    edit(tree / "jobs" / "sandbox-reset.yaml", "            - --cluster\n", "")
    found = errors(tree, "jobs/sandbox-ttl")
    assert [f.file for f in found] == ["jobs/sandbox-sync.yaml", "jobs/sandbox-reset.yaml"]
    assert "whatever its TTL" in found[0].message and "no --cluster" in found[1].message


def test_a_database_job_on_its_own_schedule_is_an_error(tmp_path: Path) -> None:
    from shipyard.render.jobs import render_jobs
    from shipyard.spec.model import Platform

    platform = Platform.model_validate(
        {
            "org": "acme",
            "domain": "acme.example.com",
            "registry": {"url": "harbor.acme.example.com"},
            "sandbox": {"database": {"strategy": "synthetic"}},
        }
    )
    tree = tmp_path / "config"
    shutil.copytree(GOLDEN, tree)
    for name, text in render_jobs(platform, None).items():  # type: ignore[arg-type]
        (tree / name).write_text(text)
    assert errors(tree, "jobs/sandbox-ttl") == [] and errors(tree, "jobs/rbac") == []
    edit(tree / "jobs" / "sandbox-db-synth.yaml", "  suspend: true\n", "")
    edit(tree / "jobs" / "sandbox-reset.yaml", "            - --database-job\n            - sandbox-db-synth\n", "")
    messages = [f.message for f in errors(tree, "jobs/sandbox-ttl")]
    assert any("renewed at '0 0 * * *'" in m for m in messages)
    assert any("does not start the database job sandbox-db-synth" in m for m in messages)


def test_no_ttl_check_for_a_sandbox_is_an_error(tree: Path) -> None:
    (tree / "jobs" / "sandbox-reset.yaml").unlink()
    found = errors(tree, "jobs/sandbox-ttl")
    assert len(found) == 1 and "its TTL never ends it" in found[0].message
