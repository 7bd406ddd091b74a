"""Cross-object checks of the platform's CronJobs: would each job start, reach the config repo, and have exactly
the access its command needs? Each check names the upstream behaviour it encodes."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from shipyard.k8s.documents import Document, Finding, json_path
from shipyard.k8s.jobaccess import Call, calls_of
from shipyard.k8s.policies.ingress import pod_containers, pod_spec
from shipyard.k8s.policies.tree import Tree

RESTRICTED = "pod-security.kubernetes.io/enforce"
SANDBOX_LABEL = "shipyard.dev/sandbox"
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_HELPER_KEY = re.compile(r"credential\.(.+)\.helper")


def _finding(doc: Document, path: str, check: str, message: str) -> Finding:
    return Finding(doc.file, doc.index, doc.label, path, check, "error", message)


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or [] if isinstance(e, dict)}


def shipyard_args(container: dict[str, Any]) -> list[str] | None:
    """The arguments of a container that runs ``shipyard`` (``$(VAR)`` expanded from its env), else None."""
    command = [str(c) for c in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    if not command and ":" in str(container.get("image", "")) and "/shipyard:" in str(container.get("image")):
        return args
    if not command or command[0].rsplit("/", 1)[-1] != "shipyard":
        return None
    env = _env(container)
    return [_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), a) for a in [*command[1:], *args]]


def _config_repo(args: list[str], env: dict[str, str]) -> str | None:
    if "--config-repo" in args and args.index("--config-repo") + 1 < len(args):
        return args[args.index("--config-repo") + 1]
    return env.get("SHIPYARD_CONFIG_REPO")


def _jobs(documents: list[Document]) -> list[Document]:
    return [d for d in documents if d.kind in ("CronJob", "Job")]


def _scheduled(documents: list[Document]) -> list[Document]:
    """The platform's scheduled jobs: the CronJobs (a preview's Jobs run in the preview's own namespace)."""
    return [d for d in documents if d.kind == "CronJob"]


def command(tree: Tree) -> list[Finding]:
    """``jobs/command``: a container of Shipyard's image with arguments and no command.

    Shipyard's image has no entrypoint (its Dockerfile sets only ``CMD``), and Kubernetes runs a container's
    ``args`` as the command when it gives none and the image has no entrypoint: ``sandbox reset`` would be run
    as a program called ``sandbox``, which does not exist.
    """
    documents = tree.documents
    findings: list[Finding] = []
    for doc in _jobs(documents):
        for where, container in pod_containers(doc):
            if (
                "/shipyard:" in str(container.get("image", ""))
                and container.get("args")
                and not container.get("command")
            ):
                findings.append(
                    _finding(
                        doc,
                        json_path([*where, "command"]),
                        "jobs/command",
                        "Shipyard's image has no entrypoint, so these args would be run as the program: "
                        "set command: [shipyard]",
                    )
                )
    return findings


