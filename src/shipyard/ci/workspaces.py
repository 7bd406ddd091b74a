"""The Secret workspaces of the rendered pipelines as folders on this machine, for ``ci run``.

On a cluster each is a Secret the TriggerTemplate mounts (``shipyard.render.tekton.triggers.SECRETS``); here
each is a folder holding the same files under the same keys, which is what the step scripts read:

| workspace | file | content |
| --- | --- | --- |
| ``registry-auth`` | ``.dockerconfigjson`` | ``{"auths": {HOST: {"auth": base64(user:password)}}}`` |
| ``git-credentials`` | ``.git-credentials`` | git's credential store: one ``https://user:token@host`` a line |
| ``github-token`` | ``token`` | a GitHub token |
| ``npm-auth`` | ``token`` | the npm registry's token (publishing) |
| ``harbor-auth`` | ``username``, ``password`` | a Harbor user allowed to change projects |
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PipelineSecrets:
    """What the pipelines may be given; a workspace whose secret is None is not written (left unbound)."""

    registry: dict[str, tuple[str, str]] = field(default_factory=dict)  # host -> (user, password)
    git_credentials: tuple[str, ...] = ()  # URLs with user and token, e.g. https://ci:TOKEN@github.com
    github_token: str | None = None
    npm_token: str | None = None
    harbor: tuple[str, str] | None = None  # (user, password)


def write_secret_workspaces(folder: Path, secrets: PipelineSecrets) -> dict[str, Path]:
    """Write each given secret into ``folder/<workspace>/`` (files readable by this user only); the result is
    the ``workspaces`` argument of ``shipyard.ci.run.run_event`` (``--workspace NAME=DIR`` of ``ci run``).

    A registry and git credentials are always written, empty when none are given: the pipelines that push
    or tag require those workspaces, and a registry or remote without authentication needs no secret.
    """
    files: dict[str, dict[str, str]] = {
        "registry-auth": {".dockerconfigjson": _docker_config(secrets.registry)},
        "git-credentials": {".git-credentials": "".join(f"{url}\n" for url in secrets.git_credentials)},
    }
    if secrets.github_token is not None:
        files["github-token"] = {"token": secrets.github_token}
    if secrets.npm_token is not None:
        files["npm-auth"] = {"token": secrets.npm_token}
    if secrets.harbor is not None:
        files["harbor-auth"] = {"username": secrets.harbor[0], "password": secrets.harbor[1]}
    written: dict[str, Path] = {}
    for workspace, contents in files.items():
        target = folder / workspace
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, text in contents.items():
            path = target / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
        written[workspace] = target
    return written


def _docker_config(registries: dict[str, tuple[str, str]]) -> str:
    auths = {
        host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        for host, (user, password) in sorted(registries.items())
    }
    return json.dumps({"auths": auths})
