"""Loading shipyard.yaml: defaults, merging, and errors that say where and what would be valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import SpecError
from shipyard.spec.loader import load_spec, parse_spec
from shipyard.spec.locate import find_spec
from shipyard.spec.model import Maturity, PromotionMode

MINIMAL = """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry:
  url: harbor.acme.example.com
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "shipyard.yaml")
    return [str(p) for p in info.value.problems]


def test_minimal_file_is_a_complete_platform() -> None:
    platform = parse_spec(MINIMAL)
    assert [e.name for e in platform.environments] == ["dev", "staging", "uat", "preprod", "production", "sandbox"]
    dev, staging, uat, preprod, production, sandbox = platform.environments
    assert (dev.strategy.kind, dev.promotion, dev.maturities) == ("recreate", PromotionMode.auto, [Maturity.alpha])
    assert (staging.strategy.kind, staging.promotion, staging.upstream) == ("rolling", PromotionMode.auto, "dev")
    assert (uat.promotion, uat.maturities, uat.upstream) == (PromotionMode.manual, [Maturity.beta], None)
    assert preprod.strategy.canary is not None and preprod.strategy.canary.steps == [10, 25, 50, 100]
    assert preprod.ns == "pre-prod"
    assert production.strategy.kind == "blueGreen" and production.access.value == "public"
    assert production.host_for("user-service", platform.domain) == "user-service.acme.example.com"
    assert sandbox.access.value == "public" and sandbox.promotion is PromotionMode.mirror
    assert platform.preview.ttl == "7d" and platform.sandbox.ttl == "24h"
    assert platform.preview.namespace == "pr-{number}"
    assert platform.registry.scan.severity_threshold == "high"
    assert platform.npm_scope == "@acme" and platform.npm_registry == "https://verdaccio.acme.example.com"
    assert platform.registry.image("user-service") == "harbor.acme.example.com/services/user-service"
    assert platform.replicas("user-service", "production") == 3


def test_environment_entries_merge_into_defaults_by_name() -> None:
    platform = parse_spec(
        MINIMAL
        + """\
environments:
  - name: preprod
    strategy: {canary: {steps: [20, 100], pause: 1m}}
  - name: qa
    cluster: staging
    promotion: manual
    maturities: [beta]
services:
  payment-service: {port: 8443, replicas: {production: 6}}
"""
    )
    preprod = platform.environment("preprod")
    assert preprod.strategy.canary is not None and preprod.strategy.canary.steps == [20, 100]
    assert preprod.ns == "pre-prod" and preprod.promotion is PromotionMode.manual  # the rest kept
    assert [e.name for e in platform.environments][-1] == "qa"
    assert platform.service("payment-service").port == 8443
    assert platform.replicas("payment-service", "production") == 6
    assert platform.replicas("payment-service", "dev") == 1


def test_unknown_key_names_line_column_and_suggests() -> None:
    found = problems(MINIMAL + "  scan:\n    scanOnPsh: true\n")
    assert found == [
        "shipyard.yaml:8:5: registry.scan.scanOnPsh: unknown key 'scanOnPsh' (did you mean 'scanOnPush'?); "
        "valid: preventVulnerable, scanOnPush, severityThreshold"
    ]


def test_unknown_top_level_key_suggests() -> None:
    (found,) = problems(MINIMAL + "enviroments: []\n")
    assert found.startswith("shipyard.yaml:7:1: enviroments: unknown key") and "did you mean 'environments'" in found


def test_wrong_value_names_field_and_valid_values() -> None:
    (found,) = problems(MINIMAL + "preview:\n  access: everyone\n")
    assert found.startswith("shipyard.yaml:8:3: preview.access:")
    assert "'public' or 'internal'" in found


def test_errors_in_merged_environments_point_at_the_users_entry() -> None:
    found = problems(
        MINIMAL + "environments:\n  - name: qa\n    cluster: nowhere\n  - name: dev\n    promotion: later\n"
    )
    assert any(p.startswith("shipyard.yaml:11:5: environments[1].promotion:") for p in found), found


def test_an_environment_name_that_is_not_text_is_a_problem_not_a_crash() -> None:
    (found,) = problems(MINIMAL + "environments:\n  - name: [dev]\n")
    assert found.startswith("shipyard.yaml:8:5: environments[0].name: Input should be a valid string"), found


