"""Kargo: the stage graph as a Project, its ProjectConfig, the Warehouses the Stages take freight from, a
Stage per promoted environment and the PromotionTask they share.

Production takes the freight that passed preprod (a Stage source, which Kargo enforces) only once every
image digest of that freight also carries the release's stable tag. Kargo matches freight by origin
Warehouse only, so production's promotion starts with one ``http`` step per service that asks the
registry which digest the stable tag names and fails unless it is the freight's: the rule
``shipyard promote`` checks with ``promotion.gates.stable_tag_gate``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from shipyard.configrepo.location import BRANCH
from shipyard.k8s.argocd import application_name
from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import (
    ExternalSecret,
    ExternalSecretTemplate,
    SecretTemplateMeta,
)
from shipyard.k8s.kargo import (
    FreightCreationCriteria,
    FreightOrigin,
    FreightRequest,
    FreightSources,
    HttpConfig,
    HttpHeader,
    ImageSubscription,
    KustomizeImage,
    Project,
    ProjectConfig,
    ProjectConfigSpec,
    PromotionPolicy,
    PromotionStep,
    PromotionTask,
    PromotionTaskSpec,
    PromotionTemplate,
    PromotionTemplateSpec,
    Stage,
    StageSelector,
    StageSpec,
    Subscription,
    TaskRef,
    Var,
    Warehouse,
    WarehouseSpec,
)
from shipyard.promotion.steps import PROMOTION_STEPS, Inputs, KustomizeSetImageStep
from shipyard.registry.build import PULL_REQUEST as PR_ANNOTATION
from shipyard.registry.build import REVISION as REVISION_ANNOTATION
from shipyard.registry.build import VERSION as VERSION_ANNOTATION
from shipyard.render.common import (
    config_repo_url,
    kargo_project,
    part_of,
    service_names,
    store_secret,
    yaml_of,
)
from shipyard.spec.model import Maturity, Platform
from shipyard.stages.graph import StageNode, build_graph
from shipyard.workspace.model import Workspace

PROMOTION_TASK = "promote"
REGISTRY_CREDENTIAL = "kargo-registry"
REQUIRES_STABLE_TAG = "shipyard.dev/requires-stable-tag"
"""Marks a Stage that takes freight only once its digests carry the release's stable tag; validate checks
that such a Stage's promotion starts with the registry checks (``kargo/stable-tag-enforced``)."""
# The manifest types a registry may answer a tag with (an image, or an index of images).
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_VERSION = r"\d+\.\d+\.\d+"
# The tag of each maturity, as the versioning rules write it (the prefix is added per platform).
TAG_PATTERNS = {
    Maturity.alpha: rf"{_VERSION}-alpha\.\d{{14}}",
    Maturity.beta: rf"{_VERSION}-beta\.\d+",
    Maturity.stable: _VERSION,
}
# SemVer constraints: prereleases are only considered when the constraint itself has one.
CONSTRAINTS = {Maturity.alpha: ">=0.0.0-0", Maturity.beta: ">=0.0.0-0", Maturity.stable: ">=0.0.0"}


@dataclass(frozen=True)
class Lane:
    """A Warehouse: the version tags of one line of work, of which Kargo makes freight of the newest."""

    name: str
    maturity: Maturity
    pattern: str
    """The tags it takes, without the platform's prefix."""


# A Warehouse makes freight only of the newest tag each subscription sees (Kargo's SemVer selection), so
# a hotfix beta of the line in production (v1.2.1-beta.1) would never become freight while the next
# release's betas (v1.3.0-beta.N) exist. Betas are therefore split into two Warehouses: release lines
# (X.Y.0, cut from develop) and patch lines (X.Y.Z with Z > 0: hotfixes, and a release cut as a patch).
LANES = {
    Maturity.alpha: (Lane("alpha", Maturity.alpha, TAG_PATTERNS[Maturity.alpha]),),
    Maturity.beta: (
        Lane("beta", Maturity.beta, r"\d+\.\d+\.0-beta\.\d+"),
        Lane("hotfix", Maturity.beta, r"\d+\.\d+\.[1-9]\d*-beta\.\d+"),
    ),
    Maturity.stable: (Lane("stable", Maturity.stable, TAG_PATTERNS[Maturity.stable]),),
}


