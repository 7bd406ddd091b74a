"""The ``tekton`` render target: the monorepo's ``tekton/`` folder, assembled from the Tasks, Pipelines,
triggers and RBAC, with a kustomization listing them all."""

from __future__ import annotations

from shipyard.k8s.yaml import dump, dump_all
from shipyard.render.tekton.pipelines import render_pipelines
from shipyard.render.tekton.rbac import rbac_objects
from shipyard.render.tekton.routes import ROUTES
from shipyard.render.tekton.tasks import render_tasks
from shipyard.render.tekton.triggers import binding, listener, template
from shipyard.render.writer import with_header
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

# The ownership header every owned file carries: the render writer owns (and cleans up) these files.
HEADER = with_header("x.yaml", "")


def render_tekton(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """The files of ``tekton/`` (relative path -> text), deterministic for the same platform.

    The workspace is not read at render time: which services a run builds is decided in the run, by
    ``shipyard affected``, so adding a service never needs a re-render of the pipelines.
    """
    del workspace  # the same pipelines serve any set of services; see the docstring
    files: dict[str, str] = {}
    for task in render_tasks(platform):
        files[f"tekton/tasks/{task.metadata.name}.yaml"] = HEADER + dump(task.to_dict())
    pipelines = {p.metadata.name: p for p in render_pipelines(platform)}
    for name, pipeline in pipelines.items():
        files[f"tekton/pipelines/{name}.yaml"] = HEADER + dump(pipeline.to_dict())
    for route in ROUTES:
        docs = [binding(route).to_dict(), template(route, pipelines[route.pipeline]).to_dict()]
        files[f"tekton/triggers/{route.pipeline}.yaml"] = HEADER + dump_all(docs)
    files["tekton/triggers/event-listener.yaml"] = HEADER + dump(listener().to_dict())
    files["tekton/rbac.yaml"] = HEADER + dump_all(obj.to_dict() for obj in rbac_objects())
    resources = sorted(path.removeprefix("tekton/") for path in files)
    files["tekton/kustomization.yaml"] = HEADER + dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    )
    return dict(sorted(files.items()))
