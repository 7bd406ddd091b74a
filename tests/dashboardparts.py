"""What the dashboard tests look at and with: a filled platform (``tests/filled_platform.py``: Shipyard's own
commands, run for real), people with tokens and decisions on top of it, ``shipyard serve`` on it, and Debian's
Chromium driven by Playwright.

The platform has every stage filled (alpha in dev and staging, betas in uat and preprod, a rollback in
production), a preview open and the sandbox mirroring production; nobody is listed in its spec. The tests
then list people, give them tokens, and record two freights: ``v1.2.2-beta.1`` (a hotfix dan wrote) that
alice approved into uat and carol approved for preprod (1 of the 2 preprod needs), and ``v1.3.0-beta.1``
(a release alice wrote) waiting for uat.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from tests.realparts import REPO_ROOT, missing, need_binary

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

PEOPLE = """
people:
  alice: {name: Alice, emails: [alice@acme.example.com]}
  bob: {name: Bob, emails: [bob@acme.example.com]}
  carol: {name: Carol, emails: [carol@acme.example.com]}
  dan: {name: Dan, emails: [dan@acme.example.com]}
groups:
  release-managers: [bob, carol]
environments:
  - name: uat
    approvals: {approvers: [alice, bob]}
  - name: preprod
    approvals: {approvers: ["group:release-managers"], required: 2}
"""
HOTFIX = "v1.2.2-beta.1"
RELEASE = "v1.3.0-beta.1"
SERVICES = ("notification-service", "payment-service", "user-service")
SCREENSHOTS = REPO_ROOT / ".pytest-screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # without these, Chromium's own connections are refused here
    "--disable-component-update",
    "--disable-sync",
]


def digest(text: str) -> str:
    """A stand-in image digest (the local registry is never asked for these: no stage here needs it)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def command_env(home: Path) -> dict[str, str]:
    """The environment of every command and of serve: git's identity, no configuration of this machine, and
    ``shipyard`` on the PATH (the pipelines' steps call it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="init.defaultBranch",
        GIT_CONFIG_VALUE_0="main",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


@dataclass
class DemoPlatform:
    """The filled platform's workspace with people on top."""

    root: Path
    tokens: dict[str, str]
    release: str
    """The freight id of ``RELEASE``, waiting for uat."""
    hotfix: str
    """The freight id of ``HOTFIX``, waiting for a second approval for preprod."""

    @property
    def config(self) -> Path:
        """The config repo (a bare repository)."""
        return self.root / ".shipyard" / "gitops-config.git"


def build_platform(scratch: Path) -> DemoPlatform:
    """Fill a platform in ``scratch`` (the process's environment must give git an identity), then list
    people, give them tokens and record the two freights above."""
    from shipyard.demo import sandbox
    from shipyard.demo.context import DemoContext
    from shipyard.git import Git
    from shipyard.promotion.ledger import read_ledger
    from shipyard.promotion.tokens import issue_token
    from shipyard.spec.loader import load_spec
    from tests import filled_platform as filled

    ctx = DemoContext(scratch=scratch, console=Console(file=io.StringIO(), width=120))
    steps = (
        filled.scaffold,
        filled.alpha_cycle,
        filled.beta_cycle,
        filled.stable_cycle,
        filled.hotfix_cycle,
        filled.rollback,
        sandbox.sync_sandbox,
        filled.previews,
    )
    for step in steps:
        step(ctx)
    root = ctx.repo
    spec = root / "shipyard.yaml"
    spec.write_text(spec.read_text() + PEOPLE)
    git = Git(root)
    git.run("add", "shipyard.yaml")
    git.run("commit", "--quiet", "-m", "People decide on uat and preprod")
    ctx.shipyard(
        "freight", "add", "--version", HOTFIX, "--image", f"payment-service={digest(HOTFIX)}",
        "--author", "dan@acme.example.com", "--pr", "106",
    )  # fmt: skip
    ctx.shipyard("promote", "--version", HOTFIX, "--to", "uat", "--approve", "--approver", "alice")
    ctx.shipyard("promote", "--version", HOTFIX, "--to", "preprod", "--approve", "--approver", "carol", expect=1)
    images = [arg for service in SERVICES for arg in ("--image", f"{service}={digest(RELEASE + service)}")]
    ctx.shipyard("freight", "add", "--version", RELEASE, *images, "--author", "alice@acme.example.com", "--pr", "107")
    ctx.shipyard("preview", "up", "--pr", "7", "--sha", git.rev_parse("HEAD"))  # closed by a webhook in a test
    platform = load_spec(spec)
    tokens = {person: issue_token(platform, root, person).token for person in ("alice", "bob", "carol", "dan")}
    records = {e.version: e.freight for e in read_ledger(str(root / ".shipyard" / "gitops-config.git")).recorded()}
    return DemoPlatform(root, tokens, records[RELEASE], records[HOTFIX])


def head(platform: DemoPlatform) -> str:
    """The config repo's branch now."""
    from shipyard.git import Git

    return Git(platform.config).rev_parse("main")


@dataclass
class Chromium:
    """Debian's Chromium, driven by Playwright (never a browser Playwright downloads)."""

    browser: Browser

    def page(self, base_url: str) -> Page:
        """A page in a fresh context: its own cookies, so each person is signed in on their own."""
        context: BrowserContext = self.browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
        context.set_default_timeout(30_000)
        return context.new_page()


@contextlib.contextmanager
def chromium() -> Iterator[Chromium]:
    """Chromium for the module's tests (a missing Chromium or Playwright skips them, and fails them in CI)."""
    executable = need_binary("chromium", "Debian's chromium package (deps/apt-test.txt)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python", "pip install -e '.[test]' (make test-deps)")
        raise AssertionError("unreachable") from None
    with sync_playwright() as driver:
        # Playwright gives every launch a fresh, temporary profile (--user-data-dir) of its own.
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield Chromium(browser)
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``.pytest-screenshots/<name>.png`` (kept after the run, ignored by git)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, token: str, target: str = "/board") -> None:
    """Sign in on the login page with ``token``, then land on ``target``."""
    page.goto(f"/login?next={target}")
    page.get_by_label("Your Shipyard token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{target}")
