"""The production guard where no server can be asked: `check` and `render` (the spec) and `validate` (a rendered
config repo) refuse a sandbox database that may be production's, however its URL is spelt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.errors import SpecError
from shipyard.k8s.documents import Document
from shipyard.k8s.policies import check_policies
from shipyard.spec.loader import parse_spec

SPEC = """apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {url: harbor.acme.example.com}
"""
PRODUCTION = "postgresql://production-db.production.svc.cluster.local:5432/acme"

# Other spellings of production's database, as a sandbox URL in shipyard.yaml could write it.
SPELLINGS = [
    "postgresql://PRODUCTION-DB.production.svc.cluster.local./acme",
    "postgresql://production-db.production.svc.cluster.local:6432/acme",  # PgBouncer in front
    "postgresql://production-db/acme",  # a search domain completes it
    "postgresql://production-db.production/acme",
    "postgresql://sandbox-db.sandbox.svc.cluster.local/acme?host=production-db.production.svc.cluster.local",
    "postgresql://sandbox-db.sandbox.svc.cluster.local/other?dbname=acme&host=production-db.production.svc.cluster.local",
    "postgresql://sandbox-db,production-db.production.svc.cluster.local/acme",
    "postgresql://acme@production-db.production.svc.cluster.local",  # no database: libpq asks for the user's
]


def _spec(sandbox_url: str, production_url: str = PRODUCTION) -> str:
    return (
        SPEC
        + f"environments:\n  - name: production\n    database: {{url: '{production_url}', secretRef: production-db}}\n"
        + f"sandbox:\n  database:\n    url: '{sandbox_url}'\n"
    )


@pytest.mark.parametrize("url", SPELLINGS)
def test_the_spec_refuses_a_sandbox_database_that_may_be_production(url: str) -> None:
    with pytest.raises(SpecError, match=r"sandbox\.database\.url: the sandbox's database may be the one of"):
        parse_spec(_spec(url))


@pytest.mark.parametrize(
    ("sandbox", "production"),
    [
        ("postgresql://127.0.0.1:5433/acme", "postgresql://localhost/acme"),
        ("postgresql://0.0.0.0/acme", "postgresql:///acme?host=/var/run/postgresql"),
        ("postgresql://[::ffff:10.0.0.5]/acme", "postgresql://10.0.0.5/acme"),
        ("postgresql://sandbox-db/acme?hostaddr=10.0.0.5", "postgresql://10.0.0.5/acme"),
    ],
)
def test_the_reviews_spellings_of_one_server_are_refused(sandbox: str, production: str) -> None:
    with pytest.raises(SpecError, match="may be the one of"):
        parse_spec(_spec(sandbox, production))


def test_a_sandbox_environment_that_may_be_production_is_refused_where_it_is_written() -> None:
    spec = (
        SPEC
        + "environments:\n  - name: sandbox\n    database: {url: 'postgresql://production-db/acme', secretRef: s}\n"
    )
    with pytest.raises(SpecError) as refused:
        parse_spec(spec)
    assert [p.field for p in refused.value.problems] == ["environments[0].database.url"]
    assert refused.value.problems[0].location.line == 8


def test_a_separate_sandbox_database_is_accepted() -> None:
    platform = parse_spec(_spec("postgresql://sandbox-db.sandbox.svc.cluster.local:5432/acme"))
    assert platform.sandbox.database.url.startswith("postgresql://sandbox-db")
    parse_spec(SPEC)  # the defaults never collide


def test_an_unresolvable_service_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "none.conf"))
    monkeypatch.setenv("PGSYSCONFDIR", str(tmp_path))
    with pytest.raises(SpecError, match=r"cannot tell whether sandbox\.database\.url is .* 'sb' is not defined"):
        parse_spec(_spec("postgresql:///acme?service=sb"))
    (tmp_path / "none.conf").write_text("[sb]\nhost=production-db.production.svc.cluster.local\n")
    with pytest.raises(SpecError, match="may be the one of"):
        parse_spec(_spec("postgresql:///acme?service=sb"))


def test_a_password_in_a_spec_url_is_refused_wherever_it_is_written() -> None:
    for url in ("postgresql://u:pw@sandbox-db/acme", "postgresql://sandbox-db/acme?password=pw"):
        with pytest.raises(SpecError, match="must not carry a password"):
            parse_spec(_spec(url))


def test_check_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(_spec("postgresql://production-db.production/acme"))
    for command in ("check", "render"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "shipyard",
                command,
                "--root",
                str(tmp_path),
                *(["--out", str(tmp_path / "o")] if command == "render" else []),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "sandbox.database.url: the sandbox's database may be" in proc.stderr
    assert not (tmp_path / "o").exists()


# --- validate: a rendered config repo, edited by hand -------------------------------------------------------


def _cronjob(args: list[str]) -> dict[str, Any]:
    container = {"name": "job", "image": "x", "args": args}
    pod = {"spec": {"template": {"spec": {"containers": [container]}}}}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "sandbox-db-clone"},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": pod},
    }


def _patch(url: str) -> dict[str, Any]:
    container = {"name": "user-service", "env": [{"name": "DATABASE_URL", "value": url}]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "user-service"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def _spec_configmap(text: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "shipyard-spec"},
        "data": {"shipyard.yaml": text},
    }


def _findings(documents: list[Document]) -> list[str]:
    return [f.line() for f in check_policies(documents, {}) if f.check == "policy/sandbox-database"]


def test_validate_refuses_a_clone_job_into_its_own_source() -> None:
    job = _cronjob(["sandbox", "db", "clone", "--from", PRODUCTION, "--to", SPELLINGS[0], "--rules", "r.yaml"])
    found = _findings([Document("jobs/sandbox-db-clone.yaml", 1, job)])
    assert len(found) == 1 and "$.spec.jobTemplate.spec.template.spec.containers[0].args (--to)" in found[0]


def test_validate_refuses_a_sandbox_overlay_pointing_at_production() -> None:
    platform = parse_spec(SPEC)
    carried = yaml.safe_dump(platform.model_dump(mode="json", by_alias=True))
    documents = [
        Document("jobs/spec.yaml", 1, _spec_configmap(carried)),
        Document("overlays/sandbox/generated/patches/user-service.yaml", 1, _patch(SPELLINGS[2])),
        Document("overlays/dev/generated/patches/user-service.yaml", 1, _patch(SPELLINGS[2])),  # not the sandbox
    ]
    found = _findings(documents)
    assert len(found) == 1 and found[0].startswith("error: overlays/sandbox/generated/patches/user-service.yaml#1")
    # The production overlay's own URL counts as production's too, spec or not.
    documents = [
        Document("overlays/production/generated/patches/user-service.yaml", 1, _patch("postgresql://10.0.0.5/acme")),
        Document("overlays/sandbox/generated/patches/user-service.yaml", 1, _patch("host=::ffff:10.0.0.5 dbname=acme")),
    ]
    assert len(_findings(documents)) == 1


def test_validate_accepts_what_render_writes() -> None:
    platform = parse_spec(SPEC)
    carried = yaml.safe_dump(platform.model_dump(mode="json", by_alias=True))
    sandbox = platform.sandbox.database.url
    documents = [
        Document("jobs/spec.yaml", 1, _spec_configmap(carried)),
        Document(
            "jobs/sandbox-db-clone.yaml", 1, _cronjob(["sandbox", "db", "clone", "--from", PRODUCTION, "--to", sandbox])
        ),
        Document("overlays/sandbox/generated/patches/user-service.yaml", 1, _patch(sandbox)),
        Document("overlays/production/generated/patches/user-service.yaml", 1, _patch(PRODUCTION)),
    ]
    assert _findings(documents) == []


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:s3cret@db.prod:5432/app?sslmode=require",
        "postgresql://db.prod/app?password=s3cret",
        "host=db.prod dbname=app password='s3 cret'",
    ],
)
def test_pg_dump_and_psql_get_the_password_in_their_environment_not_their_command_line(url: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    from shipyard.sandbox.db.pg import without_password

    conninfo, env = without_password(url)
    assert "s3" not in conninfo and "password" not in conninfo
    assert env is not None and env["PGPASSWORD"] in ("s3cret", "s3 cret")
    assert conninfo_to_dict(conninfo)["host"] == "db.prod" and conninfo_to_dict(conninfo)["dbname"] == "app"
    assert without_password("postgresql://db.prod/app")[1] is None
