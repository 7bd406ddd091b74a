"""Cross-object checks of the Verdaccio the tree installs: does the registry that runs keep the platform's npm
scope private? Each check names the upstream behaviour it encodes."""

from __future__ import annotations

import re
from typing import Any

import yaml

from shipyard.k8s.documents import Document, Finding
from shipyard.k8s.policies.tree import Tree

CONFIG_FILE = "verdaccio/config.yaml"
VALUES_FILE = "verdaccio/values.yaml"
SPEC_CONFIGMAP = "shipyard-spec"
_WHERE = "$.spec.source.helm.valuesObject"


def _finding(doc: Document, path: str, check: str, message: str) -> Finding:
    return Finding(doc.file, doc.index, doc.label, path, check, "error", message)


def _chart_values(app: Document) -> dict[str, Any] | None:
    """The Helm values of an Application installing the ``verdaccio`` chart (None for any other Application)."""
    spec = app.data.get("spec") or {}
    sources = spec.get("sources") or ([spec["source"]] if isinstance(spec.get("source"), dict) else [])
    for source in sources:
        if isinstance(source, dict) and source.get("chart") == "verdaccio":
            helm = source.get("helm") or {}
            values = helm.get("valuesObject")
            if values is None and isinstance(helm.get("values"), str):
                values = yaml.safe_load(helm["values"])
            return values if isinstance(values, dict) else {}
    return None


def _glob(pattern: str) -> re.Pattern[str]:
    """A Verdaccio package pattern (minimatch: ``*`` within one path part, ``**`` across parts) as a regex."""
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(f"^{out}\\Z")


def rule_for(packages: dict[str, Any], name: str) -> tuple[str, dict[str, Any]] | None:
    """The ``packages`` rule Verdaccio applies to ``name``: the first pattern, in the file's order, that matches."""
    for pattern, rule in packages.items():
        if _glob(str(pattern)).match(name):
            return str(pattern), rule if isinstance(rule, dict) else {}
    return None


def _scopes(documents: list[Document], config: dict[str, Any]) -> list[str]:
    """The platform's npm scope, from the spec the jobs carry (``npm.scope``, else ``@<org>``); without that
    ConfigMap, every scope the config names in a pattern of its own."""
    for doc in documents:
        if doc.kind == "ConfigMap" and doc.name == SPEC_CONFIGMAP:
            spec = yaml.safe_load(str((doc.data.get("data") or {}).get("shipyard.yaml", ""))) or {}
            if isinstance(spec, dict) and spec.get("org"):
                return [str((spec.get("npm") or {}).get("scope") or f"@{spec['org']}")]
    packages = config.get("packages") or {}
    scopes = {str(pattern).split("/", 1)[0] for pattern in packages if str(pattern).startswith("@")}
    return sorted(scope for scope in scopes if "*" not in scope)


def scope_proxied(tree: Tree) -> list[Finding]:
    """``verdaccio/scope-proxied``: a Verdaccio whose running config would fetch a name of the platform's scope
    from an uplink.

    Verdaccio applies to a package the first ``packages`` pattern that matches its name, and asks that rule's
    ``proxy`` uplinks for any name or version it does not hold: with a proxy on the platform's scope, a public
    ``@org/name`` that nobody published here is installed from the public registry (dependency confusion).
    The Verdaccio chart (4.26) writes its ``configMap`` value as the server's config; without one its default
    runs, whose ``'@*/*'`` rule proxies every scope to npmjs.
    """
    documents = tree.documents
    findings: list[Finding] = []
    for app in (d for d in documents if d.kind == "Application"):
        values = _chart_values(app)
        if values is None:
            continue
        if values.get("existingConfigMap"):
            continue  # a ConfigMap made elsewhere: nothing here says what it holds
        text = values.get("configMap")
        if not isinstance(text, str) or not text.strip():
            findings.append(
                _finding(
                    app,
                    _WHERE,
                    "verdaccio/scope-proxied",
                    "the Verdaccio chart gets no configMap, so its default config runs, and that proxies every scope "
                    "('@*/*') to the public registry: set configMap to the generated verdaccio/config.yaml",
                )
            )
            continue
        config = yaml.safe_load(text) or {}
        packages = config.get("packages") if isinstance(config, dict) else None
        for scope in _scopes(documents, config if isinstance(config, dict) else {}):
            found = rule_for(packages if isinstance(packages, dict) else {}, f"{scope}/any-package")
            if found is None:
                continue  # no rule: Verdaccio refuses the name, nothing is proxied
            pattern, rule = found
            if rule.get("proxy"):
                findings.append(
                    _finding(
                        app,
                        f"{_WHERE}.configMap",
                        "verdaccio/scope-proxied",
                        f"{scope}/* packages match '{pattern}', which proxies to {rule['proxy']}: a public package "
                        f"of the platform's scope would be installed in place of the private one; give {scope}/* "
                        "a rule without proxy before any broader pattern",
                    )
                )
    return findings


def deployed_config(tree: Tree) -> list[Finding]:
    """``verdaccio/deployed-config``: the Verdaccio chart Application deploys other values than the tree's
    ``verdaccio/values.yaml`` (or another config than ``verdaccio/config.yaml``).

    Argo CD installs the chart with the Application's own values; the files beside it are what people review.
    When the two differ (a config, a volume size), what was reviewed is not what runs.
    """
    documents = tree.documents
    files = {d.file: d for d in documents if d.file in (CONFIG_FILE, VALUES_FILE) and d.index == 1}
    findings: list[Finding] = []
    for app in (d for d in documents if d.kind == "Application"):
        values = _chart_values(app)
        if values is None:
            continue
        if VALUES_FILE in files and values != files[VALUES_FILE].data:
            differ = sorted(
                key
                for key in set(values) | set(files[VALUES_FILE].data)
                if values.get(key) != files[VALUES_FILE].data.get(key)
            )
            findings.append(
                _finding(
                    app,
                    _WHERE,
                    "verdaccio/deployed-config",
                    f"the Verdaccio chart is installed with other values than {VALUES_FILE} ({', '.join(differ)}): "
                    "render both from one source",
                )
            )
        elif (
            CONFIG_FILE in files
            and isinstance(values.get("configMap"), str)
            and (yaml.safe_load(values["configMap"]) or {}) != files[CONFIG_FILE].data
        ):
            findings.append(
                _finding(
                    app,
                    f"{_WHERE}.configMap",
                    "verdaccio/deployed-config",
                    f"the Verdaccio chart runs another config than {CONFIG_FILE}: render both from one source",
                )
            )
    return findings