def render_kargo(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``kargo/project.yaml``, ``kargo/warehouses/``, ``kargo/stages/`` and ``kargo/promotions/``."""
    graph = build_graph(platform)
    project = kargo_project(platform)
    services = service_names(workspace)
    files = {
        "kargo/project.yaml": yaml_of(
            Project(metadata=ObjectMeta(name=project, labels=part_of(platform))),
            ProjectConfig(
                metadata=ObjectMeta(name=project, namespace=project, labels=part_of(platform)),
                spec=ProjectConfigSpec(
                    promotion_policies=[
                        PromotionPolicy(stage_selector=StageSelector(name=node.name), auto_promotion_enabled=node.auto)
                        for node in graph.stages
                    ]
                ),
            ),
        ),
        f"kargo/promotions/{PROMOTION_TASK}.yaml": yaml_of(promotion_task(platform, services)),
    }
    if services:
        # Only Warehouses some Stage takes freight from: freight nobody can take would only confuse.
        origins = {node.origin for node in graph.stages}
        for lane in (lane for maturity in Maturity if maturity in origins for lane in LANES[maturity]):
            files[f"kargo/warehouses/{lane.name}.yaml"] = yaml_of(warehouse(platform, lane, services))
    for node in graph.stages:
        files[f"kargo/stages/{node.name}.yaml"] = yaml_of(stage(platform, node, services))
    if platform.secrets.store:
        files["kargo/credentials.yaml"] = yaml_of(*credentials(platform))
    return files


def credentials(platform: Platform) -> list[ExternalSecret]:
    """Kargo's git (push to the config repo) and registry (read image tags) credentials, from the store.

    Kargo finds a credential by its ``kargo.akuity.io/cred-type`` label and compares its ``repoURL`` with the
    repository it reads *exactly* (after normalising), unless ``repoURLIsRegex`` is ``"true"``
    (``pkg/credentials/kubernetes/database.go``). The Warehouses subscribe to one repository per service, so
    the registry credential names them all with a regular expression anchored at the services' folder. The
    secret parts come from the store, never from git.
    """
    registry = {
        "repoURL": repositories_regex(platform),
        "repoURLIsRegex": "true",
        # The header production's stable-tag checks send (an ExternalSecret template can base64, Kargo cannot).
        "authorization": 'Basic {{ printf "%s:%s" .username .password | b64enc }}',
    }
    return [
        store_secret(
            platform,
            name,
            name,
            {"username": "username", "password": "password"},
            namespace=kargo_project(platform),
            template=ExternalSecretTemplate(
                metadata=SecretTemplateMeta(labels={"kargo.akuity.io/cred-type": cred_type}),
                data={**match, "username": "{{ .username }}", "password": "{{ .password }}"},
            ),
        )
        for name, cred_type, match in (
            ("kargo-git", "git", {"repoURL": config_repo_url(platform)}),
            (REGISTRY_CREDENTIAL, "image", registry),
        )
    ]


def repositories_regex(platform: Platform) -> str:
    """The regular expression (RE2) of every service image repository: ``^harbor\\.acme\\.example\\.com/services/``."""
    return "^" + re.escape(platform.registry.repositories) + "/"


def lane_regex(platform: Platform, lane: Lane) -> str:
    """The regular expression of a Warehouse's tags, e.g. ``^v\\d+\\.\\d+\\.0-beta\\.\\d+$``."""
    return f"^{re.escape(platform.versioning.tag_prefix)}{lane.pattern}$"


def one_version_criteria(platform: Platform, services: list[str]) -> FreightCreationCriteria | None:
    """Kargo makes automatic freight of the newest tag of each subscription, chosen independently
    (``pkg/controller/warehouses``), so mid-release it would pair one service's new version with another's
    previous one. The criteria hold only when every service's newest tag is the same version; every version
    tags every service (unaffected ones are retagged), so each version's freight is made once all are pushed."""
    if len(services) < 2:
        return None
    first, *others = (f'imageFrom("{platform.registry.image(s)}").Tag' for s in services)
    return FreightCreationCriteria(expression=" and ".join(f"{first} == {other}" for other in others))


def warehouse(platform: Platform, lane: Lane, services: list[str]) -> Warehouse:
    """A Warehouse subscribing to every service's image, taking only the tags of one lane, and making
    freight only of one version for every service."""
    # Kargo's SemVer selection understands an optional leading "v"; any other prefix sorts by build time.
    semver = platform.versioning.tag_prefix in ("", "v")
    return Warehouse(
        metadata=ObjectMeta(name=lane.name, namespace=kargo_project(platform), labels=part_of(platform)),
        spec=WarehouseSpec(
            freight_creation_criteria=one_version_criteria(platform, services),
            subscriptions=[
                Subscription(
                    image=ImageSubscription(
                        repo_url=platform.registry.image(service),
                        image_selection_strategy="SemVer" if semver else "NewestBuild",
                        constraint=CONSTRAINTS[lane.maturity] if semver else None,
                        allow_tags_regexes=[lane_regex(platform, lane)],
                        discovery_limit=20,
                        insecure_skip_tls_verify=True if platform.registry.insecure else None,
                    )
                )
                for service in services
            ],
        ),
    )


def stage(platform: Platform, node: StageNode, services: list[str]) -> Stage:
    """The Stage of one environment: where its freight comes from and how it is promoted."""
    sources = FreightSources(direct=True) if node.upstream is None else FreightSources(stages=[node.upstream])
    annotations = {REQUIRES_STABLE_TAG: "true"} if node.requires_stable_tag else None
    checks = stable_checks(platform, services, node) if node.requires_stable_tag else []
    task_vars = [Var(name="overlay", value=node.name)]
    if node.requires_stable_tag and services:
        # What runs there is the release: the commit records its stable version, as `shipyard promote` does.
        task_vars.append(Var(name="version", value=version_expression(platform, services, stable=True)))
    return Stage(
        metadata=ObjectMeta(
            name=node.name, namespace=kargo_project(platform), labels=part_of(platform), annotations=annotations
        ),
        spec=StageSpec(
            requested_freight=[
                FreightRequest(origin=FreightOrigin(name=lane.name), sources=sources) for lane in LANES[node.origin]
            ],
            promotion_template=PromotionTemplate(
                spec=PromotionTemplateSpec(
                    steps=[*checks, PromotionStep(task=TaskRef(name=PROMOTION_TASK), vars=task_vars)]
                )
            ),
        ),
    )


# The Warehouse of the freight being promoted: a Stage fed by two Warehouses (release and patch betas) holds
# freight of both, and Kargo's imageFrom() refuses to guess which one a repository's image comes from.
TARGET_ORIGIN = "warehouse(ctx.targetFreight.origin.name)"


def stable_checks(platform: Platform, services: list[str], node: StageNode) -> list[PromotionStep]:
    """One ``http`` step per service, before anything is changed: the registry's digest of the release's
    stable tag must be the freight's digest, else the promotion fails (``stable_tag_gate``, on a cluster).

    Harbor answers its artifact API (``GET /api/v2.0/projects/{project}/repositories/{repo}/artifacts/{tag}``,
    the artifact's ``digest``); another registry the distribution API (``HEAD /v2/{name}/manifests/{tag}``,
    the ``Docker-Content-Digest`` header). Anything but that digest fails at once (no tag yet, another
    digest, no access), so a click in Kargo's UI cannot ship a beta that was never tagged stable. The
    credential is ``kargo-registry``'s ``authorization`` key (``Basic`` and base64 of user:password).
    """
    registry = platform.registry
    steps = []
    for service in services:
        tag = stable_tag_expression(platform, service)
        digest = f"${{{{ {image_expression(platform, service, 'Digest')} }}}}"
        scheme = "http" if registry.insecure and registry.kind != "harbor" else "https"
        if registry.kind == "harbor":
            url = (
                f"https://{registry.host}/api/v2.0/projects/{registry.projects.services}/repositories/{service}"
                f"/artifacts/${{{{ {tag} }}}}"
            )
            method: Literal["GET", "HEAD"] = "GET"
            found = "response.body?.digest"
            accept = "application/json"
        else:
            url = f"{scheme}://{registry.host}/v2/{registry.projects.services}/{service}/manifests/${{{{ {tag} }}}}"
            method = "HEAD"
            found = 'response.header("Docker-Content-Digest")'
            accept = ", ".join(MANIFEST_TYPES)
        passed = f'response.status == 200 && {found} == "{digest}"'
        steps.append(
            PromotionStep(
                uses="http",
                as_=f"stable-tag-{service}",
                config=HttpConfig(
                    method=method,
                    url=url,
                    headers=[
                        HttpHeader(name="Accept", value=accept),
                        HttpHeader(
                            name="Authorization", value=f"${{{{ secret('{REGISTRY_CREDENTIAL}').authorization }}}}"
                        ),
                    ],
                    insecure_skip_tls_verify=True if registry.insecure else None,
                    success_expression=passed,
                    failure_expression=f"!({passed})",
                    # Parenthesised: Kargo strips the quotes of a config value that starts and ends with one.
                    error_expression=(
                        f"(\"{node.name} takes {service} only once its digest {digest} carries the release's "
                        f'stable tag ${{{{ {tag} }}}}; that tag names " + ({found} ?? "nothing") + ")")'
                    ),
                ).to_dict(),
            )
        )
    return steps


def stable_tag_expression(platform: Platform, service: str) -> str:
    """A Kargo expression of the release's stable tag (``<prefix>X.Y.Z`` of the freight's ``<prefix>X.Y.Z-beta.N``)."""
    prefix = json.dumps(platform.versioning.tag_prefix)
    tag = image_expression(platform, service, "Tag")
    return f'{prefix} + split(trimPrefix({tag}, {prefix}), "-")[0]'


def image_expression(platform: Platform, service: str, field: str) -> str:
    """A Kargo expression of the promoted freight's image of ``service``: its ``Tag`` or ``Digest``."""
    return f'imageFrom("{platform.registry.image(service)}", {TARGET_ORIGIN}).{field}'


def version_expression(platform: Platform, services: list[str], *, stable: bool) -> str:
    """The version a promotion records: the freight's tag (its first service's by name; a freight's images share
    their version tag), or for a stage that takes only stable versions the release's stable tag
    (``<prefix>X.Y.Z`` of ``<prefix>X.Y.Z-beta.N``)."""
    if not stable:
        return f"${{{{ {image_expression(platform, min(services), 'Tag')} }}}}"
    return f"${{{{ {stable_tag_expression(platform, min(services))} }}}}"


def provenance_expression(platform: Platform, services: list[str]) -> str:
    """A Kargo expression of the ``Shipyard-Source-Commit`` and ``Shipyard-PR`` trailer lines (each led by a
    newline, absent when unknown), read from the OCI annotations Kargo copies from each image into its
    Freight. They come from the first service (by name) whose image was built for the freight's version:
    a service that version did not change keeps an older build, retagged, whose annotations name that build.
    Empty when no image was built for it, as the local executor writes no such trailer without a source."""

    def line(image: str, trailer: str, annotation: str) -> str:
        value = f'{image}.Annotations["{annotation}"]'
        return f'({value} != nil ? "\\n{trailer}: " + {value} : "")'

    chosen = '""'
    for service in sorted(services, reverse=True):
        image = f'imageFrom("{platform.registry.image(service)}", {TARGET_ORIGIN})'
        built = f'{image}.Annotations["{VERSION_ANNOTATION}"] == {image}.Tag'
        commit = line(image, "Shipyard-Source-Commit", REVISION_ANNOTATION)
        chosen = f"{built} ? {commit} + {line(image, 'Shipyard-PR', PR_ANNOTATION)} : {chosen}"
    return chosen


# Kargo records who asked for a promotion as "email:...", "subject:..." (people) or "controller:..." and
# nothing (automatic promotions); the approver is a person.
APPROVER_EXPRESSION = (
    'ctx.meta.promotion.actor != "" && !hasPrefix(ctx.meta.promotion.actor, "controller:") ? '
    '"\\nShipyard-Approved-By: " + trimPrefix(trimPrefix(ctx.meta.promotion.actor, "email:"), "subject:") : ""'
)


def commit_message(platform: Platform, services: list[str]) -> str:
    """The git-commit step's message: kustomize-set-image's summary, then the trailers ``shipyard promote``
    writes, in its order (freight, version, stage, source commit and PR from the images' annotations, the
    approver from Kargo's promotion actor, and a service and digest pair per image), so ``shipyard status``
    and ``trace`` read the promotions Kargo makes like their own."""
    stage_line = "Shipyard-Stage: ${{ ctx.stage }}"
    if services:
        stage_line += f"${{{{ {provenance_expression(platform, services)} }}}}"
    stage_line += f"${{{{ {APPROVER_EXPRESSION} }}}}"
    trailers = [
        "Shipyard-Freight: ${{ ctx.targetFreight.name }}",
        "Shipyard-Version: ${{ vars.version }}",
        stage_line,
    ]
    for service in sorted(services):
        trailers += [
            f"Shipyard-Service: {service}",
            f"Shipyard-Digest: ${{{{ {image_expression(platform, service, 'Digest')} }}}}",
        ]
    summary = f"${{{{ task.outputs['{KustomizeSetImageStep.alias}'].commitMessage }}}}"
    return f"{summary}\n\n" + "\n".join(trailers)


def kargo_inputs(platform: Platform, services: list[str]) -> Inputs:
    """The promotion steps' inputs as Kargo expressions: the task's variables, the freight's digests, the
    commit message template and the commit ``git-commit`` outputs."""
    return Inputs(
        repo_url="${{ vars.repoURL }}",
        branch="${{ vars.branch }}",
        checkout="./out",
        overlay="${{ vars.overlay }}",
        images=tuple(
            KustomizeImage(
                image=platform.registry.image(service),
                digest=f"${{{{ {image_expression(platform, service, 'Digest')} }}}}",
            )
            for service in services
        ),
        message=commit_message(platform, services),
        apps=tuple(application_name(service, "${{ vars.overlay }}") for service in services),
    )


def promotion_task(platform: Platform, services: list[str]) -> PromotionTask:
    """The registry's steps (git-clone -> kustomize-set-image by digest -> git-commit -> git-push ->
    argocd-update), with Kargo expressions for their values."""
    repo = config_repo_url(platform)
    inputs = kargo_inputs(platform, services)
    steps = [step.to_kargo(inputs) for step in PROMOTION_STEPS]
    return PromotionTask(
        metadata=ObjectMeta(name=PROMOTION_TASK, namespace=kargo_project(platform), labels=part_of(platform)),
        spec=PromotionTaskSpec(
            vars=[
                Var(name="repoURL", value=repo),
                Var(name="branch", value=BRANCH),
                Var(name="overlay"),
                Var(name="version", value=version_expression(platform, services, stable=False) if services else None),
            ],
            steps=steps,
        ),
    )
