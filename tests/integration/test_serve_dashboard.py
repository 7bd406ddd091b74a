"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) and over plain HTTP, on the demo's
platform with people on top (``tests/dashboardparts.py``), served by ``shipyard serve --auth token`` in
embedded mode.

The board shows the demo's state; the right person approves and the promotion lands, as commits with their
trailers; the wrong person, the author (four eyes) and a form without its CSRF token are refused and nothing
is written; a promotion made with the CLI appears on an open page without a reload; a run's step logs are
shown escaped, and a long one is cut with a link to the raw log. Every page is saved as a screenshot in
``.pytest-screenshots/``.

The tests of this module share one platform, one server and one browser, and run in this order on one
worker (``xdist_group``): each changes the platform only where the ones after it do not look.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.git import Git, parse_trailers
from tests.dashboardparts import (
    HOTFIX,
    RELEASE,
    Chromium,
    DemoPlatform,
    build_platform,
    chromium,
    command_env,
    digest,
    head,
    screenshot,
    sign_in,
)
from tests.serveparts import SECRET, ServeProcess, closed_pr, github_delivery, start_serve

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("serve-dashboard")]

NEW_ALPHA = "v1.3.0-alpha.20261202130000"


@dataclass
class Site:
    """The platform and the server in front of it."""

    platform: DemoPlatform
    server: ServeProcess
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def shipyard(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI in the workspace, as a person at a terminal would."""
        return subprocess.run(
            [sys.executable, "-m", "shipyard", *args],
            cwd=self.platform.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def bearer(self, person: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.platform.tokens[person]}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    scratch = tmp_path_factory.mktemp("dashboard")
    home = scratch / "home"
    home.mkdir()
    env = command_env(home)
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("GIT_")]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        platform = build_platform(scratch)
    secret = scratch / "webhook-secret"
    secret.write_bytes(SECRET + b"\n")
    credentials = scratch / "git-credentials"
    credentials.mkdir()
    server = start_serve(
        platform.root,
        "--auth",
        "token",
        "--webhook-secret-file",
        str(secret),
        "--workspace",
        "source=.",  # the pipeline's clone lands in the monorepo itself, next to its local config repo
        "--workspace",
        f"git-credentials={credentials}",
        env=env,
        log=scratch / "serve.log",
    )
    try:
        yield Site(platform, server, env)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with chromium() as found:
        yield found


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_the_board_shows_the_demos_platform(site: Site, browser: Chromium) -> None:
    expect = _expect()
    page = browser.page(site.url)
    page.goto("/board")
    page.wait_for_url("**/login?next=%2Fboard")  # --auth token: people sign in first
    screenshot(page, "login")
    sign_in(page, site.platform.tokens["bob"])
    expect(page.get_by_test_id("me")).to_have_text("bob")
    headers = page.locator("table.board thead th").all_inner_texts()
    columns = [h.split("\n")[0] for h in headers]
    assert columns == ["service", "previews", "dev", "staging", "uat", "preprod", "production", "sandbox"]
    rows = page.locator("table.board tbody tr")
    expect(rows).to_have_count(3)
    payment = page.locator("table.board tbody tr", has_text="payment-service")
    cells = payment.locator("td")
    # previews, dev, staging, uat, preprod, production, sandbox
    expect(cells.nth(0)).to_contain_text("pr-43")
    expect(cells.nth(0).get_by_role("link", name="pr-43")).to_have_attribute(
        "href", "https://pr-43-payment-service.preview.acme.example.com"
    )
    expect(cells.nth(0)).to_contain_text("expires in 6d")
    expect(cells.nth(1).locator(".v-alpha")).to_have_text("v1.2.0-alpha.20261125093000")
    expect(cells.nth(3).locator(".v-beta")).to_have_text(HOTFIX)
    expect(cells.nth(5).locator(".v-stable")).to_have_text("v1.2.0")  # the rollback left v1.2.0
    expect(cells.nth(6).locator(".v-stable")).to_have_text("v1.2.0")  # the sandbox mirrors production
    expect(page.locator("thead th.env-sandbox")).to_contain_text("active, expires in 23h")
    pending = page.locator(".pending li", has_text=f"{HOTFIX} → preprod")
    expect(pending).to_contain_text("Approved by carol")
    expect(pending).to_contain_text("1 of 2")
    expect(pending).to_contain_text("Needs 1 more from bob")
    release = page.locator(".pending li", has_text=f"{RELEASE} → uat")
    expect(release).to_contain_text("No approvals yet")
    expect(release).to_contain_text("Needs 1 more from bob;")  # alice wrote it: four eyes leave her out
    screenshot(page, "board")

    # The page is its JSON twin: the same data, as each command prints it.
    twin = json.loads(page.request.get("/board?format=json").text())
    cli = json.loads(site.shipyard("status", "--json").stdout)
    assert twin["status"] == cli
    previews = json.loads(site.shipyard("preview", "list", "--json").stdout)["previews"]
    for listed in (*twin["previews"]["previews"], *previews):
        listed.pop("ageSeconds")  # measured at the moment of asking
    assert twin["previews"]["previews"] == previews

    for path, text in (
        ("/approvals", f"{RELEASE} → uat"),
        ("/freight", "pull request #104"),
        ("/trace/payment-service", "Riley Release"),
        ("/previews", "pr-43"),
        ("/sandbox", "active"),
        ("/status", "Pending promotions"),
        ("/event-log", "Event log"),
    ):
        page.goto(path)
        expect(page.locator("main")).to_contain_text(text)
        screenshot(page, path.strip("/").replace("/", "-"))
    # The trace is a timeline: commit, pull request, version, each stage with who and when.
    page.goto("/trace/payment-service")
    production = page.locator(".timeline", has_text="rolled back")
    expect(production.locator("ol.path li").first).to_contain_text("commit")
    expect(production).to_contain_text("pull request #103")


def _approve_form(page: Any, verdict: str = "Approve") -> Any:
    return page.locator("form", has=page.get_by_role("button", name=f"{verdict} {RELEASE} for uat"))


def test_the_right_person_approves_and_the_promotion_lands(site: Site, browser: Chromium) -> None:
    expect = _expect()
    before = head(site.platform)
    refusals = {
        "dan": "dan may not decide on uat; its approvers: alice, bob",
        "alice": "alice wrote the freight's source commit (alice@acme.example.com)",
    }
    for person, reason in refusals.items():
        page = browser.page(site.url)
        sign_in(page, site.platform.tokens[person], "/approvals")
        _approve_form(page).get_by_role("button").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Refused")
        expect(page.get_by_test_id("reason")).to_contain_text(reason)
        screenshot(page, f"refused-{person}")
        page.context.close()
    assert head(site.platform) == before

    page = browser.page(site.url)
    sign_in(page, site.platform.tokens["bob"], "/approvals")
    form = _approve_form(page)
    form.locator("input[name=csrf]").evaluate("field => field.remove()")  # a forged form has no token
    form.get_by_role("button").click()
    expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or wrong")
    screenshot(page, "refused-csrf")
    assert head(site.platform) == before

    page.goto("/approvals")
    form = _approve_form(page)
    form.get_by_label("Comment").fill("tested in uat's data, <b>fine</b>")
    form.get_by_role("button").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Approved: {RELEASE} for uat")
    expect(page.get_by_test_id("promoted")).to_contain_text(f"{RELEASE} is promoted to uat")
    screenshot(page, "approved")
    decision, promotion = Git(site.platform.config).run("log", "-2", "--format=%B%x1e", "main").split("\x1e")[1::-1]
    assert decision.strip().startswith(f"Approve {RELEASE} for uat\n\ntested in uat's data, <b>fine</b>")
    assert ("Shipyard-Decision", "approve") in parse_trailers(decision.strip())
    assert ("Shipyard-Approved-By", "bob") in parse_trailers(decision.strip())
    assert ("Shipyard-Freight", site.platform.release) in parse_trailers(decision.strip())
    assert promotion.strip().startswith(f"Promote {RELEASE} to uat")
    assert ("Shipyard-Approved-By", "bob") in parse_trailers(promotion.strip())
    page.goto("/board")
    uat = page.locator("table.board tbody tr", has_text="user-service").locator("td").nth(3)
    expect(uat).to_contain_text(RELEASE)


def test_a_cli_promotion_appears_on_an_open_page_without_a_reload(site: Site, browser: Chromium) -> None:
    expect = _expect()
    page = browser.page(site.url)
    sign_in(page, site.platform.tokens["carol"])
    expect(page.locator(".live")).to_have_text("live")  # the event stream is open
    page.evaluate("window.openedOnce = true")
    added = site.shipyard("freight", "add", "--version", NEW_ALPHA, "--image", f"user-service={digest(NEW_ALPHA)}")
    assert added.returncode == 0, added.stderr
    promoted = site.shipyard("promote", "--auto")
    assert promoted.returncode == 0, promoted.stderr
    dev = page.locator("table.board tbody tr", has_text="user-service").locator("td").nth(1)
    expect(dev).to_contain_text(NEW_ALPHA, timeout=60_000)  # the config repo is watched every 5 s
    assert page.evaluate("window.openedOnce") is True  # the same page: nothing reloaded it
    screenshot(page, "board-live")


def test_a_runs_step_logs_are_escaped_and_a_long_one_links_to_the_raw_log(site: Site, browser: Chromium) -> None:
    expect = _expect()
    raw, headers = github_delivery("pull_request", closed_pr(7, str(site.platform.root)))
    accepted = httpx.post(f"{site.url}/hooks/github", content=raw, headers=headers, timeout=30)
    assert accepted.status_code == 202, accepted.text
    record = _wait_done(site, headers["X-GitHub-Delivery"])
    assert record["outcome"]["status"] == "succeeded", record
    (run,) = record["outcome"]["run"]["pipelineRuns"]
    steps = [(tr["name"], s) for task in run["tasks"] for tr in task["taskRuns"] for s in tr["steps"] if s["log"]]
    (_, first), (last_run, last) = steps[0], steps[-1]
    with Path(first["log"]).open("a") as handle:  # what a step could print: markup is shown, never run
        handle.write("<script>document.title = 'owned'</script><b>not bold</b>\n")
    with Path(last["log"]).open("a") as handle:
        handle.write("".join(f"line {n} of a long log\n" for n in range(10_000)))
    page = browser.page(site.url)
    sign_in(page, site.platform.tokens["dan"], "/runs")
    expect(page.locator("#runs")).to_contain_text("preview-teardown")
    screenshot(page, "runs")
    page.get_by_role("link", name=f"github {record['id'][:8]}").click()
    step = page.locator("details.step", has=page.get_by_label(f"Log of {first['name']}")).first
    if step.get_attribute("open") is None:
        step.locator("summary").click()
    log = step.get_by_label(f"Log of {first['name']}")
    expect(log).to_contain_text("<b>not bold</b>")
    assert log.locator("b").count() == 0 and log.locator("script").count() == 0
    assert page.title() != "owned"
    long = page.locator("details.step", has=page.get_by_label(f"Log of {last['name']}"))
    long.locator("summary").click()
    expect(long).to_contain_text("The last")
    expect(long).to_contain_text("line 9999 of a long log")
    assert "line 0 of a long log" not in long.inner_text()
    shown = long.locator("pre.log")  # opened at its end, where a failure says why
    assert shown.evaluate("log => log.scrollTop > 0 && log.scrollTop + log.clientHeight >= log.scrollHeight - 2")
    screenshot(page, "run")
    raw_log = long.get_by_role("link", name="the raw log")
    expect(raw_log).to_have_attribute("href", f"/runs/{record['name']}/logs/{last_run}/{last['name']}")
    text = page.request.get(raw_log.get_attribute("href") or "").text()
    assert text.endswith("line 9999 of a long log\n")


def _wait_done(site: Site, delivery: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = httpx.get(f"{site.url}/runs", headers=site.bearer("dan"), timeout=10).json()
        for record in runs["done"]:
            if record["id"] == delivery:
                return dict(record)
        time.sleep(0.5)
    raise AssertionError(f"the delivery did not finish in {timeout} s:\n{site.server.log.read_text()}")


def _session(site: Site, person: str) -> tuple[httpx.Client, str]:
    """A plain HTTP client signed in as ``person`` the way a browser signs in, and its CSRF token."""
    client = httpx.Client(base_url=site.url, timeout=60, headers={"Accept": "text/html"})
    form = client.get("/login").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed = client.post(
        "/login", data={"csrf": csrf, "token": site.platform.tokens[person], "next": "/board"}, headers=_origin(site)
    )
    assert signed.status_code == 303, signed.text
    board = client.get("/board").text
    return client, board.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _origin(site: Site) -> dict[str, str]:
    return {"Origin": site.url}


def test_forms_without_their_csrf_token_or_from_another_site_are_refused_and_nothing_is_written(site: Site) -> None:
    before = head(site.platform)
    client, csrf = _session(site, "bob")
    approve = f"/approvals/preprod/{site.platform.hotfix}/approve"
    try:
        answers = {
            "no token": client.post(approve, data={"comment": "x"}, headers=_origin(site)).status_code,
            "wrong token": client.post(approve, data={"csrf": "x" * 43}, headers=_origin(site)).status_code,
            "another site": client.post(
                approve, data={"csrf": csrf}, headers={"Origin": "https://evil.example.com"}
            ).status_code,
            "another site's referer": client.post(
                approve, data={"csrf": csrf}, headers={"Referer": "https://evil.example.com/page"}
            ).status_code,
            "no origin": client.post(approve, data={"csrf": csrf}).status_code,
            "sign out without token": client.post("/logout", headers=_origin(site)).status_code,
        }
        assert answers == dict.fromkeys(answers, 403)
        assert head(site.platform) == before
        # Still signed in (the refused sign-out did nothing), and the rules still apply past CSRF.
        me = client.get("/", headers={"Accept": "application/json"}).json()["identity"]
        assert me == {"name": "bob", "via": "session"}
        # A bearer token is no ambient credential: no CSRF token needed, and the rules decide.
        dan = httpx.post(f"{site.url}{approve}", headers=site.bearer("dan"), data={"comment": "me"}, timeout=60)
        assert dan.status_code == 403
        assert "dan may not decide on preprod" in json.dumps(dan.json())
        assert head(site.platform) == before

        done = client.post(approve, data={"csrf": csrf, "comment": "second pair of eyes"}, headers=_origin(site))
        assert done.status_code == 200, done.text
    finally:
        client.close()
    log = Git(site.platform.config).run("log", "-2", "--format=%B%x1e", "main").split("\x1e")
    decision, promotion = log[1].strip(), log[0].strip()
    assert ("Shipyard-Approved-By", "bob") in parse_trailers(decision)
    assert promotion.startswith(f"Promote {HOTFIX} to preprod")
    assert [v for k, v in parse_trailers(promotion) if k == "Shipyard-Approved-By"] == ["carol", "bob"]


def test_the_api_says_what_the_cli_says(site: Site) -> None:
    pairs = {
        "/status": ["status", "--json"],
        "/approvals": ["approvals", "list", "--json"],
        "/freight": ["freight", "list", "--json"],
        "/trace/user-service": ["trace", "user-service", "--json"],
    }
    for path, command in pairs.items():
        cli = site.shipyard(*command)
        assert cli.returncode == 0, cli.stderr
        served = httpx.get(site.url + path, headers=site.bearer("alice"), timeout=30)
        assert served.status_code == 200, served.text
        assert served.json() == json.loads(cli.stdout), path
    assert httpx.get(site.url + "/board", timeout=30).status_code == 401  # nobody signed in, no token
