"""Checks of rendered Tekton YAML that the CRD schemas leave open: references between objects and inside them.

Every ``$(params.x)`` is declared, every result and workspace reference resolves, every required param and
workspace is bound, ``runAfter`` names known tasks and the task graph has no cycle, TriggerTemplates use
``$(tt.params.x)``, CEL filters read ``body.ref`` only for events that have one and always filter
``pull_request`` by action, the EventListener has its RBAC, and every image is pinned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shipyard.k8s.yaml import load_all
from shipyard.render.tekton.images import pin_problem

_PARAM = re.compile(r"\$\(params\.([A-Za-z0-9_.-]+?)(\[\*\])?\)")
_TT_PARAM = re.compile(r"\$\(tt\.params\.([A-Za-z0-9_-]+)\)")
_RESULT_PATH = re.compile(r"\$\(results\.([A-Za-z0-9_-]+)\.path\)")
_WORKSPACE = re.compile(r"\$\(workspaces\.([A-Za-z0-9_-]+)\.path\)")
_TASK_RESULT = re.compile(r"\$\(tasks\.([A-Za-z0-9_-]+)\.results\.([A-Za-z0-9_-]+)(\[\*\])?\)")
_TASKS_STATUS = re.compile(r"\$\(tasks\.status\)")
_REF_EVENTS = {"push", "create", "delete"}
_LISTENER_ROLES = ("tekton-triggers-eventlistener-roles", "tekton-triggers-eventlistener-clusterroles")

Obj = dict[str, Any]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _names(items: list[Obj] | None) -> set[str]:
    return {item["name"] for item in items or []}


class _Checker:
    def __init__(self, objects: list[tuple[str, Obj]]) -> None:
        self.problems: list[str] = []
        self.by_kind: dict[str, dict[str, tuple[str, Obj]]] = {}
        for path, obj in objects:
            kind, name = obj.get("kind", "?"), obj.get("metadata", {}).get("name", "?")
            bucket = self.by_kind.setdefault(kind, {})
            if name in bucket:
                self.problems.append(f"{path}: {kind}/{name} is defined twice")
            bucket[name] = (path, obj)

    def say(self, path: str, obj: Obj, message: str) -> None:
        self.problems.append(f"{path}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {message}")

    def task(self, path: str, obj: Obj) -> None:
        spec = obj.get("spec", {})
        params, results, workspaces = (
            _names(spec.get("params")),
            _names(spec.get("results")),
            _names(spec.get("workspaces")),
        )
        for step in spec.get("steps", []):
            problem = pin_problem(step.get("image", ""))
            if problem:
                self.say(path, obj, f"step {step.get('name')}: {problem}")
            for text in _strings(step):
                for name, _ in _PARAM.findall(text):
                    if name not in params:
                        self.say(path, obj, f"step {step.get('name')} uses $(params.{name}), which is not declared")
                for name in _RESULT_PATH.findall(text):
                    if name not in results:
                        self.say(path, obj, f"step {step.get('name')} writes result '{name}', which is not declared")
                for name in _WORKSPACE.findall(text):
                    if name not in workspaces:
                        self.say(path, obj, f"step {step.get('name')} uses workspace '{name}', which is not declared")

    def pipeline(self, path: str, obj: Obj) -> None:
        spec = obj.get("spec", {})
        params, workspaces = _names(spec.get("params")), _names(spec.get("workspaces"))
        tasks: list[Obj] = spec.get("tasks", [])
        finally_tasks: list[Obj] = spec.get("finally", []) or []
        names = [t["name"] for t in tasks]
        all_names = set(names) | {t["name"] for t in finally_tasks}
        if len(all_names) != len(tasks) + len(finally_tasks):
            self.say(path, obj, "two pipeline tasks share a name")
        bound: set[str] = set()
        edges: dict[str, set[str]] = {name: set() for name in names}
        for pt in [*tasks, *finally_tasks]:
            is_finally = pt in finally_tasks
            where = f"task {pt['name']}"
            task_ref = pt.get("taskRef", {}).get("name")
            declared = self.by_kind.get("Task", {}).get(task_ref)
            if declared is None:
                self.say(path, obj, f"{where} runs Task '{task_ref}', which is not rendered")
                continue
            tspec = declared[1].get("spec", {})
            given = _names(pt.get("params")) | _names((pt.get("matrix") or {}).get("params"))
            for name in given - _names(tspec.get("params")):
                self.say(path, obj, f"{where} passes param '{name}', which Task {task_ref} does not declare")
            for param in tspec.get("params", []) or []:
                if "default" not in param and param["name"] not in given:
                    self.say(path, obj, f"{where} does not pass required param '{param['name']}' of Task {task_ref}")
            ws_given = {b["name"]: b["workspace"] for b in pt.get("workspaces", []) or []}
            for ws in tspec.get("workspaces", []) or []:
                if ws["name"] not in ws_given and not ws.get("optional"):
                    self.say(path, obj, f"{where} does not bind workspace '{ws['name']}' of Task {task_ref}")
            for name, target in ws_given.items():
                if name not in _names(tspec.get("workspaces")):
                    self.say(path, obj, f"{where} binds workspace '{name}', which Task {task_ref} does not declare")
                if target not in workspaces:
                    self.say(path, obj, f"{where} binds pipeline workspace '{target}', which is not declared")
                bound.add(target)
            for after in pt.get("runAfter", []) or []:
                if is_finally:
                    self.say(path, obj, f"finally {where} cannot have runAfter")
                elif after not in names:
                    self.say(path, obj, f"{where} runs after '{after}', which is not a task of this pipeline")
                else:
                    edges[pt["name"]].add(after)
            for text in _strings({k: v for k, v in pt.items() if k in ("params", "matrix", "when")}):
                for name, _ in _PARAM.findall(text):
                    if name not in params:
                        self.say(path, obj, f"{where} uses $(params.{name}), which the pipeline does not declare")
                for other, result, _ in _TASK_RESULT.findall(text):
                    self._result_ref(path, obj, where, other, result, tasks, finally_tasks)
                    if not is_finally and other in edges:
                        edges[pt["name"]].add(other)
                if _TASKS_STATUS.search(text) and not is_finally:
                    self.say(path, obj, f"{where} uses $(tasks.status), which only finally tasks can read")
        for name in workspaces - bound:
            self.say(path, obj, f"workspace '{name}' is declared but no task binds it")
        cycle = _find_cycle(edges)
        if cycle:
            self.say(path, obj, "the tasks form a cycle: " + " -> ".join(cycle))

    def _result_ref(
        self, path: str, obj: Obj, where: str, other: str, result: str, tasks: list[Obj], finally_tasks: list[Obj]
    ) -> None:
        producer = next((t for t in tasks if t["name"] == other), None)
        if producer is None:
            in_finally = any(t["name"] == other for t in finally_tasks)
            self.say(
                path,
                obj,
                f"{where} reads results of '{other}', which is {'a finally task' if in_finally else 'not a task'}",
            )
            return
        task = self.by_kind.get("Task", {}).get(producer.get("taskRef", {}).get("name"))
        if task and result not in _names(task[1].get("spec", {}).get("results")):
            self.say(path, obj, f"{where} reads result '{result}' of '{other}', which its Task does not declare")

    def template(self, path: str, obj: Obj) -> None:
        spec = obj.get("spec", {})
        declared = _names(spec.get("params"))
        for text in _strings(spec.get("resourcetemplates", [])):
            if _PARAM.search(text):
                self.say(path, obj, f"'{text}' uses $(params...): a TriggerTemplate's own params are $(tt.params...)")
            for name in _TT_PARAM.findall(text):
                if name not in declared:
                    self.say(path, obj, f"$(tt.params.{name}) is not declared")
        used = {n for text in _strings(spec.get("resourcetemplates", [])) for n in _TT_PARAM.findall(text)}
        for name in declared - used:
            self.say(path, obj, f"param '{name}' is declared but never used")
        for run in spec.get("resourcetemplates", []):
            if run.get("kind") != "PipelineRun":
                continue
            ref = run.get("spec", {}).get("pipelineRef", {}).get("name")
            pipeline = self.by_kind.get("Pipeline", {}).get(ref)
            if pipeline is None:
                self.say(path, obj, f"the PipelineRun runs Pipeline '{ref}', which is not rendered")
                continue
            pspec = pipeline[1].get("spec", {})
            given = _names(run["spec"].get("params"))
            for name in given - _names(pspec.get("params")):
                self.say(path, obj, f"passes param '{name}', which Pipeline {ref} does not declare")
            for param in pspec.get("params", []) or []:
                if "default" not in param and param["name"] not in given:
                    self.say(path, obj, f"does not pass required param '{param['name']}' of Pipeline {ref}")
            ws_given = _names(run["spec"].get("workspaces"))
            for ws in pspec.get("workspaces", []) or []:
                if ws["name"] not in ws_given and not ws.get("optional"):
                    self.say(path, obj, f"does not bind workspace '{ws['name']}' of Pipeline {ref}")

    def listener(self, path: str, obj: Obj) -> None:
        spec = obj.get("spec", {})
        account = spec.get("serviceAccountName")
        if not account or account not in self.by_kind.get("ServiceAccount", {}):
            self.say(path, obj, f"service account '{account}' is not rendered: the listener would have no RBAC")
        else:
            granted = {
                b.get("roleRef", {}).get("name")
                for kind in ("RoleBinding", "ClusterRoleBinding")
                for _, b in self.by_kind.get(kind, {}).values()
                if any(s.get("name") == account for s in b.get("subjects", []))
            }
            for role in _LISTENER_ROLES:
                if role not in granted:
                    self.say(path, obj, f"service account '{account}' is not bound to ClusterRole {role}")
        for trigger in spec.get("triggers", []):
            self._trigger(path, obj, trigger)

    def _trigger(self, path: str, obj: Obj, trigger: Obj) -> None:
        where = f"trigger {trigger.get('name')}"
        events: list[str] = []
        filters: list[str] = []
        for interceptor in trigger.get("interceptors", []):
            params = {p["name"]: p.get("value") for p in interceptor.get("params", [])}
            ref = interceptor.get("ref", {}).get("name")
            if ref == "github":
                events = list(params.get("eventTypes") or [])
                if not events:
                    self.say(path, obj, f"{where}: the github interceptor names no eventTypes")
                if not (params.get("secretRef") or {}).get("secretName"):
                    self.say(path, obj, f"{where}: the github interceptor has no webhook secretRef")
            elif ref == "cel" and isinstance(params.get("filter"), str):
                filters.append(params["filter"])
        if not events:
            self.say(path, obj, f"{where}: no github interceptor: unauthenticated webhooks would start pipelines")
        for text in filters:
            if "body.ref" in text and not set(events) <= _REF_EVENTS:
                self.say(path, obj, f"{where}: filters on body.ref, which {sorted(set(events) - _REF_EVENTS)} lack")
        if "pull_request" in events and not any("body.action" in f for f in filters):
            self.say(path, obj, f"{where}: a pull_request trigger without an action filter fires on every label")
        template_ref = trigger.get("template", {}).get("ref")
        template = self.by_kind.get("TriggerTemplate", {}).get(template_ref)
        if template is None:
            self.say(path, obj, f"{where}: TriggerTemplate '{template_ref}' is not rendered")
            return
        bound: set[str] = set()
        for binding in trigger.get("bindings", []):
            found = self.by_kind.get("TriggerBinding", {}).get(binding.get("ref"))
            if found is None:
                self.say(path, obj, f"{where}: TriggerBinding '{binding.get('ref')}' is not rendered")
                continue
            for param in found[1].get("spec", {}).get("params", []):
                bound.add(param["name"])
                if not re.fullmatch(r"\$\((body|header|extensions)\.[A-Za-z0-9_.-]+\)", str(param.get("value"))):
                    self.say(path, obj, f"{where}: binding param '{param['name']}' is not a $(body...) value")
        for param in template[1].get("spec", {}).get("params", []):
            if "default" not in param and param["name"] not in bound:
                self.say(path, obj, f"{where}: no binding gives template param '{param['name']}'")

    def run(self) -> list[str]:
        for kind, check in (
            ("Task", self.task),
            ("Pipeline", self.pipeline),
            ("TriggerTemplate", self.template),
            ("EventListener", self.listener),
        ):
            for path, obj in self.by_kind.get(kind, {}).values():
                check(path, obj)
        return self.problems


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check_objects(objects: list[tuple[str, Obj]]) -> list[str]:
    """Problems in a set of (file, object) pairs; empty when they hang together."""
    return _Checker(objects).run()


def check_files(files: dict[str, str]) -> list[str]:
    """Problems in rendered files (relative path -> YAML text)."""
    objects = [(path, doc) for path, text in files.items() for doc in load_all(text) if isinstance(doc, dict)]
    return check_objects(objects)