def git_credentials(tree: Tree) -> list[Finding]:
    """``jobs/git-credentials``: a job that clones or pushes an HTTP(S) config repo with credentials git does
    not read.

    git asks credential helpers (``credential.<url>.helper``, here given as ``GIT_CONFIG_KEY_n``/``_VALUE_n``)
    or ``GIT_ASKPASS`` for a username and password when the server answers 401; it reads no
    ``GIT_USERNAME``/``GIT_PASSWORD``, and Shipyard runs it with ``GIT_TERMINAL_PROMPT=0``, so without a helper
    for the repo's host the job fails with "could not read Username". The files the helper reads must be
    mounted from a volume, and an ExternalSecret making that Secret must give those keys.
    """
    documents = tree.documents
    secrets = {
        str(((d.data.get("spec") or {}).get("target") or {}).get("name") or d.name): d
        for d in documents
        if d.kind == "ExternalSecret"
    }
    findings: list[Finding] = []
    for doc in _jobs(documents):
        found = pod_spec(doc)
        volumes = {
            str(v.get("name")): v for v in (found[1].get("volumes") or [] if found else []) if isinstance(v, dict)
        }
        for where, container in pod_containers(doc):
            args = shipyard_args(container)
            env = _env(container)
            url = _config_repo(args, env) if args is not None else None
            if not url or urlsplit(url).scheme not in ("http", "https"):
                continue
            host = f"{urlsplit(url).scheme}://{urlsplit(url).netloc.rsplit('@', 1)[-1]}"
            helpers = [
                env.get(f"GIT_CONFIG_VALUE_{key[len('GIT_CONFIG_KEY_') :]}", "")
                for key, value in env.items()
                if key.startswith("GIT_CONFIG_KEY_")
                and (m := _HELPER_KEY.fullmatch(value))
                and (m.group(1) == host or url.startswith(m.group(1).rstrip("/") + "/"))
            ]
            if "GIT_ASKPASS" in env:
                continue  # git asks that program; what it answers cannot be seen here
            if not helpers or int(env.get("GIT_CONFIG_COUNT", "0") or 0) < 1:
                given = (
                    " (it is given GIT_USERNAME/GIT_PASSWORD, which git never reads)"
                    if "GIT_USERNAME" in str(container)
                    else ""
                )
                findings.append(
                    _finding(
                        doc,
                        json_path([*where, "env"]),
                        "jobs/git-credentials",
                        f"this job clones {url} with no credential helper for {host}{given}: git answers the "
                        "server's 401 with 'could not read Username' (prompts are off)",
                    )
                )
                continue
            mounts = {str(m.get("mountPath")): m for m in container.get("volumeMounts") or [] if isinstance(m, dict)}
            for helper in helpers:
                for path in re.findall(r"cat (/[\w./-]+)", helper):
                    folder, _, key = path.rpartition("/")
                    mount = mounts.get(folder)
                    volume = volumes.get(str(mount.get("name"))) if mount else None
                    secret = (volume or {}).get("secret") if volume else None
                    problem = None
                    if secret is None:
                        problem = f"the helper reads {path}, but no Secret volume is mounted at {folder}"
                    else:
                        made = secrets.get(str(secret.get("secretName")))
                        keys = (
                            {str(e.get("secretKey")) for e in (made.data.get("spec") or {}).get("data") or []}
                            if made
                            else None
                        )
                        if keys is not None and key not in keys:
                            problem = (
                                f"the helper reads {path}, but ExternalSecret {made.name if made else ''} gives the "
                                f"Secret {secret.get('secretName')} only {', '.join(sorted(keys))}"
                            )
                    if problem:
                        findings.append(_finding(doc, json_path([*where, "env"]), "jobs/git-credentials", problem))
    return findings


