"""Cross-object checks of the Kargo objects in a config repo: would the promotions they describe work once
applied? Each check encodes one behaviour of Kargo v1.11's controllers, named in its docstring, that the
schemas cannot see because it spans several objects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shipyard.k8s.documents import Document, Finding, json_path, kargo_steps

_VAR = re.compile(r"\$\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def resolve(value: Any, variables: dict[str, str]) -> Any:
    """``value`` with every ``${{ vars.NAME }}`` replaced by the variable's value (others left as written)."""
    if not isinstance(value, str):
        return value
    for _ in range(8):  # variables may name variables; a bounded number of rounds ends any loop
        replaced = _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
        if replaced == value:
            break
        value = replaced
    return value


@dataclass(frozen=True)
class StageStep:
    """One step a Stage's promotion runs: written in the Stage itself or in a PromotionTask it calls."""

    stage: Document
    step: dict[str, Any]
    variables: dict[str, str]
    """The variables the step sees: the task's defaults, then the Stage's values."""
    where: Document
    path: list[str | int]
    order: int
    """The step's position in the whole promotion, tasks expanded."""

    def config(self, key: str) -> Any:
        """A config value with the step's variables resolved."""
        return resolve((self.step.get("config") or {}).get(key), self.variables)


def stage_steps(stage: Document, tasks: dict[str, Document]) -> list[StageStep]:
    """Every step of ``stage``'s promotion in the order Kargo runs them, PromotionTasks expanded."""
    template = (stage.data.get("spec") or {}).get("promotionTemplate") or {}
    stage_vars = {v["name"]: str(v.get("value", "")) for v in (template.get("spec") or {}).get("vars") or []}
    found: list[StageStep] = []
    for path, step in kargo_steps(stage):
        task = step.get("task")
        if isinstance(task, dict) and task.get("name") in tasks:
            task_doc = tasks[str(task["name"])]
            variables = {
                v["name"]: str(v.get("value", "")) for v in (task_doc.data.get("spec") or {}).get("vars") or []
            }
            variables.update(stage_vars)
            variables.update({v["name"]: str(v.get("value", "")) for v in step.get("vars") or []})
            for inner_path, inner in kargo_steps(task_doc):
                found.append(StageStep(stage, inner, variables, task_doc, inner_path, len(found)))
        else:
            found.append(StageStep(stage, step, stage_vars, stage, path, len(found)))
    return found


def _by_kind(documents: list[Document], *kinds: str) -> Iterator[Document]:
    return (d for d in documents if d.kind in kinds)


def _finding(doc: Document, path: str, check: str, message: str) -> Finding:
    return Finding(doc.file, doc.index, doc.label, path, check, "error", message)


def shared_branch_health(documents: list[Document]) -> list[Finding]:
    """``kargo/shared-branch-health``: an ``argocd-update`` that names a ``desiredRevision`` for an
    Application tracking a branch that others also push to.

    Kargo v1.11 (``pkg/health/checker/builtin/argocd.go``) reports the Stage Unhealthy as soon as the
    Application's synced revision is not exactly the desired one, and ``argocd-update``
    (``pkg/promotion/runner/builtin/argocd_updater.go``, ``mustPerformUpdate``) syncs again until they
    match. On a branch other Stages, previews or render push to, the Application soon syncs a newer
    commit, so the Stage turns unhealthy and a promotion that races a push re-syncs until it times out.
    """
    tasks = {d.name: d for d in _by_kind(documents, "PromotionTask")}
    stages = list(_by_kind(documents, "Stage"))
    applications = {d.name: d for d in _by_kind(documents, "Application")}
    writers: dict[str, set[str]] = {}
    steps = {stage.name: stage_steps(stage, tasks) for stage in stages}
    for name, found in steps.items():
        for item in found:
            if item.step.get("uses") == "git-push" and isinstance(branch := item.config("targetBranch"), str):
                writers.setdefault(branch, set()).add(f"Stage {name}")
    for doc in _by_kind(documents, "ApplicationSet"):
        for generator in (doc.data.get("spec") or {}).get("generators") or []:
            git = generator.get("git") if isinstance(generator, dict) else None
            if isinstance(git, dict) and git.get("revision"):
                writers.setdefault(str(git["revision"]), set()).add(f"the previews of ApplicationSet {doc.name}")
    for doc in applications.values():
        source = (doc.data.get("spec") or {}).get("source") or {}
        if source.get("path") in ("argocd/applications", "kargo") and source.get("targetRevision"):
            # The tree itself is read from this branch: render and people commit to it.
            writers.setdefault(str(source["targetRevision"]), set()).add("render (the tree itself)")
    findings: list[Finding] = []
    for stage in stages:
        for item in steps[stage.name]:
            if item.step.get("uses") != "argocd-update":
                continue
            for index, app in enumerate(item.config("apps") or []):
                if not isinstance(app, dict):
                    continue
                for source in app.get("sources") or []:
                    desired = resolve(source.get("desiredRevision"), item.variables)
                    if not desired or source.get("updateTargetRevision"):
                        continue
                    name = resolve(app.get("name"), item.variables)
                    repo_url = resolve(source.get("repoURL"), item.variables)
                    tracked = _tracked_branch(applications.get(str(name)), repo_url)
                    others = sorted(writers.get(tracked, set()) - {f"Stage {stage.name}"}) if tracked else []
                    if others:
                        findings.append(
                            _finding(
                                item.where,
                                f"{json_path(item.path)}.config.apps[{index}].sources",
                                "kargo/shared-branch-health",
                                f"Stage {stage.name} waits for Application {name} to sync exactly {desired}, but "
                                f"it tracks branch {tracked}, which {', '.join(others)} also push to: Kargo "
                                "calls the Stage unhealthy once another commit lands there; drop desiredRevision "
                                "or give the Stage a branch of its own",
                            )
                        )
    return findings


