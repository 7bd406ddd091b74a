"""``validate``'s database policy: nothing in a rendered config repo points the sandbox at production's database.

The sandbox's databases are the ``DATABASE_URL`` of the workloads in its overlays, the ``--to`` of the
``shipyard sandbox db`` jobs and the sandbox's URLs in the spec the jobs carry. Production's are the
``DATABASE_URL`` of the production overlay (and of the environment the sandbox mirrors), the clone job's
``--from`` and production's URL in the carried spec. Each pair is compared as libpq reads the URLs
(``shipyard.dburl``): the config repo can be edited by hand, so what render checked is checked again.
"""

from __future__ import annotations

from typing import Any

import yaml

from shipyard.dburl import ConninfoError, may_be_same
from shipyard.k8s.documents import Document, Finding
from shipyard.k8s.policies.tree import Tree

CHECK = "policy/sandbox-database"
# Where a URL was found: the document, the JSON path, and what it is.
_Place = tuple[Document, str, str]


def _containers(doc: Document) -> list[tuple[str, dict[str, Any]]]:
    """(JSON path, container) of a Deployment-like object, a patch of one, or a CronJob."""
    spec = doc.data.get("spec")
    found: list[tuple[str, dict[str, Any]]] = []
    for prefix, pod in (
        ("$.spec.template.spec", ((spec or {}).get("template") or {}).get("spec") if isinstance(spec, dict) else None),
        (
            "$.spec.jobTemplate.spec.template.spec",
            (((((spec or {}).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec"))
            if isinstance(spec, dict)
            else None,
        ),
    ):
        if isinstance(pod, dict) and isinstance(pod.get("containers"), list):
            found += [(f"{prefix}.containers[{i}]", c) for i, c in enumerate(pod["containers"]) if isinstance(c, dict)]
    return found


def _spec_urls(doc: Document) -> tuple[list[_Place], list[_Place], set[str], set[str]]:
    """From the spec a ConfigMap carries: sandbox URLs, production URLs, sandbox and production env names."""
    data = doc.data.get("data")
    text = data.get("shipyard.yaml") if isinstance(data, dict) else None
    try:
        spec = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        spec = None
    if not isinstance(spec, dict):
        return [], [], set(), set()
    envs = [e for e in spec.get("environments") or [] if isinstance(e, dict)]
    mirrors = {str(e.get("name")) for e in envs if e.get("promotion") == "mirror"}
    sources = {"production", *(str(e.get("upstream") or "production") for e in envs if e.get("name") in mirrors)}
    sandbox: list[_Place] = []
    production: list[_Place] = []
    url = ((spec.get("sandbox") or {}).get("database") or {}).get("url")
    if isinstance(url, str):
        sandbox.append((doc, "$.data['shipyard.yaml'] sandbox.database.url", url))
    for env in envs:
        url = (env.get("database") or {}).get("url") if isinstance(env.get("database"), dict) else None
        if isinstance(url, str):
            where = (doc, f"$.data['shipyard.yaml'] environments[{env.get('name')}].database.url", url)
            (production if env.get("name") in sources else sandbox if env.get("name") in mirrors else []).append(where)
    return sandbox, production, mirrors, sources


def _argument(args: list[Any], name: str) -> str | None:
    for index, arg in enumerate(args[:-1]):
        if arg == name and isinstance(args[index + 1], str):
            return str(args[index + 1])
    return None


def check_sandbox_databases(tree: Tree) -> list[Finding]:
    """Errors for every sandbox database URL that may be a production one."""
    documents = tree.documents

    sandbox: list[_Place] = []
    production: list[_Place] = []
    sandbox_envs, production_envs = {"sandbox"}, {"production"}
    for doc in documents:
        if doc.kind == "ConfigMap":
            more_sandbox, more_production, mirrors, sources = _spec_urls(doc)
            sandbox += more_sandbox
            production += more_production
            sandbox_envs |= mirrors
            production_envs |= sources
    for doc in documents:
        parts = doc.file.split("/")
        overlay = parts[1] if len(parts) > 2 and parts[0] == "overlays" else None
        for path, container in _containers(doc):
            given = container.get("args")
            args: list[Any] = given if isinstance(given, list) else []
            if args[:3] in (["sandbox", "db", "clone"], ["sandbox", "db", "synth"]):
                if (url := _argument(args, "--to")) is not None:
                    sandbox.append((doc, f"{path}.args (--to)", url))
                if (url := _argument(args, "--from")) is not None:
                    production.append((doc, f"{path}.args (--from)", url))
            for index, env in enumerate(container.get("env") or []):
                if not (
                    isinstance(env, dict) and env.get("name") == "DATABASE_URL" and isinstance(env.get("value"), str)
                ):
                    continue
                where = (doc, f"{path}.env[{index}].value", env["value"])
                if overlay in sandbox_envs:
                    sandbox.append(where)
                elif overlay in production_envs:
                    production.append(where)
    findings: list[Finding] = []
    for doc, path, url in sandbox:
        for other_doc, other_path, other in production:
            try:
                reason = may_be_same(url, other)
            except ConninfoError as exc:
                reason = f"cannot tell ({exc.message})"
            if reason is not None:
                message = f"the sandbox's database may be production's ({other_doc.file} {other_path}): {reason}"
                findings.append(Finding(doc.file, doc.index, doc.label, path, CHECK, "error", message))
                break
    return findings