def _restricted_problems(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    pod_sc = pod.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    problems = []
    if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
        problems.append("runAsNonRoot is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problems.append("capabilities do not drop ALL")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append("seccompProfile is not RuntimeDefault")
    return problems


def pod_security(tree: Tree) -> list[Finding]:
    """``jobs/pod-security``: a CronJob's pod that the restricted Pod Security level refuses, or that cannot
    write where it works.

    The API server's PodSecurity admission (``pod-security.kubernetes.io/enforce: restricted`` on the
    namespace, which the jobs' namespace sets) refuses a pod unless it runs as non-root, with
    ``allowPrivilegeEscalation: false``, every capability dropped and a RuntimeDefault (or Localhost) seccomp
    profile: the Job is created, its pods never are. With ``readOnlyRootFilesystem`` the temporary clones
    Shipyard makes need a writable volume at ``/tmp``.
    """
    documents = tree.documents
    restricted = {
        d.name
        for d in documents
        if d.kind == "Namespace"
        and ((d.data.get("metadata") or {}).get("labels") or {}).get(RESTRICTED) == "restricted"
    }
    findings: list[Finding] = []
    for doc in _scheduled(documents):
        namespace = str((doc.data.get("metadata") or {}).get("namespace", ""))
        found = pod_spec(doc)
        if found is None:
            continue
        _, pod = found
        for where, container in pod_containers(doc):
            if shipyard_args(container) is None and namespace not in restricted:
                continue
            problems = _restricted_problems(pod, container)
            sc = container.get("securityContext") or {}
            mounts = {str(m.get("mountPath")) for m in container.get("volumeMounts") or [] if isinstance(m, dict)}
            if sc.get("readOnlyRootFilesystem") and shipyard_args(container) is not None and "/tmp" not in mounts:
                problems.append("the root file system is read-only and nothing writable is mounted at /tmp")
            elif not sc.get("readOnlyRootFilesystem"):
                problems.append("readOnlyRootFilesystem is not true")
            if problems:
                refused = (
                    " (the namespace enforces the restricted level: the pod is refused)"
                    if namespace in restricted
                    else ""
                )
                findings.append(
                    _finding(
                        doc,
                        json_path(where),
                        "jobs/pod-security",
                        f"container {container.get('name')}: {'; '.join(problems)}{refused}",
                    )
                )
    return findings


def _granted(documents: list[Document], account: str, namespace: str) -> list[tuple[str, dict[str, Any]]]:
    """(namespace or "" for cluster-wide, rule) for every rule bound to the ServiceAccount."""
    roles = {
        (d.kind, str((d.data.get("metadata") or {}).get("namespace", "")), d.name): d
        for d in documents
        if d.kind in ("Role", "ClusterRole")
    }
    found: list[tuple[str, dict[str, Any]]] = []
    for binding in (d for d in documents if d.kind in ("RoleBinding", "ClusterRoleBinding")):
        bound_ns = str((binding.data.get("metadata") or {}).get("namespace", ""))
        subjects = binding.data.get("subjects") or []
        if not any(
            isinstance(s, dict)
            and s.get("kind") == "ServiceAccount"
            and s.get("name") == account
            and (s.get("namespace") or bound_ns) == namespace
            for s in subjects
        ):
            continue
        ref = binding.data.get("roleRef") or {}
        kind = str(ref.get("kind"))
        role = roles.get((kind, bound_ns if kind == "Role" else "", str(ref.get("name"))))
        scope = "" if binding.kind == "ClusterRoleBinding" else bound_ns
        for rule in (role.data.get("rules") or []) if role else []:
            if isinstance(rule, dict):
                found.append((scope, rule))
    return found


def _allows(rule: dict[str, Any], call: Call, verb: str) -> bool:
    return (
        call.group in (rule.get("apiGroups") or [])
        and call.resource in (rule.get("resources") or [])
        and verb in (rule.get("verbs") or [])
    )


def service_account(tree: Tree) -> list[Finding]:
    """``jobs/rbac``: a CronJob's pod with a Kubernetes API token it has no call for, or without the RBAC for a
    call its command makes (``shipyard.k8s.jobaccess``).

    Kubernetes mounts the ServiceAccount's token into every pod unless the pod or its ServiceAccount sets
    ``automountServiceAccountToken: false``; a job that never calls the API should not carry one. A call the
    ServiceAccount's Roles do not allow is refused with 403, and the job fails.
    """
    documents = tree.documents
    accounts = {
        (str((d.data.get("metadata") or {}).get("namespace", "")), d.name): d
        for d in documents
        if d.kind == "ServiceAccount"
    }
    sandboxes = [
        d.name
        for d in documents
        if d.kind == "Namespace" and ((d.data.get("metadata") or {}).get("labels") or {}).get(SANDBOX_LABEL) == "true"
    ]
    findings: list[Finding] = []
    for doc in _scheduled(documents):
        found = pod_spec(doc)
        if found is None:
            continue
        keys, pod = found
        namespace = str((doc.data.get("metadata") or {}).get("namespace", ""))
        name = str(pod.get("serviceAccountName") or "default")
        account = accounts.get((namespace, name))
        automount = pod.get("automountServiceAccountToken")
        if automount is None and account is not None:
            automount = account.data.get("automountServiceAccountToken")
        token = automount is not False
        calls = [c for _, container in pod_containers(doc) for c in calls_of(shipyard_args(container) or [])]
        where = json_path(keys)
        if not calls:
            if token:
                findings.append(
                    _finding(
                        doc,
                        where,
                        "jobs/rbac",
                        "this job makes no Kubernetes API call but its pod gets ServiceAccount "
                        f"{name}'s token: set automountServiceAccountToken: false",
                    )
                )
            continue
        if not token:
            findings.append(
                _finding(doc, where, "jobs/rbac", "this job calls the Kubernetes API, but its pod gets no token")
            )
            continue
        granted = _granted(documents, name, namespace)
        for call in calls:
            scopes = {"cluster": [""], "own": [namespace, ""], "sandbox": [*sandboxes, ""]}[call.scope]
            for verb in call.verbs:
                if not any(scope in scopes and _allows(rule, call, verb) for scope, rule in granted):
                    what = f"{call.group or 'core'}/{call.resource}"
                    findings.append(
                        _finding(
                            doc,
                            where,
                            "jobs/rbac",
                            f"this job must {verb} {what} ({call.scope} namespace), and no Role bound to "
                            f"ServiceAccount {namespace}/{name} allows it: the API server answers 403",
                        )
                    )
    return findings


def _schedule(doc: Document) -> tuple[str, bool]:
    spec = doc.data.get("spec") or {}
    return str(spec.get("schedule", "")), bool(spec.get("suspend"))


def sandbox_ttl(tree: Tree) -> list[Finding]:
    """``jobs/sandbox-ttl``: the sandbox's CronJobs do not let its TTL govern its reset, on the cluster.

    A CronJob runs on its schedule whatever git says: a reset on a schedule (``sandbox reset`` without
    ``--if-expired``) cuts a TTL longer than its period short, a TTL check that runs less than hourly lets a
    shorter TTL run long, and a database job on a schedule of its own renews the data when the TTL says
    nothing. Without ``--cluster`` the reset changes only the config repo, where the pods and the data the
    sandbox accumulated are not (the images are production's either way), so nothing on the cluster expires.
    """
    documents = tree.documents
    sandboxes = [
        d
        for d in documents
        if d.kind == "Namespace" and ((d.data.get("metadata") or {}).get("labels") or {}).get(SANDBOX_LABEL) == "true"
    ]
    checks: list[tuple[Document, list[str]]] = []
    databases: list[Document] = []
    findings: list[Finding] = []
    for doc in _scheduled(documents):
        for _, container in pod_containers(doc):
            args = shipyard_args(container) or []
            schedule, suspended = _schedule(doc)
            if args[:2] == ["sandbox", "reset"] and not suspended:
                if "--if-expired" not in args:
                    findings.append(
                        _finding(
                            doc,
                            "$.spec.schedule",
                            "jobs/sandbox-ttl",
                            f"this CronJob resets the sandbox at '{schedule}' whatever its TTL: a TTL longer than "
                            "that is cut short; run `sandbox reset --if-expired --cluster` instead",
                        )
                    )
                else:
                    checks.append((doc, args))
            if args[:3] in (["sandbox", "db", "clone"], ["sandbox", "db", "synth"]):
                databases.append(doc)
                if not suspended:
                    findings.append(
                        _finding(
                            doc,
                            "$.spec.suspend",
                            "jobs/sandbox-ttl",
                            f"the sandbox database is renewed at '{schedule}', not when the sandbox's TTL runs out: "
                            "suspend it and let the reset start it (--database-job)",
                        )
                    )
    if sandboxes and not checks:
        where = sandboxes[0]
        findings.append(
            _finding(
                where,
                "$.metadata",
                "jobs/sandbox-ttl",
                f"namespace {where.name} is a sandbox, and no CronJob runs `sandbox reset --if-expired`: its TTL "
                "never ends it",
            )
        )
    for doc, args in checks:
        schedule, _ = _schedule(doc)
        fields = schedule.split()
        if len(fields) == 5 and fields[1] != "*":
            findings.append(
                _finding(
                    doc,
                    "$.spec.schedule",
                    "jobs/sandbox-ttl",
                    f"the TTL check runs at '{schedule}', less often than hourly: a TTL ends up to a day late",
                )
            )
        if "--cluster" not in args:
            findings.append(
                _finding(
                    doc,
                    "$.spec.jobTemplate",
                    "jobs/sandbox-ttl",
                    "the TTL check resets only the config repo (no --cluster): the sandbox's pods and data outlive "
                    "their TTL",
                )
            )
        for database in databases:
            if database.name not in args:
                findings.append(
                    _finding(
                        doc,
                        "$.spec.jobTemplate",
                        "jobs/sandbox-ttl",
                        f"the TTL check does not start the database job {database.name} (--database-job): the "
                        "sandbox's data outlives its TTL",
                    )
                )
    return findings
