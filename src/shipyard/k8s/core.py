"""Typed models of the built-in Kubernetes objects Shipyard emits (only the fields it sets).

Unknown fields are rejected at construction, so a misspelt field cannot reach a rendered file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shipyard.k8s.base import K8sModel, ObjectMeta


class LocalObjectReference(K8sModel):
    """A reference to an object in the same namespace by name."""

    name: str


class SecretKeySelector(K8sModel):
    """One key of a Secret: how credentials are referenced, never copied."""

    name: str
    key: str


class EnvVarSource(K8sModel):
    """Where an environment variable's value comes from."""

    secret_key_ref: SecretKeySelector | None = None


class EnvVar(K8sModel):
    """An environment variable of a container."""

    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class EnvFromSource(K8sModel):
    """A ConfigMap or Secret whose keys all become environment variables."""

    config_map_ref: LocalObjectReference | None = None
    secret_ref: LocalObjectReference | None = None


class ContainerPort(K8sModel):
    """A port a container listens on."""

    name: str | None = None
    container_port: int
    protocol: Literal["TCP", "UDP"] | None = None


class ResourceRequirements(K8sModel):
    """Requests and limits of a container."""

    requests: dict[str, str] | None = None
    limits: dict[str, str] | None = None


class VolumeMount(K8sModel):
    """Where a volume appears in a container."""

    name: str
    mount_path: str
    read_only: bool | None = None


class ExecAction(K8sModel):
    """A command run in the container; exit status 0 is success."""

    command: list[str]


class HTTPGetAction(K8sModel):
    """An HTTP GET against the container; a 2xx or 3xx answer is success."""

    path: str
    port: int | str


class Probe(K8sModel):
    """A check the kubelet runs against a container: a command, or an HTTP GET."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    initial_delay_seconds: int | None = None
    period_seconds: int | None = None
    timeout_seconds: int | None = None
    failure_threshold: int | None = None


class Capabilities(K8sModel):
    """Linux capabilities added to or dropped from a container."""

    drop: list[str] | None = None


class SeccompProfile(K8sModel):
    """The seccomp filter a pod or container runs under."""

    type: Literal["RuntimeDefault", "Localhost", "Unconfined"]


class SecurityContext(K8sModel):
    """What a container may do; only image builds need more than the default."""

    privileged: bool | None = None
    run_as_user: int | None = None
    run_as_non_root: bool | None = None
    allow_privilege_escalation: bool | None = None
    read_only_root_filesystem: bool | None = None
    capabilities: Capabilities | None = None


class PodSecurityContext(K8sModel):
    """Who a pod's processes run as, and the owner of the volumes it mounts."""

    run_as_non_root: bool | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    fs_group: int | None = None
    seccomp_profile: SeccompProfile | None = None
    fs_group_change_policy: Literal["OnRootMismatch", "Always"] | None = None
    supplemental_groups: list[int] | None = None


class Container(K8sModel):
    """One container of a pod."""

    name: str
    image: str
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    ports: list[ContainerPort] | None = None
    env_from: list[EnvFromSource] | None = None
    env: list[EnvVar] | None = None
    resources: ResourceRequirements | None = None
    volume_mounts: list[VolumeMount] | None = None
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    security_context: SecurityContext | None = None


class ConfigMapVolumeSource(K8sModel):
    """A ConfigMap mounted as files."""

    name: str


class EmptyDirVolumeSource(K8sModel):
    """A scratch directory that lives and dies with the pod (``Memory``: never written to a disk)."""

    medium: Literal["Memory"] | None = None


class SecretVolumeSource(K8sModel):
    """A Secret, referenced by name, mounted as files (its values never appear in what Shipyard renders)."""

    secret_name: str
    default_mode: int | None = None


class PersistentVolumeClaimVolumeSource(K8sModel):
    """A PersistentVolumeClaim mounted as a volume."""

    claim_name: str


class Volume(K8sModel):
    """A pod volume: a ConfigMap or a scratch directory (Shipyard mounts no secrets it did not reference by name)."""

    name: str
    config_map: ConfigMapVolumeSource | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None


class PodSpec(K8sModel):
    """The parts of a pod spec Shipyard sets."""

    service_account_name: str | None = None
    automount_service_account_token: bool | None = None
    restart_policy: Literal["Always", "OnFailure", "Never"] | None = None
    security_context: PodSecurityContext | None = None
    init_containers: list[Container] | None = None
    containers: list[Container]
    volumes: list[Volume] | None = None


