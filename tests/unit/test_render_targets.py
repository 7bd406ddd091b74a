"""What the targets render, read back as data: the rules users most often get wrong are impossible."""

from __future__ import annotations

from pathlib import Path

import yaml

from shipyard.render.engine import render_files
from shipyard.render.targets import CONFIG_TARGETS
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover


def _files(acme: Path, extra: str = "") -> dict[str, list[dict]]:  # type: ignore[type-arg]
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text() + extra)
    files = render_files(load_spec(spec), discover(acme), CONFIG_TARGETS)
    return {path: list(yaml.safe_load_all(text)) for path, text in files.items()}


def test_no_deprecated_or_dangerous_fields_anywhere(acme: Path) -> None:
    text = "\n".join(yaml.safe_dump_all(docs) for docs in _files(acme).values())
    for word in ("commonLabels", "allowTags:", "ignoreTags:", "semverConstraint", "goTemplate: true", "kind: Secret\n"):
        assert word not in text


def test_the_previews_application_set_follows_the_interface(acme: Path) -> None:
    (appset,) = _files(acme)["argocd/applications/previews.yaml"]
    generator = appset["spec"]["generators"][0]["git"]
    assert generator["directories"] == [{"path": "previews/pr-*"}]
    template = appset["spec"]["template"]
    assert template["metadata"]["name"] == "preview-{{path.basename}}"
    assert template["spec"]["source"]["path"] == "{{path}}"
    assert template["spec"]["destination"]["namespace"] == "{{path.basename}}"
    assert template["spec"]["syncPolicy"] == {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true"],
    }


