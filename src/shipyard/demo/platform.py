"""The story's first step: the platform, scaffolded on the embedded default, its parts started, its pipelines
rendered, and the shared remote the pipelines clone from."""

from __future__ import annotations

import subprocess

from shipyard.ci.workspaces import PipelineSecrets, write_secret_workspaces
from shipyard.demo.context import DemoContext
from shipyard.demo.cycle import REPO, Cycle, cycle_of, new_token, python_path
from shipyard.demo.parts import trivy
from shipyard.demo.parts.github import GitHubStandIn
from shipyard.demo.parts.registry import start_registry

# Who works on the platform: a developer, QA, a release manager and an SRE. Their approvals are commits in the
# config repo; the four-eyes rule keeps a change's authors from approving it.
PEOPLE = """
people:
  ada: {name: Ada Developer, emails: [ada@acme.example.com]}
  sam: {name: Sam Tester, emails: [sam@acme.example.com]}
  riley: {name: Riley Release, emails: [riley@acme.example.com]}
  quinn: {name: Quinn Oncall, emails: [quinn@acme.example.com]}
groups:
  release-managers: [riley, quinn]
environments:
  - name: uat
    approvals: {approvers: [sam], required: 1}
  - name: preprod
    approvals: {approvers: [ada, "group:release-managers"], required: 1}
  - name: production
    approvals: {approvers: [ada, sam, "group:release-managers"], required: 2, fourEyes: true}
"""
NAMES = {"ada": "Ada Developer", "sam": "Sam Tester", "riley": "Riley Release", "quinn": "Quinn Oncall"}


def act_as(ctx: DemoContext, person: str) -> None:
    """From now on ``person`` works in the monorepo: git and shipyard commit with their name and e-mail."""
    name, email = NAMES[person], f"{person}@acme.example.com"
    ctx.console.print(f"[bold]{name}[/] <{email}> at the keyboard")
    ctx.person = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name}
    ctx.person["GIT_COMMITTER_EMAIL"] = email


def scaffold(ctx: DemoContext) -> None:
    """Foundation and stand-ins. `shipyard init` writes the embedded default; two settings change for the story:
    buildah pushes to a registry server (Debian's docker-registry on loopback, a real one) where the default is
    an OCI layout folder, and the people who approve are listed. The config repo is the local one init made."""
    ctx.shipyard("init", str(ctx.repo), "--org", "acme", "--domain", "acme.example.com", cwd=ctx.scratch)
    registry = start_registry(ctx.scratch / "registry")
    ctx.cleanups.append(registry.stop)
    token = new_token()
    github = GitHubStandIn(token).start()
    ctx.cleanups.append(github.stop)
    bin_dir = ctx.scratch / "bin"
    trivy.install(bin_dir)
    ctx.stand_in(
        f"GitHub's REST API: a local stand-in at {github.url} (GITHUB_API_URL); the same client talks to GitHub"
    )
    ctx.stand_in(
        "Trivy: its vulnerability database cannot be downloaded here; a `trivy` that checks the image is in the "
        "registry and writes a recorded Trivy report (SchemaVersion 2) is first on the pipelines' PATH"
    )
    ctx.console.print(f"registry: Debian's docker-registry at {registry.host} (real)")
    storage = ctx.scratch / "buildah"
    conf = ctx.scratch / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{storage / "root"}"\nrunroot = "{storage / "run"}"\n')
    ctx.path += [str(bin_dir), python_path()]
    ctx.env.update(
        {
            "GITHUB_API_URL": github.url,
            "CONTAINERS_STORAGE_CONF": str(conf),
            # The pipelines' steps keep their `git config --global` to themselves; the people's own file.
            "GIT_CONFIG_GLOBAL": str(ctx.scratch / "gitconfig"),
        }
    )
    config = (ctx.repo / ".shipyard" / "gitops-config.git").resolve()
    spec = ctx.repo / "shipyard.yaml"
    text = spec.read_text(encoding="utf-8")
    text = text.replace(
        "registry:\n  kind: local\n  url: .shipyard/registry\n", f"registry:\n  kind: oci\n  url: {registry.host}\n"
    )
    text = text.replace("repos:\n  app: .\n  config: .shipyard/gitops-config.git\n", "")
    text += f"repos:\n  app: https://github.com/{REPO}\n  config: {config}\n" + PEOPLE
    spec.write_text(text, encoding="utf-8")
    # The services' Dockerfiles build FROM the platform's base images, in the registry now named.
    for dockerfile in sorted((ctx.repo / "services").glob("*/Dockerfile")):
        source = dockerfile.read_text(encoding="utf-8")
        dockerfile.write_text(source.replace("=localhost/base-images/", f"={registry.host}/base-images/"))
    ctx.git("--no-pager", "diff", "--stat")
    ctx.git("--no-pager", "diff", "--", "shipyard.yaml")
    act_as(ctx, "riley")
    remote = ctx.scratch / "monorepo.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote)], check=True)
    secrets = write_secret_workspaces(
        ctx.scratch / "secrets", PipelineSecrets(registry={}, git_credentials=(), github_token=token)
    )
    ctx.facts["cycle"] = Cycle(registry, github, token, remote, config, secrets, ctx.scratch / "runs")


def pipelines(ctx: DemoContext) -> None:
    """CI on Tekton: the spec is checked, tekton/ rendered into the monorepo and committed, main and develop
    pushed to the shared remote (GitHub's, here a bare repository). Then the platform's base images, packed
    from this machine's node and python (no public image can be pulled here), go to the registry."""
    ctx.shipyard("check")
    ctx.shipyard("ci", "render")
    ctx.git("add", "-A")
    ctx.git("commit", "--quiet", "-m", "Configure the platform: registry, people and approvals, pipelines")
    ctx.git("branch", "--force", "develop", "main")
    ctx.git("remote", "add", "origin", str(cycle_of(ctx).remote))
    ctx.git("push", "--quiet", "origin", "main")
    ctx.shipyard("image", "base", "node")
    ctx.shipyard("image", "base", "python")
