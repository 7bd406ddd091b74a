"""``shipyard harbor apply`` against a stand-in for Harbor.

No Harbor can run here (it needs a Docker engine and many services), so these tests use the stand-in
in tests/standins/harbor.py: it checks every request (path, method, parameters, body) against Harbor's
own API description, ../shared/reference/harbor/swagger.yaml (Swagger 2.0), and keeps state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.registry.harbor.apply import apply_changes, plan_harbor
from shipyard.registry.harbor.client import MUTATING, HarborClient, HarborError
from shipyard.registry.harbor.desired import stable_tag_pattern
from shipyard.registry.harbor.vulnerabilities import vulnerability_report
from shipyard.spec.loader import parse_spec
from tests.realparts import need_reference
from tests.standins.harbor import HarborStandin
from tests.standins.swagger import SwaggerChecker

pytestmark = pytest.mark.integration

SPEC = """apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry:
  url: harbor.acme.example.com
  scan: {severityThreshold: critical}
"""


@pytest.fixture(scope="session")
def swagger() -> SwaggerChecker:
    return SwaggerChecker(need_reference("harbor", "swagger.yaml"))


@pytest.fixture
def harbor(swagger: SwaggerChecker) -> Iterator[HarborStandin]:
    standin = HarborStandin(swagger).start()  # fresh state per test, one parsed API description
    yield standin
    standin.stop()


def _mutations(requests: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [r for r in requests if r[0] in MUTATING]


def test_apply_then_nothing_to_do(harbor: HarborStandin) -> None:
    platform = parse_spec(SPEC)
    client = HarborClient(harbor.url, ("admin", "Harbor12345"))
    changes = plan_harbor(client, platform, "https://ci.acme.example.com/hooks/harbor", None)
    assert _mutations(harbor.requests) == []  # planning only reads
    result = apply_changes(client, changes)
    assert harbor.violations == []
    assert result.robot_secret and len(result.robot_secret) > 10

    services = harbor.state.projects["services"]
    assert {k: v for k, v in services["metadata"].items() if k != "retention_id"} == {
        "public": "false",
        "auto_scan": "true",
        "prevent_vul": "true",
        "severity": "critical",
    }
    assert "base-images" in harbor.state.projects
    (rule,) = harbor.state.immutable[services["project_id"]]
    assert rule["tag_selectors"][0]["pattern"] == stable_tag_pattern("v")
    retention = harbor.state.retentions[int(services["metadata"]["retention_id"])]
    assert [r["tag_selectors"][0]["pattern"] for r in retention["rules"]] == ["pr-*", "v*-alpha.*", "{pr-*,v*-alpha.*}"]
    assert retention["rules"][0]["params"] == {"nDaysSinceLastPush": 7}
    (hook,) = harbor.state.webhooks[services["project_id"]]
    assert sorted(hook["event_types"]) == ["PUSH_ARTIFACT", "SCANNING_COMPLETED"]
    (robot,) = harbor.state.robots.values()
    grants = {(p["namespace"], a["resource"], a["action"]) for p in robot["permissions"] for a in p["access"]}
    assert grants == {
        ("services", "repository", "pull"),
        ("services", "repository", "push"),
        ("services", "artifact", "read"),
        ("services", "artifact-addition", "read"),
        ("base-images", "repository", "pull"),
    }

    before = len(harbor.requests)
    again = plan_harbor(client, platform, "https://ci.acme.example.com/hooks/harbor", None)
    assert again == []
    assert apply_changes(client, again).robot_secret is None
    assert _mutations(harbor.requests[before:]) == []
    assert harbor.violations == []

    # Drift is repaired with updates, never duplicates.
    services["metadata"]["auto_scan"] = "false"
    robot["permissions"][0]["access"].append({"resource": "project", "action": "delete", "effect": "allow"})
    drift = plan_harbor(client, platform, "https://ci.acme.example.com/hooks/harbor", None)
    assert [(c.action, c.method) for c in drift] == [("update", "PUT"), ("update", "PUT")]
    apply_changes(client, drift)
    assert plan_harbor(client, platform, "https://ci.acme.example.com/hooks/harbor", None) == []
    assert harbor.violations == []
    client.close()


def test_the_standin_catches_what_harbor_would_ignore(harbor: HarborStandin) -> None:
    client = HarborClient(harbor.url)
    with pytest.raises(Exception, match="400"):
        client.call("POST", "/projects", body={"project_name": "x", "metadata": {"auto_scan": True}})
    assert any("expected string" in v for v in harbor.violations)
    client.close()


def test_vulnerability_report_empty_means_not_scanned(harbor: HarborStandin) -> None:
    client = HarborClient(harbor.url)
    unscanned = vulnerability_report(client, "services", "user-service", "v1.0.0")
    assert unscanned.scanned is False and unscanned.counts() == {}
    mime = "application/vnd.security.vulnerability.report; version=1.1"
    harbor.state.vulnerabilities[("services", "user-service", "v1.1.0")] = {
        mime: {
            "severity": "High",
            "vulnerabilities": [{"id": "CVE-1", "severity": "High"}, {"id": "CVE-2", "severity": "Low"}],
        }
    }
    report = vulnerability_report(client, "services", "user-service", "v1.1.0")
    assert report.scanned and report.counts() == {"High": 1, "Low": 1}
    assert harbor.violations == []
    client.close()


def test_cli_prints_the_secret_once(harbor: HarborStandin, tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(SPEC)
    env = {**os.environ, "SHIPYARD_HARBOR_USERNAME": "admin", "SHIPYARD_HARBOR_PASSWORD": "Harbor12345"}

    def shipyard(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "shipyard", "harbor", *args, "--url", harbor.url],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == expect, proc.stderr
        return proc

    dry = json.loads(shipyard("apply", "--dry-run", "--json").stdout)
    assert dry["robot"] is None and len(dry["changes"]) == 7  # 4 for services, 2 for base-images, the robot
    assert harbor.state.projects == {}
    first = shipyard("apply")
    (robot,) = harbor.state.robots.values()
    assert first.stdout.count(robot["secret"]) == 1 and robot["secret"] not in first.stderr
    second = json.loads(shipyard("apply", "--json").stdout)
    assert second["changes"] == [] and second["robot"] is None
    not_scanned = shipyard("report", "harbor.acme.example.com/services/user-service:v9", expect=1)
    assert "not scanned" in not_scanned.stderr
    assert harbor.violations == []


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_rate_limits_and_outages_are_retried_then_apply_completes(harbor: HarborStandin) -> None:
    sleeps = Sleeps()
    client = HarborClient(harbor.url, ("admin", "Harbor12345"), sleep=sleeps)
    harbor.refuse_next(429, {"Retry-After": "2"})
    harbor.refuse_next(503)
    harbor.refuse_next(502)
    changes = plan_harbor(client, parse_spec(SPEC), "https://ci.acme.example.com/hooks/harbor", None)
    assert len(sleeps) == 3 and sleeps[0] == 2.0  # Retry-After, then the policy's backoff
    harbor.refuse_next(503)  # the first POST: Harbor says it did nothing, so it is sent again
    apply_changes(client, changes)
    assert harbor.violations == [] and "services" in harbor.state.projects
    creates = [r for r in harbor.requests if r == ("POST", "/api/v2.0/projects")]
    assert len(creates) == len(harbor.state.projects) + 1
    client.close()


def test_a_post_that_may_have_been_acted_on_is_not_sent_twice(harbor: HarborStandin) -> None:
    client = HarborClient(harbor.url, ("admin", "Harbor12345"), sleep=Sleeps())
    harbor.refuse_next(502)
    with pytest.raises(HarborError, match="POST /projects answered 502"):
        client.call("POST", "/projects", body={"project_name": "once", "metadata": {"public": "false"}})
    assert harbor.requests.count(("POST", "/api/v2.0/projects")) == 1
    client.close()


def test_an_hours_long_retry_after_ends_the_call_at_once(harbor: HarborStandin) -> None:
    sleeps = Sleeps()
    client = HarborClient(harbor.url, ("admin", "Harbor12345"), sleep=sleeps)
    harbor.refuse_next(429, {"Retry-After": "100000"})
    with pytest.raises(HarborError, match=r"GET /projects/services .*asked to wait 1d3h46m40s"):
        client.get_json("/projects/services", allow=(404,))
    assert sleeps == [] and len(harbor.requests) == 1
    client.close()


def test_a_list_that_never_ends_is_stopped(harbor: HarborStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    client = HarborClient(harbor.url, ("admin", "Harbor12345"), sleep=Sleeps())
    robot = {"id": 1, "name": "robot$r", "editable": True}
    # A broken (or hostile) Harbor whose every page is full: the listing must end anyway.
    monkeypatch.setattr(HarborStandin, "_page", staticmethod(lambda items, query: (200, [robot] * 100, {})))
    with pytest.raises(HarborError, match="more than 1000 pages"):
        client.list_all("/robots")
    assert len(harbor.requests) == 1000
    client.close()