def test_auto_environments_sync_automatically_and_kargo_stages_are_authorized(acme: Path) -> None:
    files = _files(acme)
    dev = files["argocd/applications/dev/user-service.yaml"][0]
    production = files["argocd/applications/production/user-service.yaml"][0]
    assert dev["metadata"]["name"] == "user-service-dev"
    assert dev["spec"]["source"]["path"] == "overlays/dev/generated/services/user-service"
    assert dev["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "automated" not in production["spec"]["syncPolicy"]
    assert production["metadata"]["annotations"]["kargo.akuity.io/authorized-stage"] == "acme:production"
    sandbox = files["argocd/applications/sandbox/user-service.yaml"][0]
    assert "kargo.akuity.io/authorized-stage" not in sandbox["metadata"]["annotations"]
    assert dev["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    # What an environment's services share is its own Application, always in sync, never updated by Kargo.
    shared = files["argocd/applications/production.yaml"][0]
    assert shared["metadata"]["name"] == "acme-production" and shared["spec"]["syncPolicy"]["automated"]
    assert "kargo.akuity.io/authorized-stage" not in shared["metadata"]["annotations"]
    project, config = files["kargo/project.yaml"]
    assert "spec" not in project
    auto = {p["stageSelector"]["name"]: p["autoPromotionEnabled"] for p in config["spec"]["promotionPolicies"]}
    assert auto == {"dev": True, "staging": True, "uat": False, "preprod": False, "production": False}


def test_stages_request_freight_as_the_graph_says(acme: Path) -> None:
    files = _files(acme)

    def request(stage: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
        return [
            (f["origin"]["name"], f["sources"])
            for f in files[f"kargo/stages/{stage}.yaml"][0]["spec"]["requestedFreight"]
        ]

    assert request("dev") == [("alpha", {"direct": True})]
    assert request("staging") == [("alpha", {"stages": ["dev"]})]
    assert request("uat") == [("beta", {"direct": True}), ("hotfix", {"direct": True})]
    assert request("preprod") == [("beta", {"stages": ["uat"]}), ("hotfix", {"stages": ["uat"]})]
    assert request("production") == [("beta", {"stages": ["preprod"]}), ("hotfix", {"stages": ["preprod"]})]
    (warehouse,) = files["kargo/warehouses/beta.yaml"]
    image = warehouse["spec"]["subscriptions"][0]["image"]
    assert image["allowTagsRegexes"] == [r"^v\d+\.\d+\.0-beta\.\d+$"] and image["constraint"] == ">=0.0.0-0"
    assert "kargo/warehouses/stable.yaml" not in files  # no Stage takes stable freight
    steps = [s["uses"] for s in files["kargo/promotions/promote.yaml"][0]["spec"]["steps"]]
    assert steps == ["git-clone", "kustomize-set-image", "git-commit", "git-push", "argocd-update"]


def test_cronjobs_run_shipyard_in_its_pinned_image(acme: Path) -> None:
    files = _files(acme)
    repo = ["--config-repo", "$(SHIPYARD_CONFIG_REPO)"]
    for path, schedule, args in (
        ("jobs/sandbox-sync.yaml", "0 0 * * *", ["sandbox", "sync", *repo]),
        ("jobs/sandbox-reset.yaml", "*/5 * * * *", ["sandbox", "reset", "--if-expired", "--cluster", *repo]),
        ("jobs/preview-cleanup.yaml", "0 */6 * * *", ["preview", "gc", *repo]),
    ):
        (job,) = files[path]
        assert job["spec"]["schedule"] == schedule
        (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "localhost/base-images/shipyard:0.1.0"
        assert container["args"] == args


def test_a_secret_store_turns_credentials_into_external_secrets(acme: Path) -> None:
    files = _files(acme, "secrets:\n  store: vault\n")
    (secret,) = files["overlays/production/generated/external-secrets.yaml"]
    assert secret["kind"] == "ExternalSecret" and secret["spec"]["target"]["name"] == "production-db"
    assert "external-secrets.yaml" in files["overlays/production/generated/kustomization.yaml"][0]["resources"]
    git, registry = files["kargo/credentials.yaml"]
    assert git["spec"]["target"]["template"]["metadata"]["labels"] == {"kargo.akuity.io/cred-type": "git"}
    # Kargo compares repoURL exactly unless it is a regex: this one names every service repository.
    data = registry["spec"]["target"]["template"]["data"]
    assert (data["repoURL"], data["repoURLIsRegex"]) == ("^localhost/services/", "true")
    assert files["jobs/git-credentials.yaml"][0]["spec"]["secretStoreRef"] == {
        "name": "vault",
        "kind": "ClusterSecretStore",
    }


def test_every_secret_a_cronjob_reads_comes_from_the_store(acme: Path) -> None:
    def secrets_read(files: dict[str, list[dict]]) -> set[str]:  # type: ignore[type-arg]
        names: set[str] = set()
        for path, docs in files.items():
            for doc in docs:
                if path.startswith("jobs/") and doc.get("kind") == "CronJob":
                    pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                    (container,) = pod["containers"]
                    names |= {e["secretRef"]["name"] for e in container.get("envFrom", [])}
                    names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
                    names |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        return names

    spec = acme / "shipyard.yaml"
    on_github = spec.read_text().replace("  app: .\n", "  app: https://github.com/acme/monorepo.git\n")
    (acme / "masking.yaml").write_text("tables: {}\n")
    for database, salted in (("rules: masking.yaml", True), ("strategy: synthetic", False)):
        spec.write_text(on_github)
        files = _files(acme, f"secrets:\n  store: vault\nsandbox:\n  database:\n    {database}\n")
        from_store = {
            doc["spec"]["target"]["name"]: doc
            for path, docs in files.items()
            if path.startswith("jobs/")
            for doc in docs
            if doc["kind"] == "ExternalSecret"
        }
        assert secrets_read(files) == set(from_store) == {"shipyard-git", "shipyard-github", "shipyard-sandbox-db"}
        database_secret = from_store["shipyard-sandbox-db"]["spec"]["data"]
        assert [d["secretKey"] for d in database_secret] == (["pgpass", "salt"] if salted else ["pgpass"])
        assert {d["remoteRef"]["key"] for d in database_secret} == {"acme/sandbox-db"}
        token = from_store["shipyard-github"]["spec"]["data"]
        assert token == [{"secretKey": "token", "remoteRef": {"key": "acme/github", "property": "token"}}]


def test_harbor_is_bootstrapped_only_for_a_harbor_registry(acme: Path) -> None:
    assert "bootstrap/harbor.yaml" not in _files(acme)
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text().replace("kind: local\n  url: .shipyard/registry", "url: harbor.acme.example.com"))
    (harbor,) = _files(acme)["bootstrap/harbor.yaml"]
    values = harbor["spec"]["source"]["helm"]["valuesObject"]
    assert values["trivy"]["enabled"] and values["persistence"]["enabled"] and values["expose"]["tls"]["enabled"]
    assert values["existingSecretAdminPassword"] == "harbor-admin"


def test_cronjob_commands_are_real_shipyard_commands(acme: Path) -> None:
    """Every CronJob's args must parse with the CLI as shipped (a renamed flag would fail at 3 a.m.)."""
    import subprocess
    import sys

    (acme / "masking.yaml").write_text("tables: {}\n")
    rendered = {**_files(acme, "sandbox:\n  database:\n    rules: masking.yaml\n")}
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text().replace("rules: masking.yaml", "strategy: synthetic"))
    rendered |= _files(acme)
    assert {"jobs/sandbox-db-clone.yaml", "jobs/sandbox-db-synth.yaml"} <= set(rendered)
    for path, docs in rendered.items():
        if not path.startswith("jobs/"):
            continue
        for doc in docs:
            if doc.get("kind") != "CronJob":
                continue
            (container,) = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
            args = [a.replace("$(SHIPYARD_CONFIG_REPO)", str(acme)) for a in container["args"]]
            args = [str(acme / "masking.yaml") if a.endswith("sandbox-rules.yaml") else a for a in args]
            result = subprocess.run(
                [sys.executable, "-m", "shipyard", *args, "--help"], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, (path, result.stderr)


def test_the_sandbox_database_job_clones_with_the_rules_or_synthesises(acme: Path) -> None:
    assert "jobs/sandbox-db-clone.yaml" not in _files(acme)  # no rules file: nothing safe to mask with
    (acme / "masking.yaml").write_text("tables:\n  users:\n    email: fake.email\n")
    files = _files(acme, "sandbox:\n  database:\n    rules: masking.yaml\n")
    (job,) = files["jobs/sandbox-db-clone.yaml"]
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == [
        "sandbox", "db", "clone",
        "--from", "postgresql://production-db.production.svc.cluster.local:5432/acme",
        "--to", "postgresql://sandbox-db.sandbox.svc.cluster.local:5432/acme",
        "--rules", "/etc/shipyard/sandbox-rules.yaml",
    ]  # fmt: skip
    env = {e["name"]: e for e in container["env"]}
    # libpq wants the password file 0600 and its owner's: the init container copies the Secret's into memory.
    assert env["PGPASSFILE"]["value"] == "/var/run/shipyard-db/pgpass"
    assert env["SHIPYARD_SANDBOX_SALT"]["valueFrom"] == {"secretKeyRef": {"name": "shipyard-sandbox-db", "key": "salt"}}
    assert {"name": "database", "secret": {"secretName": "shipyard-sandbox-db", "defaultMode": 0o440}} in pod["volumes"]
    (init,) = pod["initContainers"]
    assert init["command"] == ["install", "-m", "0600", "/etc/shipyard-db/pgpass", "/var/run/shipyard-db/pgpass"]
    assert "GIT_CONFIG_COUNT" not in env  # the database job never touches the config repo
    (spec,) = files["jobs/spec.yaml"]
    assert spec["data"]["sandbox-rules.yaml"] == "tables:\n  users:\n    email: fake.email\n"


def test_a_synthetic_sandbox_database_gets_fresh_rows_daily(acme: Path) -> None:
    files = _files(acme, "sandbox:\n  database:\n    strategy: synthetic\n    rows: 500\n")
    (job,) = files["jobs/sandbox-db-synth.yaml"]
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [
        "sandbox", "db", "synth", "--to", "postgresql://sandbox-db.sandbox.svc.cluster.local:5432/acme", "--rows", "500"
    ]  # fmt: skip
    assert "SHIPYARD_SANDBOX_SALT" not in {e["name"] for e in container["env"]}


def test_a_missing_rules_file_is_named(acme: Path) -> None:
    import pytest

    from shipyard.errors import ShipyardError

    with pytest.raises(ShipyardError, match=r"sandbox\.database\.rules names .*nope\.yaml"):
        _files(acme, "sandbox:\n  database:\n    rules: nope.yaml\n")


def test_preview_cleanup_asks_github_when_the_app_repo_is_there(acme: Path) -> None:
    (job,) = _files(acme)["jobs/preview-cleanup.yaml"]
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert "--github" not in container["args"]  # no GitHub repository named: TTL only
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text().replace("  app: .\n", "  app: https://github.com/acme/monorepo.git\n"))
    (job,) = _files(acme)["jobs/preview-cleanup.yaml"]
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"][-3:] == ["--github", "--repo", "acme/monorepo"]
    token = next(e for e in container["env"] if e["name"] == "GITHUB_TOKEN")
    assert token["valueFrom"] == {"secretKeyRef": {"name": "shipyard-github", "key": "token"}}


def test_github_repo_names() -> None:
    from shipyard.render.jobs import github_repo
    from shipyard.spec.loader import parse_spec

    base = "org: acme\ndomain: acme.example.com\nregistry: {url: h.example.com}\n"
    for url, repo in (
        ("https://github.com/acme/monorepo.git", "acme/monorepo"),
        ("https://github.com/acme/mono.repo", "acme/mono.repo"),
        ("git@github.com:acme/monorepo.git", "acme/monorepo"),
        ("https://gitlab.com/acme/monorepo.git", None),
        (".", None),
    ):
        assert github_repo(parse_spec(base + f"repos: {{app: '{url}'}}\n")) == repo, url


def test_a_prometheus_analysis_judges_the_canarys_own_answers_at_ingress_nginx(acme: Path) -> None:
    files = _files(
        acme,
        "environments:\n  - name: preprod\n    strategy:\n      canary:\n        analysis:\n          smoke: null\n"
        "          prometheus: {address: 'http://prometheus.monitoring.svc:9090/', successRate: 0.99}\n",
    )
    objects = files["overlays/preprod/generated/services/user-service/objects.yaml"]
    template = next(d for d in objects if d["kind"] == "AnalysisTemplate")
    (metric,) = template["spec"]["metrics"]
    assert metric["provider"]["prometheus"]["address"] == "http://prometheus.monitoring.svc:9090"
    query = metric["provider"]["prometheus"]["query"]
    # ingress-nginx labels a request sent to the canary backend with its upstream, <namespace>-<service>-<port>.
    assert 'canary="pre-prod-user-service-canary-80"' in query and 'status!~"5.."' in query and "[120s]" in query
    assert metric["successCondition"].endswith("result[0] >= 0.99") and metric["interval"] == "60s"


def test_each_cluster_runs_its_cronjobs_with_secrets_from_the_store_beside_them(acme: Path) -> None:
    files = _files(
        acme,
        "clusters:\n  - name: staging\n  - name: production\n    server: https://prod.example.com\n"
        "secrets:\n  store: vault\nsandbox:\n  database:\n    strategy: synthetic\n",
    )
    folders: dict[str, set[str]] = {}
    for path, docs in files.items():
        if path.startswith("jobs/"):
            folder = path.rsplit("/", 1)[0]
            folders.setdefault(folder, set()).update(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    assert folders["jobs/production"] >= {
        "CronJob/sandbox-sync",
        "CronJob/sandbox-db-synth",
        "ExternalSecret/shipyard-git",
        "ExternalSecret/shipyard-sandbox-db",
        "Namespace/shipyard-system",
        "ConfigMap/shipyard-spec",
    }
    assert "CronJob/preview-cleanup" in folders["jobs"] and "ExternalSecret/shipyard-git" in folders["jobs"]
    assert "ExternalSecret/shipyard-sandbox-db" not in folders["jobs"]
