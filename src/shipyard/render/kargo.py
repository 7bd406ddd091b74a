"""Kargo: the stage graph as a Project, its ProjectConfig, a Warehouse per maturity, a Stage per
promoted environment and the PromotionTask they share.

What Kargo cannot express of the production rule: production takes the freight that passed
preprod (a Stage source, which Kargo enforces) only once every image digest of that freight also
carries the release's stable tag. Kargo freight is matched by origin Warehouse, and nothing in a
Stage or a promotion step can ask whether a digest of one Warehouse's freight has also been tagged
in another. So the Stage requests beta freight verified in preprod, production is never
auto-promoted, and the stable-tag condition is checked by ``shipyard promote`` (which reads the same
stage graph) and marked on the Stage with the ``shipyard.dev/requires-stable-tag`` annotation.
"""

from __future__ import annotations

import json
import re

from shipyard.configrepo.location import BRANCH
from shipyard.k8s.argocd import application_name
from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import (
    ExternalSecret,
    ExternalSecretTemplate,
    SecretTemplateMeta,
)
from shipyard.k8s.kargo import (
    FreightOrigin,
    FreightRequest,
    FreightSources,
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
from shipyard.promotion.steps import PROMOTION_STEPS, GitCommitStep, Inputs, KustomizeSetImageStep
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
REQUIRES_STABLE_TAG = "shipyard.dev/requires-stable-tag"
_VERSION = r"\d+\.\d+\.\d+"
# The tag of each maturity, as the versioning rules write it (the prefix is added per platform).
TAG_PATTERNS = {
    Maturity.alpha: rf"{_VERSION}-alpha\.\d{{14}}",
    Maturity.beta: rf"{_VERSION}-beta\.\d+",
    Maturity.stable: _VERSION,
}
# SemVer constraints: prereleases are only considered when the constraint itself has one.
CONSTRAINTS = {Maturity.alpha: ">=0.0.0-0", Maturity.beta: ">=0.0.0-0", Maturity.stable: ">=0.0.0"}


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
        for maturity in graph.warehouses:
            files[f"kargo/warehouses/{maturity.value}.yaml"] = yaml_of(warehouse(platform, maturity, services))
    for node in graph.stages:
        files[f"kargo/stages/{node.name}.yaml"] = yaml_of(stage(platform, node, services))
    if platform.secrets.store:
        files["kargo/credentials.yaml"] = yaml_of(*credentials(platform))
    return files


def credentials(platform: Platform) -> list[ExternalSecret]:
    """Kargo's git (push to the config repo) and registry (read image tags) credentials, from the store.

    Kargo finds credentials by the ``kargo.akuity.io/cred-type`` label and the ``repoURL`` key; the
    secret parts come from the store, never from git.
    """
    return [
        store_secret(
            platform,
            name,
            name,
            {"username": "username", "password": "password"},
            namespace=kargo_project(platform),
            template=ExternalSecretTemplate(
                metadata=SecretTemplateMeta(labels={"kargo.akuity.io/cred-type": cred_type}),
                data={"repoURL": repo_url, "username": "{{ .username }}", "password": "{{ .password }}"},
            ),
        )
        for name, cred_type, repo_url in (
            ("kargo-git", "git", config_repo_url(platform)),
            ("kargo-registry", "image", platform.registry.host),
        )
    ]


def tag_regex(platform: Platform, maturity: Maturity) -> str:
    """The regular expression of a maturity's version tags, e.g. ``^v\\d+\\.\\d+\\.\\d+-beta\\.\\d+$``."""
    return f"^{re.escape(platform.versioning.tag_prefix)}{TAG_PATTERNS[maturity]}$"


def warehouse(platform: Platform, maturity: Maturity, services: list[str]) -> Warehouse:
    """A Warehouse subscribing to every service's image, taking only tags of one maturity."""
    # Kargo's SemVer selection understands an optional leading "v"; any other prefix sorts by build time.
    semver = platform.versioning.tag_prefix in ("", "v")
    return Warehouse(
        metadata=ObjectMeta(name=maturity.value, namespace=kargo_project(platform), labels=part_of(platform)),
        spec=WarehouseSpec(
            subscriptions=[
                Subscription(
                    image=ImageSubscription(
                        repo_url=platform.registry.image(service),
                        image_selection_strategy="SemVer" if semver else "NewestBuild",
                        constraint=CONSTRAINTS[maturity] if semver else None,
                        allow_tags_regexes=[tag_regex(platform, maturity)],
                        discovery_limit=20,
                        insecure_skip_tls_verify=True if platform.registry.insecure else None,
                    )
                )
                for service in services
            ]
        ),
    )


def stage(platform: Platform, node: StageNode, services: list[str]) -> Stage:
    """The Stage of one environment: where its freight comes from and how it is promoted."""
    sources = FreightSources(direct=True) if node.upstream is None else FreightSources(stages=[node.upstream])
    annotations = {REQUIRES_STABLE_TAG: "true"} if node.requires_stable_tag else None
    task_vars = [Var(name="overlay", value=node.name)]
    if node.requires_stable_tag and services:
        # What runs there is the release: the commit records its stable version, as `shipyard promote` does.
        task_vars.append(Var(name="version", value=version_expression(platform, services, stable=True)))
    return Stage(
        metadata=ObjectMeta(
            name=node.name, namespace=kargo_project(platform), labels=part_of(platform), annotations=annotations
        ),
        spec=StageSpec(
            requested_freight=[FreightRequest(origin=FreightOrigin(name=node.origin.value), sources=sources)],
            promotion_template=PromotionTemplate(
                spec=PromotionTemplateSpec(
                    steps=[
                        PromotionStep(
                            task=TaskRef(name=PROMOTION_TASK),
                            vars=task_vars,
                        )
                    ]
                )
            ),
        ),
    )


def image_expression(platform: Platform, service: str, field: str) -> str:
    """A Kargo expression of the freight's image of ``service``: its ``Tag`` or ``Digest``."""
    return f'imageFrom("{platform.registry.image(service)}").{field}'


def version_expression(platform: Platform, services: list[str], *, stable: bool) -> str:
    """The version a promotion records: the freight's tag (its first service's by name; a freight's images share
    their version tag), or for a stage that takes only stable versions the release's stable tag
    (``<prefix>X.Y.Z`` of ``<prefix>X.Y.Z-beta.N``)."""
    tag = image_expression(platform, min(services), "Tag")
    if not stable:
        return f"${{{{ {tag} }}}}"
    prefix = json.dumps(platform.versioning.tag_prefix)
    return f'${{{{ {prefix} + split(trimPrefix({tag}, {prefix}), "-")[0] }}}}'


def commit_message(platform: Platform, services: list[str]) -> str:
    """The git-commit step's message: kustomize-set-image's summary, then the trailers ``shipyard promote``
    writes (freight, version, stage, and a service and digest pair per image), so ``shipyard status`` and
    ``trace`` read the promotions Kargo makes like their own."""
    trailers = [
        "Shipyard-Freight: ${{ ctx.targetFreight.name }}",
        "Shipyard-Version: ${{ vars.version }}",
        "Shipyard-Stage: ${{ ctx.stage }}",
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
    commit = f"${{{{ task.outputs.{GitCommitStep.alias}.commit }}}}"
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
        revision=commit,
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
