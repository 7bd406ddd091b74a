"""The serve render target: a locked-down Deployment in cluster mode, its Ingress on ci.<domain>, and its
Secret from the store only when a store is named (otherwise referenced, never written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from shipyard.render.serve import LISTENER_URL, render_serve
from shipyard.spec.loader import parse_spec
from shipyard.workspace.model import Workspace


def render(extra: str = "") -> dict[str, Any]:
    platform = parse_spec(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: acme\ndomain: acme.example.com\n"
        "registry: {url: harbor.acme.example.com}\n" + extra
    )
    files = render_serve(platform, Workspace(root=Path(), projects={}, edges=()))
    return {path: list(yaml.safe_load_all(text)) for path, text in files.items()}


def test_the_deployment_is_locked_down_and_forwards_to_the_event_listener() -> None:
    files = render()
    (deployment,) = files["serve/deployment.yaml"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    args = container["args"]
    assert args[args.index("--mode") + 1] == "cluster" and args[args.index("--forward-to") + 1] == LISTENER_URL
    assert "--harbor-auth-file" not in args  # repos.app is not on GitHub: nowhere to comment
    (ingress,) = files["serve/ingress.yaml"]
    assert ingress["spec"]["rules"][0]["host"] == "ci.acme.example.com"
    assert "serve/secret.yaml" not in files  # no store: the Secret is made by people, only referenced
    (kustomization,) = files["serve/kustomization.yaml"]
    assert kustomization["resources"] == ["deployment.yaml", "ingress.yaml", "service.yaml", "state.yaml"]


def test_with_a_store_and_github_the_harbor_hook_and_its_secret_are_rendered() -> None:
    files = render("repos: {app: 'https://github.com/acme/monorepo.git'}\nsecrets: {store: vault}\n")
    (secret,) = files["serve/secret.yaml"]
    assert secret["kind"] == "ExternalSecret"
    keys = sorted(d["secretKey"] for d in secret["spec"]["data"])
    assert keys == ["github-webhook-secret", "harbor-password", "harbor-username", "harbor-webhook-auth", "tokens"]
    (deployment,) = files["serve/deployment.yaml"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "--harbor-auth-file" in container["args"]
    assert {e["name"] for e in container["env"]} >= {"GITHUB_TOKEN", "SHIPYARD_HARBOR_USERNAME"}
    assert not any("value" in e and "TOKEN" in e["name"] for e in container["env"])  # secrets only by reference


def test_people_sign_in_with_the_token_hashes_from_their_own_secret_and_oidc_settings_are_a_configmap() -> None:
    files = render(
        "secrets: {store: vault}\n"
        "people: {alice: {name: Alice, emails: [alice@acme.example.com]}}\n"
        "identity:\n  tokens: {secret: serve-tokens}\n"
        "  oidc: {issuer: 'https://login.acme.example.com', clientId: shipyard, clientSecret: serve-oidc}\n"
    )
    (secret,) = files["serve/secret.yaml"]
    assert "tokens" not in {d["secretKey"] for d in secret["spec"]["data"]}  # the Secret of their own has them
    (tokens,) = files["serve/tokens-secret.yaml"]
    assert tokens["spec"]["target"]["name"] == "serve-tokens"
    assert [d["secretKey"] for d in tokens["spec"]["data"]] == ["tokens"]
    (deployment,) = files["serve/deployment.yaml"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[args.index("--tokens-file") + 1] == "/etc/shipyard-serve-tokens/tokens"
    assert args[args.index("--public-url") + 1] == "https://ci.acme.example.com"
    assert {"name": "tokens", "secret": {"secretName": "serve-tokens", "defaultMode": 0o440}} in pod["volumes"]
    (oidc,) = files["serve/oidc.yaml"]
    assert oidc["kind"] == "ConfigMap"
    settings = json.loads(oidc["data"]["oidc.json"])
    assert settings["issuer"] == "https://login.acme.example.com" and "serve-oidc" in json.dumps(settings)
    (kustomization,) = files["serve/kustomization.yaml"]
    assert {"oidc.yaml", "tokens-secret.yaml"} <= set(kustomization["resources"])
