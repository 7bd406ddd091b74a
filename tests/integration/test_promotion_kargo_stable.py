"""Production's stable-tag rule, enforced by Kargo as ``shipyard promote`` enforces it.

The production Stage render writes starts with one ``http`` step per service. Here those steps are played
as Kargo plays them: their ``${{ }}`` expressions evaluated for a freight (``tests/kargo_context.py``), the
request sent, and the step's success and failure expressions run over the response (``tests/exprlang.py``,
with the response as Kargo's ``http`` step gives it: ``status``, ``header(name)``, ``body``). The verdict must
be ``promotion.gates.stable_tag_gate``'s for the same registry state: against the real docker-registry for a
plain OCI registry, and against the Harbor stand-in (no Harbor can run here) for Harbor's artifact API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.promotion.gates import stable_tag_gate
from shipyard.promotion.tags import StoreTags
from shipyard.registry import RemoteRegistry
from shipyard.registry.stores import Stores
from shipyard.spec.loader import load_spec
from shipyard.stages.graph import build_graph
from tests.exprlang import evaluate
from tests.kargo_context import rendered, stage_checks_as_kargo
from tests.ociimages import push_image
from tests.realparts import need_reference
from tests.registryparts import RegistryServer
from tests.standins.harbor import HarborStandin
from tests.standins.swagger import SwaggerChecker

pytestmark = pytest.mark.integration

BETA = "v1.2.0-beta.2"
AUTH = {"kargo-registry": {"authorization": "Basic a2FyZ286c2VjcmV0"}}


def use_registry(root: Path, block: str) -> None:
    spec = root / "shipyard.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(re.sub(r"registry:\n  kind: local\n  url: \S+\n", block, text), encoding="utf-8")


def kargo_verdict(step: dict[str, Any], origin: str | None = None) -> bool:
    """Send the evaluated ``http`` step's request (to ``origin`` instead of the host, when given) and run its
    expressions: passed when the success expression holds and the failure expression does not."""
    config = step["config"]
    url = config["url"]
    if origin:
        url = re.sub(r"^https?://[^/]+", origin, url)
    headers = {h["name"]: h["value"] for h in config.get("headers") or []}
    reply = httpx.request(config.get("method", "GET"), url, headers=headers, timeout=10)
    try:
        body = reply.json() if reply.content else {}
    except ValueError:
        body = {}
    response = {"status": reply.status_code, "header": reply.headers.get, "body": body}
    success = evaluate(config["successExpression"], {"response": response})
    failure = evaluate(config["failureExpression"], {"response": response})
    assert success is not failure, "exactly one of the two expressions holds: the step never waits"
    if failure:  # what Kargo shows as the step's error
        message = evaluate(config["errorExpression"].removeprefix("(").removesuffix(")"), {"response": response})
        assert "carries the release's stable tag v1.2.0; that tag names" in message
    return bool(success)


def local_verdict(root: Path, images: dict[str, tuple[str, str]], tags: Any) -> bool:
    platform = load_spec(root / "shipyard.yaml")
    node = build_graph(platform).stage("production")
    return stable_tag_gate(node, images, BETA, tags, platform.versioning.tag_prefix).passed


class DictTags:
    def __init__(self, digests: dict[tuple[str, str], str]) -> None:
        self.digests = digests

    def digest_of(self, image: str, tag: str) -> str | None:
        return self.digests.get((image, tag))


@pytest.fixture
def harbor() -> Iterator[HarborStandin]:
    standin = HarborStandin(SwaggerChecker(need_reference("harbor", "swagger.yaml"))).start()
    yield standin
    standin.stop()


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


@pytest.mark.parametrize("case", ["tagged", "one untagged", "tag on another digest"])
def test_harbor_artifact_checks_agree_with_the_local_gate(acme: Path, harbor: HarborStandin, case: str) -> None:
    use_registry(acme, "registry:\n  url: harbor.acme.example.com\n")
    _, stages, services, image_base = rendered(acme)
    freight = {service: (BETA, digest(n + 1)) for n, service in enumerate(services)}
    stable = {service: digest(n + 1) for n, service in enumerate(services)}
    if case == "one untagged":
        del stable[services[0]]
    if case == "tag on another digest":
        stable[services[-1]] = digest(9)
    for service, d in stable.items():
        harbor.state.artifacts[("services", service, "v1.2.0")] = d
    steps = stage_checks_as_kargo(stages["production"], freight, image_base, "beta", AUTH)
    assert [s["uses"] for s in steps] == ["http"] * len(services)
    assert all(
        s["config"]["url"].startswith("https://harbor.acme.example.com/api/v2.0/projects/services/") for s in steps
    )
    assert all({"name": "Authorization", "value": "Basic a2FyZ286c2VjcmV0"} in s["config"]["headers"] for s in steps)
    kargo = all(kargo_verdict(step, harbor.url) for step in steps)

    images = {s: (f"{image_base}{s}", d) for s, (_, d) in freight.items()}
    tags = DictTags({(f"{image_base}{s}", "v1.2.0"): d for s, d in stable.items()})
    assert kargo == local_verdict(acme, images, tags) == (case == "tagged")
    assert harbor.violations == []  # every request is one Harbor's API describes


def test_other_stages_run_no_check(acme: Path) -> None:
    _, stages, _, image_base = rendered(acme)
    for name in ("dev", "staging", "uat", "preprod"):
        assert stage_checks_as_kargo(stages[name], {}, image_base) == []


@pytest.mark.parametrize("case", ["tagged", "one untagged", "tag on another digest"])
def test_distribution_api_checks_agree_with_the_local_gate(
    acme: Path, registry_server: RegistryServer, case: str
) -> None:
    project = f"stable{abs(hash(case)) % 10**6}"
    use_registry(
        acme,
        f"registry:\n  kind: oci\n  url: {registry_server.host}\n  insecure: true\n"
        f"  projects:\n    services: {project}\n",
    )
    _, stages, services, image_base = rendered(acme)
    client = RemoteRegistry(registry_server.host)
    built = {s: push_image(client, f"{project}/{s}", BETA) for s in services}
    other = push_image(client, f"{project}/{services[-1]}")
    for service in services[1:] if case == "one untagged" else services:
        manifest = other if (case == "tag on another digest" and service == services[-1]) else built[service]
        client.put_manifest(f"{project}/{service}", "v1.2.0", manifest)
    freight = {s: (BETA, built[s].digest) for s in services}
    steps = stage_checks_as_kargo(stages["production"], freight, image_base, "beta", AUTH)
    kargo = all(kargo_verdict(step) for step in steps)

    platform = load_spec(acme / "shipyard.yaml")
    tags = StoreTags(Stores.for_platform(platform, acme))
    try:
        images = {s: (f"{image_base}{s}", d) for s, (_, d) in freight.items()}
        assert kargo == local_verdict(acme, images, tags) == (case == "tagged")
    finally:
        tags.close()
        client.close()