def _tracked_branch(application: Document | None, repo_url: Any) -> str | None:
    if application is None:
        return None
    spec = application.data.get("spec") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    for source in sources:
        if isinstance(source, dict) and (repo_url is None or source.get("repoURL") == repo_url):
            revision = source.get("targetRevision")
            return str(revision) if revision else "HEAD"
    return None


CRED_TYPE = "kargo.akuity.io/cred-type"


@dataclass(frozen=True)
class Credential:
    """A Kargo repository credential as the tree declares it (a Secret, or the Secret an ExternalSecret makes)."""

    doc: Document
    cred_type: str
    repo_url: str
    is_regex: bool

    def matches(self, url: str) -> bool:
        """Would Kargo pick this credential for ``url``? A regex is searched in the URL as written and as
        normalised; a plain ``repoURL`` must equal it once both are normalised."""
        if self.is_regex:
            try:
                pattern = re.compile(self.repo_url)
            except re.error:
                return False
            return bool(pattern.search(url) or pattern.search(_normalised(self.cred_type, url)))
        return _normalised(self.cred_type, self.repo_url) == _normalised(self.cred_type, url)


def _normalised(cred_type: str, url: str) -> str:
    # Kargo's urls.NormalizeImage lower-cases and drops Docker Hub's host; NormalizeGit drops ".git" and "/".
    url = url.strip().lower()
    if cred_type == "git":
        return url.removesuffix("/").removesuffix(".git")
    for hub in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if url.startswith(hub):
            return url.removeprefix(hub)
    return url


def credentials(documents: list[Document]) -> list[Credential]:
    """Every credential in the tree: Secrets with Kargo's label and the ExternalSecrets that make them."""
    found: list[Credential] = []
    for doc in documents:
        if doc.kind == "Secret":
            labels = (doc.data.get("metadata") or {}).get("labels") or {}
            data = {**(doc.data.get("stringData") or {})}
        elif doc.kind == "ExternalSecret":
            template = ((doc.data.get("spec") or {}).get("target") or {}).get("template") or {}
            labels = (template.get("metadata") or {}).get("labels") or {}
            data = template.get("data") or {}
        else:
            continue
        cred_type = labels.get(CRED_TYPE)
        if isinstance(cred_type, str) and isinstance(data.get("repoURL"), str):
            found.append(Credential(doc, cred_type, data["repoURL"], str(data.get("repoURLIsRegex")) == "true"))
    return found


def credential_match(documents: list[Document]) -> list[Finding]:
    """``kargo/credential-match``: a repository Kargo reads that none of the tree's credentials of its type
    would be picked for.

    Kargo v1.11 (``pkg/credentials/kubernetes/database.go``, ``getCredentialsSecret``) lists the Secrets
    labelled with the credential type and takes the first whose ``repoURL`` equals the repository once both
    are normalised, or, with ``repoURLIsRegex: "true"``, whose regular expression matches it. A credential
    naming the registry host never matches ``host/project/service``, so discovery against a private
    registry fails. Checked only for types the tree declares credentials of (public repositories need none).
    """
    creds = credentials(documents)
    kinds = {c.cred_type for c in creds}
    wanted: list[tuple[Document, str, str, str]] = []  # (where, JSON path, type, URL)
    if "image" in kinds:
        for doc in _by_kind(documents, "Warehouse"):
            for index, sub in enumerate((doc.data.get("spec") or {}).get("subscriptions") or []):
                image = sub.get("image") if isinstance(sub, dict) else None
                if isinstance(image, dict) and isinstance(image.get("repoURL"), str):
                    wanted.append((doc, f"$.spec.subscriptions[{index}].image.repoURL", "image", image["repoURL"]))
    if "git" in kinds:
        tasks = {d.name: d for d in _by_kind(documents, "PromotionTask")}
        for stage in _by_kind(documents, "Stage"):
            for item in stage_steps(stage, tasks):
                url = item.config("repoURL")
                if item.step.get("uses") in ("git-clone", "git-open-pr") and isinstance(url, str):
                    wanted.append((item.where, f"{json_path(item.path)}.config.repoURL", "git", url))
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for doc, path, cred_type, url in wanted:
        if (cred_type, url) in seen or any(c.cred_type == cred_type and c.matches(url) for c in creds):
            continue
        seen.add((cred_type, url))
        named = ", ".join(
            f"{c.doc.name} ({'regex ' if c.is_regex else ''}{c.repo_url})" for c in creds if c.cred_type == cred_type
        )
        findings.append(
            _finding(
                doc,
                path,
                "kargo/credential-match",
                f"Kargo reads {url} with a {cred_type} credential, but none matches it: {named}; Kargo compares "
                "repoURL exactly unless repoURLIsRegex is \"true\"",
            )
        )
    return findings


def kargo_checks(documents: list[Document]) -> list[Finding]:
    """Every Kargo cross-object check."""
    return shared_branch_health(documents) + credential_match(documents)
