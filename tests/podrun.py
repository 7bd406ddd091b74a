"""Run a rendered CronJob's container here, the way the kubelet would start it: its command and arguments (with
Kubernetes' ``$(VAR)`` expansion), its environment (values, Secret keys, ConfigMap and Secret volumes), its
working directory, and nothing of this machine's own environment but ``PATH``. Each mount is a folder of the
test; the mount's path, wherever the container names it, is replaced by that folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def containers(cronjob: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The pod spec and its containers of a CronJob document."""
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod, list(pod["containers"])


def run_container(
    cronjob: dict[str, Any],
    work: Path,
    *,
    configmaps: dict[str, dict[str, str]],
    secrets: dict[str, dict[str, str]],
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CronJob's (first) container; ``configmaps`` and ``secrets`` are the objects' data by name."""
    pod, (container, *_) = containers(cronjob)
    mounts: dict[str, Path] = {}
    for volume in pod.get("volumes") or []:
        folder = work / "volumes" / volume["name"]
        folder.mkdir(parents=True, exist_ok=True)
        source = volume.get("configMap") or volume.get("secret")
        if source is not None:
            data = configmaps[source["name"]] if "configMap" in volume else secrets[source["secretName"]]
            for key, value in data.items():
                (folder / key).write_text(value, encoding="utf-8")
        mounts[volume["name"]] = folder
    paths = {m["mountPath"]: mounts[m["name"]] for m in container.get("volumeMounts") or []}

    # One pass, longest path first, whole path components only: a folder replaced is never replaced again.
    pattern = re.compile(
        "(?<![\\w.-])(" + "|".join(re.escape(m) for m in sorted(paths, key=len, reverse=True)) + ")(?![\\w.-])"
    )

    def local(text: str) -> str:
        return pattern.sub(lambda m: str(paths[m.group(1)]), text) if paths else text

    home = work / "home"
    home.mkdir(exist_ok=True)
    # The image's PATH holds `shipyard`: here the one of this interpreter's environment.
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(home), "LC_ALL": "C.UTF-8"}
    for entry in container.get("envFrom") or []:
        env.update(secrets[entry["secretRef"]["name"]])
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = local(_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), var["value"]))
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
    env.update(extra_env or {})
    argv = [
        local(_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), arg))
        for arg in [*(container.get("command") or []), *(container.get("args") or [])]
    ]
    cwd = Path(local(container.get("workingDir") or str(work)))
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)
