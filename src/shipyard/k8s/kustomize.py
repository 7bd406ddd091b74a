"""Typed Kustomization files. There is deliberately no ``commonLabels``: it rewrites selectors, which
breaks Deployments already running; ``labels`` with ``includeSelectors: false`` is the safe form."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shipyard.k8s.base import K8sModel


class PatchTarget(K8sModel):
    """Which objects a patch applies to."""

    kind: str
    name: str
    group: str | None = None
    version: str | None = None


class Patch(K8sModel):
    """A strategic-merge or JSON6902 patch: in a file next to the kustomization (``path``) or inline (``patch``)."""

    path: str | None = None
    patch: str | None = None
    target: PatchTarget | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Patch:
        if (self.path is None) == (self.patch is None):
            raise ValueError("a kustomize patch is either a file (path) or inline text (patch), exactly one of them")
        return self


UNPROMOTED_DIGEST = "sha256:" + "0" * 64
"""The digest a base names its service's image by until a promotion pins a real one: no content hashes to it, so
a pod of a service never promoted to an environment pulls nothing and runs nothing (never a moving tag).
Kustomize's ``images:`` matches an image by name whatever its tag or digest, and replaces both."""


class Image(K8sModel):
    """An image override: the promotable state (a digest; a tag only in previews, which run a pull request's build)."""

    name: str
    new_name: str | None = None
    new_tag: str | None = None
    digest: str | None = None


class Labels(K8sModel):
    """Labels added to every object, never to selectors."""

    pairs: dict[str, str]
    include_selectors: Literal[False] = False
    include_templates: bool | None = None


class Kustomization(K8sModel):
    """kustomize.config.k8s.io/v1beta1 Kustomization."""

    api_version: Literal["kustomize.config.k8s.io/v1beta1"] = "kustomize.config.k8s.io/v1beta1"
    kind: Literal["Kustomization"] = "Kustomization"
    namespace: str | None = None
    labels: list[Labels] | None = None
    resources: list[str] | None = None
    configurations: list[str] | None = None
    components: list[str] | None = None
    images: list[Image] | None = None
    patches: list[Patch] | None = None


class Component(K8sModel):
    """kustomize.config.k8s.io/v1alpha1 Component: transformations a Kustomization includes with ``components:``,
    applied to the including kustomization's resources. Each environment's ``images:`` live in one."""

    api_version: Literal["kustomize.config.k8s.io/v1alpha1"] = "kustomize.config.k8s.io/v1alpha1"
    kind: Literal["Component"] = "Component"
    images: list[Image] = Field(default_factory=list)


class FieldSpec(K8sModel):
    """A field of a kind that a kustomize transformer visits."""

    kind: str
    group: str | None = None
    version: str | None = None
    path: str


class NameReference(K8sModel):
    """Objects of ``kind`` whose names are referenced from the given fields (renamed together)."""

    kind: str
    version: str | None = None
    group: str | None = None
    field_specs: list[FieldSpec]


class TransformerConfig(K8sModel):
    """A ``configurations:`` file: teaches kustomize where a custom kind refers to other objects by name."""

    name_reference: list[NameReference]