class TemplateMeta(K8sModel):
    """Metadata of a pod template."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class PodTemplateSpec(K8sModel):
    """A pod template."""

    metadata: TemplateMeta | None = None
    spec: PodSpec


class LabelSelector(K8sModel):
    """Select objects by exact labels."""

    match_labels: dict[str, str]


class RollingUpdateDeployment(K8sModel):
    """How far a rolling update may go over and under the desired replicas."""

    max_surge: str | int
    max_unavailable: str | int


class DeploymentStrategy(K8sModel):
    """Recreate or RollingUpdate."""

    type: Literal["Recreate", "RollingUpdate"]
    rolling_update: RollingUpdateDeployment | None = None


class DeploymentSpec(K8sModel):
    """Deployment spec."""

    replicas: int | None = None
    selector: LabelSelector
    strategy: DeploymentStrategy | None = None
    template: PodTemplateSpec


class Deployment(K8sModel):
    """apps/v1 Deployment."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    metadata: ObjectMeta
    spec: DeploymentSpec


class StatefulSetSpec(K8sModel):
    """StatefulSet spec."""

    service_name: str
    replicas: int | None = None
    selector: LabelSelector
    template: PodTemplateSpec


class StatefulSet(K8sModel):
    """apps/v1 StatefulSet."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["StatefulSet"] = "StatefulSet"
    metadata: ObjectMeta
    spec: StatefulSetSpec


class ServicePort(K8sModel):
    """A port of a Service (``protocol=None`` leaves it to the API server's default, TCP)."""

    name: str
    port: int
    target_port: int | str
    protocol: Literal["TCP", "UDP"] | None = "TCP"


class ServiceSpec(K8sModel):
    """Service spec."""

    selector: dict[str, str]
    ports: list[ServicePort]


class Service(K8sModel):
    """v1 Service."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    metadata: ObjectMeta
    spec: ServiceSpec


class VolumeResources(K8sModel):
    """The storage a claim asks for."""

    requests: dict[str, str]


class PersistentVolumeClaimSpec(K8sModel):
    """How a claim's volume may be mounted, and how large it is."""

    access_modes: list[Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]]
    resources: VolumeResources


class PersistentVolumeClaim(K8sModel):
    """Storage that outlives a pod."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolumeClaim"] = "PersistentVolumeClaim"
    metadata: ObjectMeta
    spec: PersistentVolumeClaimSpec


class ConfigMap(K8sModel):
    """v1 ConfigMap (configuration only; credentials are always Secret references)."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    metadata: ObjectMeta
    data: dict[str, str]


class Namespace(K8sModel):
    """v1 Namespace."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"
    metadata: ObjectMeta


class ServiceBackendPort(K8sModel):
    """A Service port by number."""

    number: int


class IngressServiceBackend(K8sModel):
    """The Service an ingress path sends traffic to."""

    name: str
    port: ServiceBackendPort


class IngressBackend(K8sModel):
    """An ingress backend."""

    service: IngressServiceBackend


class HTTPIngressPath(K8sModel):
    """One path of an ingress rule."""

    path: str
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"]
    backend: IngressBackend


class HTTPIngressRuleValue(K8sModel):
    """The paths of an ingress rule."""

    paths: list[HTTPIngressPath]


class IngressRule(K8sModel):
    """A host and its paths."""

    host: str
    http: HTTPIngressRuleValue

    @classmethod
    def to_service(cls, host: str, service: str, port: int = 80) -> IngressRule:
        """All of ``host`` (every path under ``/``) sent to a Service's port."""
        backend = IngressBackend(service=IngressServiceBackend(name=service, port=ServiceBackendPort(number=port)))
        return cls(
            host=host, http=HTTPIngressRuleValue(paths=[HTTPIngressPath(path="/", path_type="Prefix", backend=backend)])
        )


class IngressTLS(K8sModel):
    """TLS for hosts, the certificate in a Secret referenced by name."""

    hosts: list[str]
    secret_name: str | None = None
    """None: the ingress controller's default certificate (ingress-nginx's ``--default-ssl-certificate``)."""


class IngressSpec(K8sModel):
    """Ingress spec."""

    ingress_class_name: str
    tls: list[IngressTLS] | None = None
    rules: list[IngressRule]


class Ingress(K8sModel):
    """networking.k8s.io/v1 Ingress."""

    api_version: Literal["networking.k8s.io/v1"] = "networking.k8s.io/v1"
    kind: Literal["Ingress"] = "Ingress"
    metadata: ObjectMeta
    spec: IngressSpec


class JobSpec(K8sModel):
    """batch/v1 JobSpec."""

    backoff_limit: int | None = None
    active_deadline_seconds: int | None = None
    template: PodTemplateSpec


class Job(K8sModel):
    """batch/v1 Job."""

    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["Job"] = "Job"
    metadata: ObjectMeta
    spec: JobSpec