def test_reference_errors_name_the_field() -> None:
    found = problems(MINIMAL + "environments:\n  - name: qa\n    cluster: nowhere\n")
    assert found == [
        "shipyard.yaml:9:5: environments[0].cluster: cluster 'nowhere' is not defined; valid: production, staging"
    ]
    found = problems(MINIMAL + "services:\n  api: {replicas: {prod: 2}}\n")
    assert "services.api.replicas.prod: unknown environment 'prod'" in found[0]


def test_several_problems_are_reported_together() -> None:
    found = problems(MINIMAL + "versioning: {bump: major}\npreview: {ttl: 7days}\n")
    assert len(found) == 2
    assert any("versioning.bump" in p and "'minor' or 'conventional'" in p for p in found)
    assert any("preview.ttl" in p and "not a duration" in p for p in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org: [1", "shipyard.yaml:1:8: (syntax)"),
        ("- a\n- b\n", "the spec must be a mapping"),
        ("org: acme\norg: other\n", "(syntax)"),
        ("org: Acme\ndomain: acme.example.com\nregistry: {url: x}\n", "org: String should match pattern"),
        ("org: acme\ndomain: localhost\nregistry: {url: x}\n", "is not a DNS domain"),
        ("org: acme\ndomain: a.example.com\n", "registry: Field required"),
    ],
)
def test_bad_files(text: str, expected: str) -> None:
    assert any(expected in p for p in problems(text))


def test_database_url_with_password_is_refused() -> None:
    (found,) = problems(
        MINIMAL + "environments:\n  - name: dev\n    database: {url: 'postgresql://u:secret@db/app', secretRef: x}\n"
    )
    assert "environments[0].database.url" in found and "must not carry a password" in found


def test_strategy_must_be_one() -> None:
    (found,) = problems(MINIMAL + "environments:\n  - name: dev\n    strategy: {recreate: true, rolling: true}\n")
    assert "choose exactly one strategy" in found
    (found,) = problems(MINIMAL + "environments:\n  - name: dev\n    strategy: bluegreenish\n")
    assert "valid: recreate, rolling, canary, blueGreen" in found


def test_find_and_load_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(MINIMAL)
    sub = tmp_path / "services" / "x"
    sub.mkdir(parents=True)
    assert find_spec(sub) == tmp_path / "shipyard.yaml"
    assert load_spec(find_spec(sub)).org == "acme"


def test_missing_spec_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="shipyard init"):
        find_spec(tmp_path)


def test_a_spec_that_is_not_utf8_names_the_place(tmp_path: Path) -> None:
    path = tmp_path / "shipyard.yaml"
    path.write_bytes(MINIMAL.encode() + b"org: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:7:9: (encoding): not UTF-8 text; valid: save the file as UTF-8"
    ]


def test_a_cluster_argo_cd_does_not_run_in_needs_the_secret_store() -> None:
    clusters = "clusters:\n  - name: staging\n  - name: production\n    server: https://prod.example.com\n"
    (found,) = problems(MINIMAL + clusters)
    assert "clusters[1].server" in found and "credentials for it, and they come only from the secret store" in found
    assert "acme/clusters/production" in found
    platform = parse_spec(MINIMAL + clusters + "secrets: {store: vault}\n", "shipyard.yaml")
    assert [c.remote for c in platform.clusters] == [False, True]


def test_analyses_abort_by_something_and_blue_green_only_smoke_tests() -> None:
    canary = "environments:\n  - name: preprod\n    strategy: {canary: {analysis: {smoke: null}}}\n"
    (found,) = problems(MINIMAL + canary)
    assert "an analysis needs smoke, prometheus or both" in found
    blue_green = "environments:\n  - name: production\n    strategy: {blueGreen: {analysis: {prometheus: {address: 'http://p:9090'}}}}\n"
    (found,) = problems(MINIMAL + blue_green)
    assert "no ingress sends it traffic: use smoke" in found
    address = (
        "environments:\n  - name: preprod\n    strategy: {canary: {analysis: {prometheus: {address: 'p:9090'}}}}\n"
    )
    (found,) = problems(MINIMAL + address)
    assert "is not an http(s) URL" in found
