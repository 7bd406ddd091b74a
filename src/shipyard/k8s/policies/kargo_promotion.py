"""Cross-object checks of the Kargo objects in a config repo: would the promotions they describe work once
applied? Each check encodes one behaviour of Kargo v1.11's controllers, named in its docstring, that the
schemas cannot see because it spans several objects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shipyard.k8s.documents import Document, Finding, json_path, kargo_steps
from shipyard.k8s.policies.tree import Tree, strings

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


def shared_branch_health(tree: Tree) -> list[Finding]:
    """``kargo/shared-branch-health``: an ``argocd-update`` that names a ``desiredRevision`` for an
    Application tracking a branch that others also push to.

    Kargo v1.11 (``pkg/health/checker/builtin/argocd.go``) reports the Stage Unhealthy as soon as the
    Application's synced revision is not exactly the desired one, and ``argocd-update``
    (``pkg/promotion/runner/builtin/argocd_updater.go``, ``mustPerformUpdate``) syncs again until they
    match. On a branch other Stages, previews or render push to, the Application soon syncs a newer
    commit, so the Stage turns unhealthy and a promotion that races a push re-syncs until it times out.
    """
    documents = tree.documents
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


def credential_match(tree: Tree) -> list[Finding]:
    """``kargo/credential-match``: a repository Kargo reads that none of the tree's credentials of its type
    would be picked for.

    Kargo v1.11 (``pkg/credentials/kubernetes/database.go``, ``getCredentialsSecret``) lists the Secrets
    labelled with the credential type and takes the first whose ``repoURL`` equals the repository once both
    are normalised, or, with ``repoURLIsRegex: "true"``, whose regular expression matches it. A credential
    naming the registry host never matches ``host/project/service``, so discovery against a private
    registry fails. Checked only for types the tree declares credentials of (public repositories need none).
    """
    documents = tree.documents
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
                'repoURL exactly unless repoURLIsRegex is "true"',
            )
        )
    return findings


_TAG_OF = re.compile(r"""imageFrom\(\s*"([^"]+)"\s*\)\.Tag""")


def _image_repos(warehouse: Document) -> list[str]:
    found = []
    for sub in (warehouse.data.get("spec") or {}).get("subscriptions") or []:
        image = sub.get("image") if isinstance(sub, dict) else None
        if isinstance(image, dict) and isinstance(image.get("repoURL"), str):
            found.append(image["repoURL"])
    return found


def one_version_freight(tree: Tree) -> list[Finding]:
    """``kargo/one-version-freight``: a Warehouse that makes freight automatically from several image
    subscriptions without criteria that every image carries the same tag.

    Kargo v1.11 (``pkg/controller/warehouses/warehouses.go``) builds automatic freight from the newest
    discovered image of each subscription, chosen independently, and skips it only when the Warehouse's
    ``freightCreationCriteria`` expression is false. Without the criteria, freight made in the middle of a
    release pairs one service's new version with another's previous one, and auto-promotion deploys it.
    """
    documents = tree.documents
    findings: list[Finding] = []
    for doc in _by_kind(documents, "Warehouse"):
        spec = doc.data.get("spec") or {}
        repos = _image_repos(doc)
        if spec.get("freightCreationPolicy", "Automatic") != "Automatic" or len(repos) < 2:
            continue
        expression = str((spec.get("freightCreationCriteria") or {}).get("expression") or "")
        compared = set(_TAG_OF.findall(expression))
        loose = re.search(r"\|\||\bor\b|!=", expression)
        missing = [r for r in repos if r not in compared]
        if missing or loose or "==" not in expression:
            why = f"it does not compare the tags of {', '.join(missing)}" if missing else "it can hold with tags apart"
            findings.append(
                _finding(
                    doc,
                    "$.spec.freightCreationCriteria",
                    "kargo/one-version-freight",
                    f"Warehouse {doc.name} makes freight of each subscription's newest image independently; "
                    f"its freightCreationCriteria must require one tag for all {len(repos)} images ({why})",
                )
            )
    return findings


_IMAGE_FROM = re.compile(r"""imageFrom\(\s*"([^"]+)"\s*(,)?""")


def image_origin(tree: Tree) -> list[Finding]:
    """``kargo/image-origin``: ``imageFrom(repo)`` without a Freight origin in a Stage that takes freight
    from several Warehouses subscribing to that repository.

    Kargo v1.11 (``pkg/expressions/function``, ``imageFrom`` over the promotion's freight requests) refuses
    to guess which requested origin provides the image and fails the step, so such a promotion never runs.
    """
    documents = tree.documents
    warehouses = {d.name: set(_image_repos(d)) for d in _by_kind(documents, "Warehouse")}
    tasks = {d.name: d for d in _by_kind(documents, "PromotionTask")}
    findings: list[Finding] = []
    reported: set[tuple[str, str]] = set()
    for stage in _by_kind(documents, "Stage"):
        origins = [
            str((r.get("origin") or {}).get("name"))
            for r in (stage.data.get("spec") or {}).get("requestedFreight") or []
            if isinstance(r, dict)
        ]
        shared = {
            repo
            for repo in set().union(*(warehouses.get(o, set()) for o in origins))
            if sum(repo in warehouses.get(o, set()) for o in origins) > 1
        }
        if not shared:
            continue
        steps = stage_steps(stage, tasks)
        texts = [(item, text) for item in steps for text in strings(item.step.get("config"))]
        texts += [(item, value) for item in steps for value in item.variables.values()]
        for item, text in texts:
            for repo, has_origin in _IMAGE_FROM.findall(text):
                if repo in shared and not has_origin and (stage.name, repo) not in reported:
                    reported.add((stage.name, repo))
                    findings.append(
                        _finding(
                            item.where,
                            json_path(item.path),
                            "kargo/image-origin",
                            f"Stage {stage.name} takes freight from {', '.join(origins)}, which all subscribe to "
                            f'{repo}: imageFrom("{repo}") needs the origin, e.g. '
                            "warehouse(ctx.targetFreight.origin.name), or Kargo fails the promotion",
                        )
                    )
    return findings