class JobTemplateSpec(K8sModel):
    """The Job a CronJob creates."""

    spec: JobSpec


class CronJobSpec(K8sModel):
    """CronJob spec."""

    schedule: str
    time_zone: str | None = None
    suspend: bool | None = None
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] | None = None
    successful_jobs_history_limit: int | None = None
    failed_jobs_history_limit: int | None = None
    job_template: JobTemplateSpec


class CronJob(K8sModel):
    """batch/v1 CronJob."""

    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["CronJob"] = "CronJob"
    metadata: ObjectMeta
    spec: CronJobSpec


class ServiceAccount(K8sModel):
    """v1 ServiceAccount."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["ServiceAccount"] = "ServiceAccount"
    metadata: ObjectMeta
    automount_service_account_token: bool | None = None


class PolicyRule(K8sModel):
    """What a Role allows: verbs on resources of API groups (``""`` is the core group), optionally by name."""

    api_groups: list[str]
    resources: list[str]
    resource_names: list[str] | None = None
    verbs: list[str]


class Role(K8sModel):
    """rbac.authorization.k8s.io/v1 Role."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["Role"] = "Role"
    metadata: ObjectMeta
    rules: list[PolicyRule]


class RoleRef(K8sModel):
    """The (Cluster)Role a binding grants."""

    api_group: Literal["rbac.authorization.k8s.io"] = "rbac.authorization.k8s.io"
    kind: Literal["Role", "ClusterRole"] = "Role"
    name: str


class Subject(K8sModel):
    """Who a binding grants the role to (the namespace is needed by a ClusterRoleBinding's subjects)."""

    kind: Literal["ServiceAccount"] = "ServiceAccount"
    name: str
    namespace: str | None = None


class RoleBinding(K8sModel):
    """rbac.authorization.k8s.io/v1 RoleBinding or ClusterRoleBinding."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["RoleBinding", "ClusterRoleBinding"] = "RoleBinding"
    metadata: ObjectMeta
    role_ref: RoleRef
    subjects: list[Subject]


class SecretTemplateMeta(K8sModel):
    """Labels and annotations of the Secret an ExternalSecret creates."""

    labels: dict[str, str] | None = None


class ExternalSecretTemplate(K8sModel):
    """The shape of the created Secret: labels, and keys mixing fixed text with fetched values."""

    engine_version: Literal["v2"] = "v2"
    type: str | None = None
    metadata: SecretTemplateMeta | None = None
    data: dict[str, str] | None = None


class ExternalSecretTarget(K8sModel):
    """The Secret an ExternalSecret creates."""

    name: str
    creation_policy: Literal["Owner", "Orphan", "Merge", "None"] = "Owner"
    template: ExternalSecretTemplate | None = None


class SecretStoreRef(K8sModel):
    """The secret store that holds the values."""

    name: str
    kind: Literal["SecretStore", "ClusterSecretStore"] = "ClusterSecretStore"


class ExternalSecretRemoteRef(K8sModel):
    """Where in the store a value is."""

    key: str
    property: str | None = None


class ExternalSecretData(K8sModel):
    """One key of the target Secret and where its value comes from."""

    secret_key: str
    remote_ref: ExternalSecretRemoteRef


class ExternalSecretSpec(K8sModel):
    """ExternalSecret spec."""

    refresh_interval: str = "1h"
    secret_store_ref: SecretStoreRef
    target: ExternalSecretTarget
    data: list[ExternalSecretData] = Field(min_length=1)


class ExternalSecret(K8sModel):
    """external-secrets.io/v1 ExternalSecret: a Secret whose values come from a store, never from git."""

    api_version: Literal["external-secrets.io/v1"] = "external-secrets.io/v1"
    kind: Literal["ExternalSecret"] = "ExternalSecret"
    metadata: ObjectMeta
    spec: ExternalSecretSpec


class ContainerPatch(K8sModel):
    """The parts of a container an overlay changes (matched by name)."""

    name: str
    env: list[EnvVar]


class PodSpecPatch(K8sModel):
    """The containers an overlay changes."""

    containers: list[ContainerPatch]


class PodTemplatePatch(K8sModel):
    """The pod template an overlay changes."""

    spec: PodSpecPatch


class DeploymentSpecPatch(K8sModel):
    """What an overlay changes in a Deployment."""

    replicas: int
    strategy: DeploymentStrategy | None = None
    template: PodTemplatePatch


class PatchMeta(K8sModel):
    """Identifies the object a strategic-merge patch applies to."""

    name: str


class DeploymentPatch(K8sModel):
    """A strategic-merge patch of a Deployment."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    metadata: PatchMeta
    spec: DeploymentSpecPatch
