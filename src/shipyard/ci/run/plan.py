"""A PipelineRun made ready to execute, as data: the Pipeline and its Tasks checked the way Tekton checks them
at admission and before the first TaskRun (names, references, params, workspaces, no cycles), the params with
their defaults, where each workspace lives on this machine, and the order the tasks run in.

Tekton runs independent tasks at the same time; ``ci run`` runs them one at a time, in ``order``. ``levels``
shows what Tekton could run together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.ci.run.catalog import Catalog
from shipyard.ci.run.durations import parse_duration
from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature
from shipyard.ci.run.variables import TOKEN, Ref, Value, references
from shipyard.k8s.tekton import Param, ParamSpec, Pipeline, PipelineTask, Task

DEFAULT_TIMEOUT = 3600.0  # Tekton's default-timeout-minutes (60), for the PipelineRun and for each TaskRun
MAX_MATRIX_COMBINATIONS = 256  # Tekton's default-max-matrix-combinations-count
PIPELINE_CONTEXT = ("context.pipelineRun.name", "context.pipelineRun.namespace", "context.pipelineRun.uid")
PIPELINE_CONTEXT_ALL = (*PIPELINE_CONTEXT, "context.pipeline.name", "context.pipelineTask.retries")
TASK_CONTEXT = ("context.taskRun.name", "context.taskRun.namespace", "context.taskRun.uid", "context.task.name")


@dataclass(frozen=True)
class RunRequest:
    """What a PipelineRun asks for: the Pipeline, param values, and its workspaces (name -> kind of volume)."""

    name: str
    pipeline: str
    params: dict[str, Value] = field(default_factory=dict)
    workspaces: dict[str, str] = field(default_factory=dict)
    namespace: str = "default"
    trigger: str | None = None
    pod_settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkspaceSource:
    """Where a Pipeline workspace lives here: a folder, or nothing for an optional workspace left unbound."""

    name: str
    path: Path | None
    origin: str


@dataclass(frozen=True)
class TaskNode:
    """One pipeline task with its Task and what it waits for (runAfter and the tasks whose results it reads)."""

    name: str
    pipeline_task: PipelineTask
    task: Task
    deps: tuple[str, ...]
    is_finally: bool
    where: str

    @property
    def matrixed(self) -> bool:
        """True when the task fans out (Tekton's ``IsMatrixed``)."""
        matrix = self.pipeline_task.matrix
        return matrix is not None and bool(matrix.params or matrix.include)


@dataclass(frozen=True)
class ExecutionPlan:
    """Everything ``ci run`` needs to execute one PipelineRun, decided before anything runs."""

    request: RunRequest
    pipeline: Pipeline
    params: dict[str, Value]
    workspaces: dict[str, WorkspaceSource]
    nodes: dict[str, TaskNode]
    order: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    finally_tasks: tuple[str, ...]
    directory: Path
    uid: str
    timeout: float = DEFAULT_TIMEOUT

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON data (camelCase keys), for ``--dry-run --json``."""
        return {
            "name": self.request.name,
            "pipeline": self.pipeline.metadata.name,
            "trigger": self.request.trigger,
            "params": self.params,
            "workspaces": {
                w.name: {"path": str(w.path) if w.path else None, "origin": w.origin} for w in self.workspaces.values()
            },
            "order": list(self.order),
            "parallelLevels": [list(level) for level in self.levels],
            "finally": list(self.finally_tasks),
            "directory": str(self.directory),
            "ignoredPodSettings": list(self.request.pod_settings),
        }


def param_type(spec: ParamSpec) -> str:
    """Tekton's default: a param without a type is an array when its default is one, else a string."""
    return spec.type or ("array" if isinstance(spec.default, list) else "string")


def pipeline_task_texts(pt: PipelineTask) -> list[str]:
    """Every string of a pipeline task Tekton substitutes: params, matrix params, when input and values."""
    texts: list[str] = []

    def add(params: list[Param] | None) -> None:
        for p in params or []:
            texts.extend([p.value] if isinstance(p.value, str) else p.value)

    add(pt.params)
    if pt.matrix:
        add(pt.matrix.params)
        for include in pt.matrix.include or []:
            add(include.params)
    for when in pt.when or []:
        texts.append(when.input)
        texts.extend(when.values)
    return texts


def _array_positions(pt: PipelineTask) -> list[tuple[str, bool]]:
    # (text, may it become an array): a param value or item, a matrix param, a when value may; the rest not.
    out: list[tuple[str, bool]] = []
    for params in (pt.params, pt.matrix.params if pt.matrix else None):
        for p in params or []:
            out.extend([(p.value, True)] if isinstance(p.value, str) else [(v, True) for v in p.value])
    for include in pt.matrix.include or [] if pt.matrix else []:
        out.extend((str(p.value), False) for p in include.params)
    for when in pt.when or []:
        out.append((when.input, False))
        out.extend((v, True) for v in when.values)
    return out


def result_refs(pt: PipelineTask) -> list[Ref]:
    """The ``$(tasks.t.results.r...)`` references of a pipeline task (its resource dependencies)."""
    return [r for text in pipeline_task_texts(pt) for r in references(text) if _is_result(r)]


def _is_result(ref: Ref) -> bool:
    return ref.key.startswith("tasks.") and ".results." in ref.key


def make_plan(
    catalog: Catalog,
    request: RunRequest,
    directory: Path,
    given_workspaces: dict[str, Path],
    uid: str,
) -> ExecutionPlan:
    """Check the PipelineRun and what it runs as Tekton would, and decide the order and the folders."""
    pipeline = catalog.pipeline(request.pipeline, f"PipelineRun {request.name}")
    where = catalog.where("Pipeline", pipeline.metadata.name)
    params = _run_params(pipeline, request, where)
    nodes = _nodes(catalog, pipeline, where)
    order, levels = _order(nodes, where)
    workspaces = _workspaces(pipeline, request, directory, given_workspaces, where)
    for node in nodes.values():
        _check_task(node.task, catalog.where("Task", node.task.metadata.name))
        _check_pipeline_task(node, nodes, pipeline, where)
        _check_workspaces(node, pipeline, workspaces)
    finally_tasks = tuple(pt.name for pt in pipeline.spec.finally_ or [])
    return ExecutionPlan(request, pipeline, params, workspaces, nodes, order, levels, finally_tasks, directory, uid)


def _run_params(pipeline: Pipeline, request: RunRequest, where: str) -> dict[str, Value]:
    declared = {p.name: p for p in pipeline.spec.params or []}
    values: dict[str, Value] = {}
    for name, spec in declared.items():
        kind = param_type(spec)
        if name in request.params:
            value = request.params[name]
        elif spec.default is not None:
            value = spec.default
        else:
            raise TektonInputError(
                f"{where}: PipelineRun {request.name} does not give param {name}, which has no default"
            )
        if (kind == "array") != isinstance(value, list):
            raise TektonInputError(f"{where}: param {name} is declared {kind} but the PipelineRun gives {value!r}")
        values[name] = value
    return values


def _nodes(catalog: Catalog, pipeline: Pipeline, where: str) -> dict[str, TaskNode]:
    nodes: dict[str, TaskNode] = {}
    for is_finally, tasks in ((False, pipeline.spec.tasks), (True, pipeline.spec.finally_ or [])):
        for pt in tasks:
            if pt.name in nodes:
                raise TektonInputError(f"{where}: two pipeline tasks are named {pt.name}")
            if is_finally and pt.run_after:
                raise TektonInputError(f"{where}: finally task {pt.name} cannot use runAfter")
            task = catalog.task(pt.task_ref.name, f"{where}, task {pt.name}")
            deps = sorted({*(pt.run_after or []), *(r.key.split(".")[1] for r in result_refs(pt))})
            for duration in (pt.timeout,):
                if duration is not None and parse_duration(duration) is None:
                    raise TektonInputError(f"{where}: task {pt.name}: timeout {duration!r} is not a Go duration")
            nodes[pt.name] = TaskNode(pt.name, pt, task, tuple(deps), is_finally, f"{where}, task {pt.name}")
    return nodes


def _order(nodes: dict[str, TaskNode], where: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    dag = {name: node for name, node in nodes.items() if not node.is_finally}
    for node in dag.values():
        for dep in node.deps:
            if dep not in nodes:
                raise TektonInputError(f"{node.where}: waits for task {dep}, which the Pipeline does not have")
            if nodes[dep].is_finally:
                raise TektonInputError(f"{node.where}: a task cannot use finally task {dep}'s results")
    depth: dict[str, int] = {}
    order: list[str] = []
    pending = list(dag)
    while pending:  # Kahn's algorithm, keeping the Pipeline's own order among ready tasks
        ready = [n for n in pending if all(d in depth for d in dag[n].deps)]
        if not ready:
            raise TektonInputError(f"{where}: the tasks {', '.join(pending)} wait for each other (a cycle)")
        for name in ready:
            depth[name] = 1 + max((depth[d] for d in dag[name].deps), default=-1)
            order.append(name)
            pending.remove(name)
    levels = [[n for n in order if depth[n] == level] for level in range(max(depth.values(), default=-1) + 1)]
    return tuple(order), tuple(tuple(level) for level in levels)


def _workspaces(
    pipeline: Pipeline, request: RunRequest, directory: Path, given: dict[str, Path], where: str
) -> dict[str, WorkspaceSource]:
    sources: dict[str, WorkspaceSource] = {}
    for decl in pipeline.spec.workspaces or []:
        origin = request.workspaces.get(decl.name)
        if decl.name in given:
            sources[decl.name] = WorkspaceSource(decl.name, given[decl.name], "--workspace")
        elif origin == "volumeClaimTemplate":
            sources[decl.name] = WorkspaceSource(decl.name, directory / "workspaces" / decl.name, origin)
        elif decl.optional:
            sources[decl.name] = WorkspaceSource(decl.name, None, "unbound (optional)")
        elif origin is not None:
            raise TektonInputError(
                f"{where}: workspace {decl.name} is the {origin} on a cluster; this machine has no such volume",
                hint=f"pass --workspace {decl.name}=DIR with its files",
            )
        else:
            raise TektonInputError(
                f"{where}: PipelineRun {request.name} does not provide workspace {decl.name}",
                hint=f"pass --workspace {decl.name}=DIR",
            )
    return sources


def _check_task(task: Task, where: str) -> None:
    spec = task.spec
    params = {p.name: param_type(p) for p in spec.params or []}
    workspaces = {w.name for w in spec.workspaces or []}
    results = {r.name for r in spec.results or []}
    for workspace in spec.workspaces or []:
        if workspace.read_only:
            raise UnsupportedFeature(f"read-only workspaces ({workspace.name})", where=where)
    steps = [s.name for s in spec.steps]
    if len(set(steps)) != len(steps):
        raise TektonInputError(f"{where}: step names must be unique ({', '.join(steps)})")
    for step in spec.steps:
        if step.timeout is not None and parse_duration(step.timeout) is None:
            raise TektonInputError(f"{where}: step {step.name}: timeout {step.timeout!r} is not a Go duration")
        texts = [step.script, step.image, step.working_dir or ""]
        for env in step.env or []:
            if env.value_from is not None:
                raise UnsupportedFeature(f"env valueFrom (step {step.name}, {env.name})", where=where)
            texts.append(env.value or "")
        for ref in (r for text in texts for r in references(text)):
            _check_task_ref(ref, params, workspaces, results, set(steps), f"{where}, step {step.name}")


def _check_task_ref(
    ref: Ref, params: dict[str, str], workspaces: set[str], results: set[str], steps: set[str], where: str
) -> None:
    key = ref.key
    if key.startswith("params."):
        name = key.removeprefix("params.")
        if name not in params:
            raise TektonInputError(f"{where}: {ref.text} is not a declared param ({', '.join(sorted(params))})")
        if ref.rest:
            raise UnsupportedFeature(f"object params ({ref.text})", where=where)
        if params[name] == "array" and not isinstance(ref.subscript, int):
            raise TektonInputError(f"{where}: {ref.text} is a whole array; a script, env or workingDir holds strings")
    elif key.startswith("workspaces."):
        name, _, attribute = key.removeprefix("workspaces.").rpartition(".")
        if attribute in ("claim", "volume"):
            raise UnsupportedFeature(f"$(workspaces.<w>.{attribute})", where=where)
        if attribute not in ("path", "bound") or name not in workspaces:
            raise TektonInputError(f"{where}: {ref.text} names no declared workspace ({', '.join(sorted(workspaces))})")
    elif key.startswith("results."):
        name = key.removeprefix("results.").removesuffix(".path")
        if not key.endswith(".path") or name not in results:
            raise TektonInputError(f"{where}: {ref.text} names no declared result ({', '.join(sorted(results))})")
    elif key.startswith("steps."):
        parts = key.split(".")
        if len(parts) != 4 or parts[2:] != ["exitCode", "path"] or parts[1].removeprefix("step-") not in steps:
            raise UnsupportedFeature(f"{ref.text} (ci run knows $(steps.step-<name>.exitCode.path))", where=where)
    elif key.startswith(("credentials.", "artifacts.", "step.")):
        raise UnsupportedFeature(ref.text, where=where)


def _check_pipeline_task(node: TaskNode, nodes: dict[str, TaskNode], pipeline: Pipeline, where: str) -> None:
    pt = node.pipeline_task
    declared = {p.name: p for p in pipeline.spec.params or []}
    pipeline_workspaces = {w.name for w in pipeline.spec.workspaces or []}
    for ref in (r for text in pipeline_task_texts(pt) for r in references(text)):
        key = ref.key
        if key.startswith("params."):
            if key.removeprefix("params.") not in declared:
                raise TektonInputError(f"{node.where}: {ref.text} is not a param of the Pipeline")
            if ref.rest:
                raise UnsupportedFeature(f"object params ({ref.text})", where=node.where)
        elif _is_result(ref):
            _check_result_ref(ref, node, nodes)
        elif key.startswith("tasks."):
            _check_status_ref(ref, node, nodes)
        elif key.startswith("context."):
            if key not in PIPELINE_CONTEXT_ALL:
                raise UnsupportedFeature(ref.text, where=node.where)
        elif key.startswith("workspaces."):
            name, _, attribute = key.removeprefix("workspaces.").rpartition(".")
            if attribute != "bound" or name not in pipeline_workspaces:
                raise TektonInputError(f"{node.where}: {ref.text}: a Pipeline knows $(workspaces.<its w>.bound)")
        elif key.startswith("finally."):
            raise UnsupportedFeature(f"Pipeline results ({ref.text})", where=node.where)
    _check_params(node)
    _check_whole_arrays(node, nodes, pipeline)


def _check_whole_arrays(node: TaskNode, nodes: dict[str, TaskNode], pipeline: Pipeline) -> None:
    arrays = {f"params.{p.name}" for p in pipeline.spec.params or [] if param_type(p) == "array"}
    for other in nodes.values():
        for result in other.task.spec.results or []:
            if other.matrixed or result.type == "array":
                arrays.add(f"tasks.{other.name}.results.{result.name}")
    for text, array_ok in _array_positions(node.pipeline_task):
        for ref in references(text):
            whole = ref.key in arrays and not isinstance(ref.subscript, int)
            if whole and (not array_ok or TOKEN.fullmatch(text) is None):
                raise TektonInputError(
                    f"{node.where}: {ref.text} is a whole array; it can only stand alone as a param value, "
                    "a matrix param or a when value"
                )


def _check_result_ref(ref: Ref, node: TaskNode, nodes: dict[str, TaskNode]) -> None:
    _, producer, _, result = ref.key.split(".", 3)
    if producer not in nodes:
        raise TektonInputError(f"{node.where}: {ref.text}: the Pipeline has no task {producer}")
    other = nodes[producer]
    if other.is_finally:
        raise TektonInputError(f"{node.where}: {ref.text}: finally tasks' results are not readable by tasks")
    declared = {r.name: r.type or "string" for r in other.task.spec.results or []}
    if result not in declared:
        raise TektonInputError(f"{node.where}: {ref.text}: Task {other.task.metadata.name} declares no result {result}")
    if ref.rest:
        raise UnsupportedFeature(f"object results ({ref.text})", where=node.where)
    if other.matrixed and (ref.subscript != "*" or declared[result] != "string"):
        raise TektonInputError(
            f"{node.where}: {ref.text}: a matrixed task's string results are read whole, as an array: "
            f"$(tasks.{producer}.results.{result}[*])"
        )
    if not other.matrixed and ref.subscript is not None and declared[result] != "array":
        raise TektonInputError(f"{node.where}: {ref.text}: result {result} is a string, not an array")


def _check_status_ref(ref: Ref, node: TaskNode, nodes: dict[str, TaskNode]) -> None:
    parts = ref.key.split(".")
    if ".matrix" in ref.key:
        raise UnsupportedFeature(f"matrix context variables ({ref.text})", where=node.where)
    is_status = ref.key == "tasks.status" or (len(parts) == 3 and parts[2] in ("status", "reason"))
    if not is_status:
        raise UnsupportedFeature(ref.text, where=node.where)
    if not node.is_finally:
        raise TektonInputError(f"{node.where}: {ref.text} is only available in finally tasks")
    if len(parts) == 3 and (parts[1] not in nodes or nodes[parts[1]].is_finally):
        raise TektonInputError(f"{node.where}: {ref.text}: the Pipeline has no task {parts[1]} under tasks")


def _check_params(node: TaskNode) -> None:
    pt = node.pipeline_task
    declared = {p.name: p for p in node.task.spec.params or []}
    given = [p.name for p in pt.params or []]
    matrix = [p.name for p in (pt.matrix.params or [])] if pt.matrix else []
    included = {p.name for inc in (pt.matrix.include or []) for p in inc.params} if pt.matrix else set()
    for names, what in ((given, "params"), (matrix, "matrix params")):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise TektonInputError(f"{node.where}: {what} name {duplicates[0]} twice")
    both = sorted(set(given) & (set(matrix) | included))
    if both:
        raise TektonInputError(f"{node.where}: param {both[0]} is given in both params and matrix")
    for name in [*matrix, *included]:
        if name in declared and param_type(declared[name]) != "string":
            raise TektonInputError(f"{node.where}: matrix param {name} must be a string param of the Task")
    provided = {*given, *matrix, *included}
    missing = sorted(n for n, spec in declared.items() if spec.default is None and n not in provided)
    if missing:
        raise TektonInputError(f"{node.where}: Task {node.task.metadata.name} needs param {missing[0]}")


def _check_workspaces(node: TaskNode, pipeline: Pipeline, sources: dict[str, WorkspaceSource]) -> None:
    declared = {w.name: w for w in node.task.spec.workspaces or []}
    bound: dict[str, str] = {}
    for binding in node.pipeline_task.workspaces or []:
        target = binding.workspace
        if binding.name not in declared:
            raise TektonInputError(f"{node.where}: Task {node.task.metadata.name} has no workspace {binding.name}")
        if target not in {w.name for w in pipeline.spec.workspaces or []}:
            raise TektonInputError(f"{node.where}: binds workspace {target}, which the Pipeline does not declare")
        bound[binding.name] = target
    for name, decl in declared.items():
        if decl.optional:
            continue
        if name not in bound:
            raise TektonInputError(f"{node.where}: Task {node.task.metadata.name} needs workspace {name}")
        if sources[bound[name]].path is None:
            raise TektonInputError(
                f"{node.where}: optional workspace {bound[name]} is left unbound, but Task "
                f"{node.task.metadata.name} requires its workspace {name}"
            )