REQUIRES_STABLE_TAG = "shipyard.dev/requires-stable-tag"


def stable_tag_enforced(tree: Tree) -> list[Finding]:
    """``kargo/stable-tag-enforced``: a Stage marked ``shipyard.dev/requires-stable-tag`` whose promotion can
    change something before it has checked, for every image, that the release's stable tag names the
    freight's digest.

    Kargo v1.11 matches freight only by origin Warehouse and upstream Stages; it ignores annotations it
    does not own, so the mark alone lets a click in Kargo's UI ship a beta never tagged stable. Kargo runs
    a promotion's steps in order and stops at the first that fails (``pkg/promotion``), so an ``http`` step
    whose success expression compares the registry's answer with ``imageFrom(repo).Digest``, placed before
    the first push, enforces the rule.
    """
    documents = tree.documents
    warehouses = {d.name: _image_repos(d) for d in _by_kind(documents, "Warehouse")}
    tasks = {d.name: d for d in _by_kind(documents, "PromotionTask")}
    findings: list[Finding] = []
    for stage in _by_kind(documents, "Stage"):
        annotations = (stage.data.get("metadata") or {}).get("annotations") or {}
        if str(annotations.get(REQUIRES_STABLE_TAG)) != "true":
            continue
        repos: list[str] = []
        for request in (stage.data.get("spec") or {}).get("requestedFreight") or []:
            for repo in warehouses.get(str(((request or {}).get("origin") or {}).get("name")), []):
                if repo not in repos:
                    repos.append(repo)
        checked: set[str] = set()
        for item in stage_steps(stage, tasks):
            if item.step.get("uses") in ("git-push", "git-commit", "argocd-update", "kustomize-set-image"):
                break
            success = str(item.config("successExpression") or "")
            if item.step.get("uses") == "http" and item.config("failureExpression"):
                checked.update(r for r in repos if f'imageFrom("{r}"' in success and ".Digest" in success)
        missing = [r for r in repos if r not in checked]
        if missing:
            findings.append(
                _finding(
                    stage,
                    "$.spec.promotionTemplate.spec.steps",
                    "kargo/stable-tag-enforced",
                    f"Stage {stage.name} takes freight only once its digests carry the release's stable tag, but "
                    f"nothing before its first change checks that for {', '.join(missing)}: Kargo ignores the "
                    f"{REQUIRES_STABLE_TAG} annotation; start the promotion with an http step per image that "
                    "compares the registry's digest of the stable tag with imageFrom(repo).Digest",
                )
            )
    return findings


TRACE_TRAILERS = (
    "Shipyard-Freight",
    "Shipyard-Version",
    "Shipyard-Stage",
    "Shipyard-Source-Commit",
    "Shipyard-PR",
    "Shipyard-Approved-By",
)


def commit_trailers(tree: Tree) -> list[Finding]:
    """``kargo/commit-trailers``: a promotion whose ``git-commit`` message lacks the trailers ``shipyard
    status`` and ``trace`` read: the freight, version, stage, source commit, PR and approver, and a
    ``Shipyard-Service``/``Shipyard-Digest`` pair for every image its ``kustomize-set-image`` sets.

    Kargo v1.11's ``git-commit`` (``pkg/promotion/runner/builtin/git_commiter.go``) commits the message as
    given, so whatever the template leaves out is lost for the config repo's history; the source commit and
    PR come from the images' OCI annotations on the Freight, the approver from ``ctx.meta.promotion.actor``.
    """
    documents = tree.documents
    tasks = {d.name: d for d in _by_kind(documents, "PromotionTask")}
    findings: list[Finding] = []
    reported: set[tuple[str, int]] = set()
    for stage in _by_kind(documents, "Stage"):
        steps = stage_steps(stage, tasks)
        images = [
            str(image.get("image"))
            for item in steps
            if item.step.get("uses") == "kustomize-set-image"
            for image in item.config("images") or []
            if isinstance(image, dict)
        ]
        for item in steps:
            if item.step.get("uses") != "git-commit" or (item.where.file, item.where.index) in reported:
                continue
            message = str(item.config("message") or "")
            missing = [t for t in TRACE_TRAILERS if f"{t}: " not in message]
            services = {m.group(1) for m in re.finditer(r"^Shipyard-Service: (\S+)$", message, re.MULTILINE)}
            missing += [f"Shipyard-Service of {i}" for i in images if i.rsplit("/", 1)[-1] not in services]
            if "Shipyard-Digest: " not in message and images:
                missing.append("Shipyard-Digest")
            if missing:
                reported.add((item.where.file, item.where.index))
                findings.append(
                    _finding(
                        item.where,
                        f"{json_path(item.path)}.config.message",
                        "kargo/commit-trailers",
                        f"Stage {stage.name}'s promotion commits without {', '.join(missing)}: shipyard status and "
                        "trace read the config repo's history by these trailers",
                    )
                )
    return findings
