"""The OCI client against a real registry: Debian's docker-registry on a free loopback port, images
written by the tests, and a fault-injecting proxy in front of it for the retry tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.registry import NotFound, RemoteRegistry, parse_reference
from shipyard.registry.tagging import apply_taggings, plan_release, plan_releases, plan_tag
from shipyard.retry import Policy
from shipyard.versioning.semver import Version
from tests.ociimages import push_image
from tests.realparts import need_binary
from tests.registryparts import FaultProxy, RegistryServer, start_registry

pytestmark = pytest.mark.integration

FAST_RETRY = Policy(attempts=12, base=0.005, cap=0.05, max_wait=0.05, max_total=5.0)


@pytest.fixture
def client(registry_server: RegistryServer) -> Iterator[RemoteRegistry]:
    registry = RemoteRegistry(registry_server.host, retry=FAST_RETRY)
    yield registry
    registry.close()


def _repo(request: pytest.FixtureRequest, name: str = "svc") -> str:
    # One repository per test, so the session's registry needs no cleaning between tests.
    return f"services/{request.node.name.replace('_', '-').lower()[:40]}-{name}"


def test_resolve_and_exact_bytes(client: RemoteRegistry, request: pytest.FixtureRequest) -> None:
    repo = _repo(request)
    manifest = push_image(client, repo, "pr-12-abc1234")
    assert client.head_manifest(repo, "pr-12-abc1234") == manifest.digest
    fetched = client.get_manifest(repo, "pr-12-abc1234")
    assert fetched.data == manifest.data  # not re-serialized: the non-canonical indentation survives
    assert client.head_manifest(repo, "nope") is None
    with pytest.raises(NotFound, match="404"):
        client.get_manifest(repo, "nope")


def test_tag_by_manifest_moves_no_layers(
    client: RemoteRegistry, registry_server: RegistryServer, request: pytest.FixtureRequest
) -> None:
    repo = _repo(request)
    manifest = push_image(client, repo, "build-1")
    blobs_before = sorted(p.name for p in registry_server.storage.rglob("data"))
    tagging = plan_tag(client, parse_reference(f"{registry_server.host}/{repo}:build-1"), ["v1.0.0", "stable"])
    assert [c.action for c in tagging.changes] == ["create", "create"]
    apply_taggings([tagging])
    for tag in ("v1.0.0", "stable", "build-1"):
        assert client.head_manifest(repo, tag) == manifest.digest
    assert sorted(p.name for p in registry_server.storage.rglob("data")) == blobs_before
    again = plan_tag(client, parse_reference(f"{registry_server.host}/{repo}:build-1"), ["v1.0.0", "stable"])
    assert [c.action for c in again.changes] == ["keep", "keep"]


def test_tag_list_follows_link_pages(registry_server: RegistryServer, request: pytest.FixtureRequest) -> None:
    repo = _repo(request)
    paged = RemoteRegistry(registry_server.host, retry=FAST_RETRY, page_size=2)
    try:
        push_image(paged, repo, "t0")
        tagging = plan_tag(paged, parse_reference(f"{registry_server.host}/{repo}:t0"), [f"t{i}" for i in range(1, 7)])
        apply_taggings([tagging])
        assert paged.list_tags(repo) == [f"t{i}" for i in range(7)]
        assert paged.list_tags("services/never-pushed") == []
    finally:
        paged.close()


def test_release_aliases_move_only_forward(
    client: RemoteRegistry, registry_server: RegistryServer, request: pytest.FixtureRequest
) -> None:
    repo = _repo(request)
    host = registry_server.host
    v120 = push_image(client, repo, "rc-120")
    apply_taggings([plan_release(client, parse_reference(f"{host}/{repo}:rc-120"), Version.parse("v1.2.0"))])
    assert set(client.list_tags(repo)) >= {"v1.2.0", "stable", "latest", "v1", "v1.2"}
    # An older line's patch moves only its own vX.Y: latest, stable and v1 stay on v1.2.0.
    v115 = push_image(client, repo, "rc-115")
    tagging = plan_release(client, parse_reference(f"{host}/{repo}:rc-115"), Version.parse("v1.1.5"))
    assert {c.tag: c.action for c in tagging.changes} == {"v1.1.5": "create", "v1.1": "create"}
    apply_taggings([tagging])
    assert client.head_manifest(repo, "latest") == v120.digest
    assert client.head_manifest(repo, "v1") == v120.digest
    assert client.head_manifest(repo, "v1.1") == v115.digest
    # Versions never move: v1.2.0 cannot be given to another image.
    with pytest.raises(ShipyardError, match="versions never move"):
        plan_release(client, parse_reference(f"{host}/{repo}:rc-115"), Version.parse("v1.2.0"))


def test_release_rerun_completes_a_partial_set(
    client: RemoteRegistry, registry_server: RegistryServer, request: pytest.FixtureRequest
) -> None:
    repo = _repo(request)
    source = parse_reference(f"{registry_server.host}/{repo}:rc")
    manifest = push_image(client, repo, "rc")
    client.put_manifest(repo, "v2.0.0", manifest)  # a release interrupted after its first tag
    tagging = plan_release(client, source, Version.parse("v2.0.0"))
    assert {c.tag: c.action for c in tagging.changes} == {
        "v2.0.0": "keep",
        "stable": "create",
        "latest": "create",
        "v2": "create",
        "v2.0": "create",
    }
    apply_taggings([tagging])
    assert all(c.action == "keep" for c in plan_release(client, source, Version.parse("v2.0.0")).changes)


def test_release_of_many_images_through_faults(
    client: RemoteRegistry, registry_server: RegistryServer, request: pytest.FixtureRequest
) -> None:
    repos = [_repo(request, f"s{i}") for i in range(12)]
    digests = {repo: push_image(client, repo, "rc", layers=2, size=256).digest for repo in repos}
    proxy = FaultProxy(registry_server.host, share=0.3).start()
    try:
        flaky = RemoteRegistry(proxy.host, retry=FAST_RETRY)
        sources = [parse_reference(f"{proxy.host}/{repo}:rc") for repo in repos]
        taggings = plan_releases(lambda _ref: flaky, sources, Version.parse("v3.1.0"))
        apply_taggings(taggings)
        flaky.close()
    finally:
        proxy.stop()
    assert all(proxy.injected[kind] > 0 for kind in ("429", "503", "drop")), proxy.injected
    for repo, digest in digests.items():
        for tag in ("v3.1.0", "stable", "latest", "v3", "v3.1", "rc"):
            assert client.head_manifest(repo, tag) == digest, (repo, tag)


def test_errors_for_people(registry_server: RegistryServer) -> None:
    proxy = FaultProxy(registry_server.host, share=1.0).start()
    try:
        always_down = RemoteRegistry(
            proxy.host, retry=Policy(attempts=3, base=0.001, cap=0.001, max_wait=0.001, max_total=1.0)
        )
        with pytest.raises(ShipyardError):
            always_down.list_tags("services/x")
        always_down.close()
    finally:
        proxy.stop()


def test_cli_release_and_tags_json(
    client: RemoteRegistry, registry_server: RegistryServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    repo = _repo(request)
    manifest = push_image(client, repo, "pr-7-abcdef1")
    image = f"{registry_server.host}/{repo}:pr-7-abcdef1"

    def shipyard(*args: str) -> dict[str, object]:
        proc = subprocess.run(
            [sys.executable, "-m", "shipyard", *args, "--json"], cwd=tmp_path, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    planned = shipyard("image", "release", image, "--version", "v0.3.0-beta.2", "--dry-run")
    assert planned["dryRun"] is True
    assert client.list_tags(repo) == ["pr-7-abcdef1"]
    done = shipyard("image", "release", image, "--version", "v0.3.0-beta.2")
    images = done["images"]
    assert isinstance(images, list)
    assert [t["tag"] for t in images[0]["tags"]] == ["v0.3.0-beta.2", "beta", "latest-beta"]
    assert shipyard("image", "resolve", f"{registry_server.host}/{repo}:beta")["digest"] == manifest.digest
    assert shipyard("image", "tags", f"{registry_server.host}/{repo}")["tags"] == [
        "beta",
        "latest-beta",
        "pr-7-abcdef1",
        "v0.3.0-beta.2",
    ]


def test_buildah_build_of_an_example_service(registry_server: RegistryServer, tmp_path: Path) -> None:
    """The scaffold's user-service, built by buildah (--isolation chroot) on a base image built here from
    the host's node (no public image can be pulled), pushed to the real registry; then run."""
    buildah = need_binary("buildah", "install Debian's buildah (deps/apt-test.txt)")
    from shipyard.scaffold.init import InitOptions, init

    root = tmp_path / "acme"
    init(InitOptions(directory=root, org="acme", domain="acme.example.com", registry=registry_server.host))
    spec = root / "shipyard.yaml"
    spec.write_text(spec.read_text().replace("kind: harbor", "kind: oci"))

    def shipyard(*args: str) -> dict[str, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "shipyard", *args, "--json"], cwd=root, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    base = shipyard("image", "base", "node")
    assert base["image"].startswith(f"{registry_server.host}/base-images/node:")
    built = shipyard("image", "build", "user-service", "--tag", "pr-5-abc1234", "--pr", "5")
    client = RemoteRegistry(registry_server.host)
    assert client.head_manifest("services/user-service", "pr-5-abc1234") == built["digest"]
    manifest = json.loads(client.get_manifest("services/user-service", built["digest"]).data)
    layers = manifest["layers"]
    # Where it comes from, as manifest annotations: what Kargo copies into its Freight.
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    assert (
        manifest["annotations"].items()
        >= {
            "org.opencontainers.image.revision": head.stdout.strip(),
            "org.opencontainers.image.version": "pr-5-abc1234",
            "dev.shipyard.pull-request": "5",
        }.items()
    )
    base_layers = json.loads(client.get_manifest("base-images/node", base["digest"]).data)["layers"]
    assert base_layers[0]["digest"] == layers[0]["digest"]  # built FROM our base image
    client.close()

    storage = [
        "--storage-driver",
        "vfs",
        "--root",
        str(root / ".shipyard/buildah/root"),
        "--runroot",
        str(root / ".shipyard/buildah/run"),
    ]
    container = (
        subprocess.run(
            [
                buildah,
                *storage,
                "from",
                "--tls-verify=false",
                f"{registry_server.host}/services/user-service:pr-5-abc1234",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ran = subprocess.run(
        [
            buildah,
            *storage,
            "run",
            "--isolation",
            "chroot",
            container,
            "--",
            "node",
            "-e",
            "console.log(require('./package.json').name)",
        ],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "@acme/user-service"


def test_bearer_token_auth_against_a_real_registry(tmp_path: Path) -> None:
    """docker-registry with token auth (as Harbor does it): the client answers the WWW-Authenticate
    challenge, gets a JWT from the token service with basic credentials, and pushes, tags and lists."""
    binary = need_binary("docker-registry", "install Debian's docker-registry (deps/apt-test.txt)")
    from shipyard.registry.auth import Credentials
    from tests.tokenauth import TokenService

    tokens = TokenService("ci", "s3cret", tmp_path).start()
    server = start_registry(binary, tmp_path / "registry", auth=tokens.registry_auth_config())
    try:
        client = RemoteRegistry(server.host, credentials=Credentials("ci", "s3cret"), retry=FAST_RETRY)
        manifest = push_image(client, "services/secured", "rc", layers=1, size=128)
        apply_taggings(
            [plan_release(client, parse_reference(f"{server.host}/services/secured:rc"), Version.parse("v1.0.0"))]
        )
        assert client.head_manifest("services/secured", "latest") == manifest.digest
        # The registry names the actions in either order (push,pull or pull,push); what matters is both.
        granted = [set(scope.rsplit(":", 1)[1].split(",")) for scope in tokens.scopes]
        assert {"pull", "push"} in granted
        assert tokens.issued <= 4  # one token per scope, reused, not one per request
        client.close()

        wrong = RemoteRegistry(server.host, credentials=Credentials("ci", "nope"), retry=FAST_RETRY)
        with pytest.raises(ShipyardError, match="refused the credentials"):
            wrong.list_tags("services/secured")
        wrong.close()
        anonymous = RemoteRegistry(server.host, credentials=None, retry=FAST_RETRY)
        anonymous.credentials = None  # no auth file fallback either
        with pytest.raises(ShipyardError, match="refused the credentials"):
            anonymous.list_tags("services/secured")
        anonymous.close()
    finally:
        server.stop()
        tokens.stop()
