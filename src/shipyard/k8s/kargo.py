"""Typed Kargo v1.11 objects. Only current field names exist here: there is no ``allowTags``,
``ignoreTags``, ``semverConstraint`` or ``Project.spec`` to misuse, because the models reject them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shipyard.k8s.base import K8sModel, ObjectMeta

KARGO_API: Literal["kargo.akuity.io/v1alpha1"] = "kargo.akuity.io/v1alpha1"
AUTHORIZED_STAGE = "kargo.akuity.io/authorized-stage"


class Project(K8sModel):
    """A Kargo Project (its namespace holds the Warehouses, Stages and tasks). It has no spec."""

    api_version: Literal["kargo.akuity.io/v1alpha1"] = KARGO_API
    kind: Literal["Project"] = "Project"
    metadata: ObjectMeta


class StageSelector(K8sModel):
    """Which Stage a promotion policy applies to."""

    name: str


class PromotionPolicy(K8sModel):
    """Whether new Freight is promoted into a Stage without a person."""

    stage_selector: StageSelector
    auto_promotion_enabled: bool


class ProjectConfigSpec(K8sModel):
    """ProjectConfig spec."""

    promotion_policies: list[PromotionPolicy]


class ProjectConfig(K8sModel):
    """Project-wide settings; must be named like its Project."""

    api_version: Literal["kargo.akuity.io/v1alpha1"] = KARGO_API
    kind: Literal["ProjectConfig"] = "ProjectConfig"
    metadata: ObjectMeta
    spec: ProjectConfigSpec


class ImageSubscription(K8sModel):
    """Watch an image repository for tags matching the versioning rules."""

    repo_url: str = Field(alias="repoURL")
    image_selection_strategy: Literal["SemVer", "NewestBuild", "Lexical", "Digest"]
    constraint: str | None = None
    allow_tags_regexes: list[str]
    ignore_tags_regexes: list[str] | None = None
    strict_semvers: bool | None = None
    discovery_limit: int | None = Field(default=None, ge=1, le=100)
    insecure_skip_tls_verify: bool | None = None


class Subscription(K8sModel):
    """One artifact source of a Warehouse."""

    image: ImageSubscription


class FreightCreationCriteria(K8sModel):
    """An expression over the newest discovered artifacts that must hold for automatic freight (v1.11)."""

    expression: str


class WarehouseSpec(K8sModel):
    """Warehouse spec."""

    interval: str = "5m0s"
    freight_creation_policy: Literal["Automatic", "Manual"] = "Automatic"
    freight_creation_criteria: FreightCreationCriteria | None = None
    subscriptions: list[Subscription] = Field(min_length=1)


class Warehouse(K8sModel):
    """Produces Freight: the platform's collection of images of one maturity."""

    api_version: Literal["kargo.akuity.io/v1alpha1"] = KARGO_API
    kind: Literal["Warehouse"] = "Warehouse"
    metadata: ObjectMeta
    spec: WarehouseSpec


class FreightOrigin(K8sModel):
    """The Warehouse Freight must come from."""

    kind: Literal["Warehouse"] = "Warehouse"
    name: str


class FreightSources(K8sModel):
    """Where a Stage may take Freight from: straight from the Warehouse, or after upstream Stages."""

    direct: bool | None = None
    stages: list[str] | None = None
    required_soak_time: str | None = None


class FreightRequest(K8sModel):
    """A Stage's need for Freight of one origin."""

    origin: FreightOrigin
    sources: FreightSources


class Var(K8sModel):
    """A named value for promotion steps."""

    name: str
    value: str | None = None


class TaskRef(K8sModel):
    """A PromotionTask a step runs."""

    kind: Literal["PromotionTask", "ClusterPromotionTask"] = "PromotionTask"
    name: str


class PromotionStep(K8sModel):
    """A step: a built-in ``uses`` with its ``config``, or a ``task`` with ``vars``."""

    uses: str | None = None
    as_: str | None = Field(default=None, alias="as")
    task: TaskRef | None = None
    vars: list[Var] | None = None
    config: dict[str, Any] | None = None


class PromotionTemplateSpec(K8sModel):
    """The steps a promotion into a Stage runs."""

    steps: list[PromotionStep]


class PromotionTemplate(K8sModel):
    """Promotion template of a Stage."""

    spec: PromotionTemplateSpec


class StageSpec(K8sModel):
    """Stage spec."""

    requested_freight: list[FreightRequest] = Field(min_length=1)
    promotion_template: PromotionTemplate


class Stage(K8sModel):
    """A promotion target (one environment)."""

    api_version: Literal["kargo.akuity.io/v1alpha1"] = KARGO_API
    kind: Literal["Stage"] = "Stage"
    metadata: ObjectMeta
    spec: StageSpec


class PromotionTaskSpec(K8sModel):
    """PromotionTask spec."""

    vars: list[Var] | None = None
    steps: list[PromotionStep]


class PromotionTask(K8sModel):
    """Reusable promotion steps shared by the Stages."""

    api_version: Literal["kargo.akuity.io/v1alpha1"] = KARGO_API
    kind: Literal["PromotionTask"] = "PromotionTask"
    metadata: ObjectMeta
    spec: PromotionTaskSpec


# Configs of the built-in promotion steps Shipyard uses (validated again against Kargo's own schemas).


class GitCheckout(K8sModel):
    """A branch checked out at a path."""

    branch: str
    path: str


class GitCloneConfig(K8sModel):
    """``git-clone``."""

    repo_url: str = Field(alias="repoURL")
    checkout: list[GitCheckout] = Field(min_length=1)


class KustomizeImage(K8sModel):
    """One image of ``kustomize-set-image``, always by digest (build once, promote by digest)."""

    image: str
    digest: str


class KustomizeSetImageConfig(K8sModel):
    """``kustomize-set-image``."""

    path: str
    images: list[KustomizeImage]


class GitCommitConfig(K8sModel):
    """``git-commit``."""

    path: str
    message: str


class GitPushConfig(K8sModel):
    """``git-push``."""

    path: str
    target_branch: str


class HttpHeader(K8sModel):
    """A request header of the ``http`` step."""

    name: str
    value: str


class HttpConfig(K8sModel):
    """``http``: one request, and expressions over its response that pass or fail the step."""

    method: Literal["GET", "HEAD"] = "GET"
    url: str
    headers: list[HttpHeader] | None = None
    insecure_skip_tls_verify: bool | None = Field(default=None, alias="insecureSkipTLSVerify")
    success_expression: str
    failure_expression: str
    error_expression: str | None = None


class ArgoCDAppUpdate(K8sModel):
    """One Application ``argocd-update`` syncs. It names no source and no ``desiredRevision``: the
    Applications track the config repo's shared branch, where an exact desired commit would make the
    Stage unhealthy as soon as another writer pushes (see ``promotion.steps.ArgoCDUpdateStep``)."""

    name: str
    namespace: str


class ArgoCDUpdateConfig(K8sModel):
    """``argocd-update``."""

    apps: list[ArgoCDAppUpdate] = Field(min_length=1)
