"""The shared Kubernetes models: the choices their users rely on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shipyard.k8s.core import IngressRule, ServicePort
from shipyard.k8s.kustomize import Patch


def test_a_kustomize_patch_is_a_file_or_inline_text_never_both_or_neither() -> None:
    assert Patch(path="patches/web.yaml").to_dict() == {"path": "patches/web.yaml"}
    assert Patch(patch="kind: Deployment\n").to_dict() == {"patch": "kind: Deployment\n"}
    with pytest.raises(ValidationError, match="exactly one"):
        Patch(path="patches/web.yaml", patch="kind: Deployment\n")
    with pytest.raises(ValidationError, match="exactly one"):
        Patch()


def test_an_ingress_rule_to_a_service_sends_every_path_to_its_port() -> None:
    assert IngressRule.to_service("web.example.com", "web", port=8080).to_dict() == {
        "host": "web.example.com",
        "http": {
            "paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 8080}}}}
            ]
        },
    }


def test_a_service_port_names_tcp_unless_left_to_the_api_server() -> None:
    assert ServicePort(name="http", port=80, target_port=8080).to_dict()["protocol"] == "TCP"
    assert "protocol" not in ServicePort(name="db", port=5432, target_port=5432, protocol=None).to_dict()
