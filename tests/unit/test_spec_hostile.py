"""Hostile and careless specs: refused when shipyard.yaml loads, with the field and what would be valid.

Everything `render`, `promote` or `release` would later refuse, or would write into the wrong place, is
refused by the loader (and so by `check`): names that become paths or Kubernetes names, host and
namespace patterns, credentials in URLs, schedules, the tag prefix, and YAML that would take unbounded
time or memory to read.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import ShipyardError, SpecError
from shipyard.spec.loader import MAX_SPEC_DEPTH, parse_spec
from shipyard.spec.model import MAX_PR_NUMBER, PREVIEW_NAMESPACE_FIELDS, Environment
from shipyard.spec.template import dns_subdomain_problem, parse_template

MINIMAL = """\
org: acme
domain: acme.example.com
registry:
  url: harbor.acme.example.com
"""
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "shipyard.yaml")
    return [str(p) for p in info.value.problems]


def one_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# YAML that would take unbounded time or memory


def test_the_reviews_alias_bomb_is_refused_from_its_first_lines() -> None:
    levels = [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 9)]
    text = MINIMAL + 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "\n".join(levels) + "\n"
    found = one_problem(text)
    assert "stands for more than 100000 values once its aliases are expanded" in found
    assert found.startswith("shipyard.yaml:")


def test_deep_nesting_is_refused_with_its_line() -> None:
    text = MINIMAL + "services:\n  api:\n    env:\n      x: " + "[" * 200 + "]" * 200 + "\n"
    assert f"shipyard.yaml:8: (document): nests deeper than {MAX_SPEC_DEPTH} levels" in one_problem(text)


def test_a_node_that_contains_itself_is_refused() -> None:
    assert "an alias refers to a node that contains it" in one_problem(MINIMAL + "x: &x [*x]\n")


def test_a_spec_over_its_size_limit_is_refused() -> None:
    assert "larger than 1 MiB" in one_problem(MINIMAL + "#" * (1024 * 1024) + "\n")


def test_a_long_run_of_comments_still_loads() -> None:
    # The round-trip parser took quadratic time here; the safe one reads it in one pass.
    assert parse_spec(MINIMAL + "# a comment\n" * 50_000).org == "acme"


def test_a_duplicate_key_is_a_syntax_problem() -> None:
    assert "(syntax)" in one_problem(MINIMAL + "org: other\n")


def test_ordinary_anchors_still_work() -> None:
    text = MINIMAL + "environments:\n  - name: dev\n    strategy: &s recreate\n  - name: staging\n    strategy: *s\n"
    platform = parse_spec(text)
    assert platform.environment("staging").strategy.kind == "recreate"


# names that become paths or Kubernetes names


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ("../../../escape-{number}", "holds the character '.'"),
        ("pr-{number}/x", "holds the character '/'"),
        ("PR-{number}", "holds the character 'P'"),
        ("pr-{number.__class__}", "unknown placeholder {number.__class__}"),
        ("pr-{0}", "unknown placeholder {0}"),
        ("pr-{{number}}", "a brace without its pair"),
        ("pr-{number}-{number}", "contain {number} once"),
        ("preview", "contain {number} once"),
        ("-pr-{number}", "not a DNS label"),
        ("preview-namespace-of-the-pull-request-numbered-{number}-here-now", f"for PR {MAX_PR_NUMBER}"),
    ],
)
def test_the_preview_namespace_is_a_dns_label_for_every_pr(namespace: str, message: str) -> None:
    found = one_problem(MINIMAL + f"preview:\n  namespace: '{namespace}'\n")
    assert found.startswith("shipyard.yaml:6:") and "preview.namespace" in found and message in found


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("{service.__class__}.{domain}", "unknown placeholder {service.__class__}"),
        ("{service}.{env}.{domain}.{number}", "unknown placeholder {number}"),
        ("{service}..{domain}", "does not make a DNS name"),
        ("{service}.{domain}.", "does not make a DNS name"),
        ("{service}_{env}.{domain}", "holds the character '_'"),
        ("{env}.{domain}", "must contain {service}"),
        ("{service}.{domain}\n", "holds the character '\\n'"),
    ],
)
def test_environment_host_patterns_are_templates_with_documented_fields(host: str, message: str) -> None:
    escaped = host.replace("\n", "\\n")
    found = one_problem(MINIMAL + f'environments:\n  - name: dev\n    host: "{escaped}"\n')
    assert "environments[0].host" in found and message in found


def test_preview_host_needs_the_number_and_the_service() -> None:
    assert "must contain {number}" in one_problem(MINIMAL + "preview:\n  host: '{service}.preview.{domain}'\n")
    assert "must contain {service}" in one_problem(MINIMAL + "preview:\n  host: 'pr-{number}.preview.{domain}'\n")


def test_a_host_that_is_too_long_for_a_service_is_refused_at_render() -> None:
    env = Environment(name="dev", host="{service}.dev.{domain}")
    with pytest.raises(ShipyardError, match="longer than 63"):
        env.host_for("s" * 64, "acme.example.com")
    assert env.host_for("api", "acme.example.com") == "api.dev.acme.example.com"


@pytest.mark.parametrize("name", ["Bad_Name", "../escape", "x" * 64, "api\n"])
def test_service_names_in_the_spec_are_dns_labels(name: str) -> None:
    found = one_problem(MINIMAL + f'services:\n  "{name.encode("unicode_escape").decode()}": {{port: 80}}\n')
    assert "services." in found


def test_a_domain_with_a_trailing_newline_is_refused() -> None:
    found = one_problem('org: acme\ndomain: "acme.example.com\\n"\nregistry: {url: r.example.com}\n')
    assert "domain" in found and "is not a DNS domain" in found


@pytest.mark.parametrize("domain", ["a" * 64 + ".example.com", ".".join(["abcdefghij"] * 26)])
def test_a_domain_over_dns_lengths_is_refused(domain: str) -> None:
    assert "is not a DNS domain" in one_problem(f"org: acme\ndomain: {domain}\nregistry: {{url: r.example.com}}\n")


def test_the_secret_store_is_a_kubernetes_name() -> None:
    assert "secrets.store" in one_problem(MINIMAL + "secrets: {store: 'Vault Store'}\n")


@pytest.mark.parametrize("rules", ["../outside.yaml", "/etc/passwd", "rules/../../x", "-rules.yaml"])
def test_the_masking_rules_file_is_inside_the_workspace(rules: str) -> None:
    found = one_problem(MINIMAL + f"sandbox:\n  database:\n    rules: '{rules}'\n")
    assert "sandbox.database.rules" in found and "inside the workspace" in found


# credentials in URLs


@pytest.mark.parametrize(
    ("yaml_text", "field", "hint"),
    [
        ("registry: {url: 'robot:s3cret@harbor.acme.example.com'}", "registry.url", "SHIPYARD_REGISTRY_PASSWORD"),
        ("registry: {url: 'https://robot:s3cret@harbor.acme.example.com'}", "registry.url", "docker/podman auth"),
        ("repos: {config: 'https://x:s3cret@github.com/acme/config.git'}", "repos.config", "credential helper"),
        ("repos: {app: 'https://ghp_s3cret@github.com/acme/app.git'}", "repos.app", "credential helper"),
        ("repos: {app: 'git:s3cret@github.com:acme/app.git'}", "repos.app", "credential helper"),
        ("npm: {registry: 'https://u:s3cret@verdaccio.acme.example.com'}", "npm.registry", "SHIPYARD_NPM_TOKEN"),
        ("npm: {registry: 'https://verdaccio.acme.example.com/?_authToken=s3cret'}", "npm.registry", "NPM_TOKEN"),
        (
            "clusters: [{name: staging, server: 'https://admin:s3cret@k8s.acme'}, {name: production}]",
            "clusters[0]",
            "Argo CD",
        ),
        (
            "environments: [{name: dev, database: {url: 'postgresql://db/app?password=s3cret', secretRef: dev-db}}]",
            "environments[0].database.url",
            "secretRef",
        ),
    ],
)
def test_credentials_in_any_url_are_refused_and_never_shown(yaml_text: str, field: str, hint: str) -> None:
    text = MINIMAL.replace("registry:\n  url: harbor.acme.example.com\n", "") + yaml_text + "\n"
    if not yaml_text.startswith("registry"):
        text += "registry: {url: harbor.acme.example.com}\n"
    found = one_problem(text)
    assert field in found and "carries a credential" in found and hint in found
    assert "s3cret" not in found


@pytest.mark.parametrize(
    "location",
    ["git@github.com:acme/config.git", "ssh://git@github.com/acme/config.git", "https://github.com/acme/c.git"],
)
def test_ordinary_repository_locations_are_accepted(location: str) -> None:
    assert parse_spec(MINIMAL + f"repos: {{config: '{location}'}}\n").repos.config == location


@pytest.mark.parametrize("location", ["--upload-pack=touch /tmp/pwned", "-u", "has space", "tab\there"])
def test_a_repository_location_a_command_could_misread_is_refused(location: str) -> None:
    assert "repos.config" in one_problem(MINIMAL + f"repos: {{config: '{location}'}}\n")


def test_a_cluster_server_is_https() -> None:
    found = one_problem(MINIMAL + "clusters: [{name: staging, server: 'http://k8s'}, {name: production}]\n")
    assert "clusters[0].server" in found and "https" in found


# schedules and the tag prefix


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 */6 * * * extra", "6 fields"),
        ("0 */6 * * *\\n", "not a cron schedule"),
        ("60 * * * *", "minute '60' is out of range"),
        ("* * * *", "4 fields"),
        ("*/0 * * * *", "step '0'"),
        ("0 0 * * mon-xyz", "out of range"),
    ],
)
def test_schedules_are_five_field_cron(schedule: str, message: str) -> None:
    for section, key in (("preview", "cleanupSchedule"), ("sandbox", "schedule")):
        found = one_problem(MINIMAL + f'{section}:\n  {key}: "{schedule}"\n')
        assert f"{section}.{key}" in found and message in found


@pytest.mark.parametrize("schedule", ["0 */6 * * *", "30 2 1-15/2 jan,jul mon-fri", "@daily", "0 0 ? * 0"])
def test_ordinary_schedules_are_accepted(schedule: str) -> None:
    assert parse_spec(MINIMAL + f'sandbox:\n  schedule: "{schedule}"\n').sandbox.schedule == schedule


@pytest.mark.parametrize("prefix", ["-", ".", "--", "-v", ".v", "v..x", "v1", "1", "v/", "v\\n", "x" * 33])
def test_tag_prefixes_git_or_oci_would_refuse_are_refused(prefix: str) -> None:
    assert "versioning.tagPrefix" in one_problem(MINIMAL + f'versioning:\n  tagPrefix: "{prefix}"\n')


@pytest.mark.parametrize("prefix", ["", "v", "release-", "rel.v", "_v"])
def test_ordinary_tag_prefixes_are_accepted(prefix: str) -> None:
    assert parse_spec(MINIMAL + f'versioning:\n  tagPrefix: "{prefix}"\n').versioning.tag_prefix == prefix


# properties


pattern_text = st.text(st.sampled_from("abz09-._{}/Anumberservicedomainorgenv"), max_size=30)


@settings(max_examples=300, deadline=None)
@given(pattern_text)
def test_a_namespace_pattern_is_accepted_only_when_every_pr_makes_a_dns_label(pattern: str) -> None:
    try:
        parse_spec(MINIMAL + f"preview:\n  namespace: '{pattern}'\n")
    except SpecError:
        return
    template = parse_template(pattern, PREVIEW_NAMESPACE_FIELDS, "a-z0-9-")
    for number in (1, 42, 10**9, MAX_PR_NUMBER):
        name = template.render(number=str(number))
        assert DNS_LABEL.fullmatch(name), name


@settings(max_examples=300, deadline=None)
@given(pattern_text, st.sampled_from(["api", "a", "user-service", "s" * 63]))
def test_a_host_pattern_is_accepted_only_when_it_makes_dns_names(pattern: str, service: str) -> None:
    try:
        env = Environment(name="dev", host=pattern)
    except ValueError:
        return
    try:
        host = env.host_for(service, "acme.example.com", "acme")
    except ShipyardError as exc:
        assert "longer than 63" in str(exc) or "longer than 253" in str(exc)
        return
    assert dns_subdomain_problem(host) is None and service in host


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["{service}", "{env}", "{domain}", "{org}", "pr", "x1", "a-b"]), min_size=1, max_size=5)
)
def test_dot_separated_fields_and_labels_make_an_accepted_host_pattern(labels: list[str]) -> None:
    pattern = ".".join(["{service}", *labels])
    assert Environment(name="dev", host=pattern).host_for("api", "acme.example.com", "acme").startswith("api.")


# people, groups, approvals, identity, auth and clusters


@pytest.mark.parametrize(
    ("yaml_text", "field", "words"),
    [
        ("auth: {oidc: {issuerUrl: 'https://u:s3cret@login.acme', clientId: kargo}}", "auth.oidc.issuerUrl", "OIDC"),
        ('auth: {oidc: {issuerUrl: "https://login.acme\\n", clientId: kargo}}', "auth.oidc.issuerUrl", "control"),
        ("auth: {oidc: {issuerUrl: 'https://login.acme', clientId: 'kar go'}}", "auth.oidc.clientId", "ASCII"),
        ("auth: {oidc: {issuerUrl: 'https://login.acme', clientId: k, cliClientId: \"c\\n\"}}", "cliClientId", "ASCII"),
        ("auth: {oidc: {issuerUrl: 'https://login.acme', clientId: k, admins: [\"x\\n@y\"]}}", "auth.oidc.admins", ""),
        (
            "identity: {oidc: {issuer: 'https://login.acme/?password=s3cret', clientId: s, clientSecret: oidc}}",
            "identity.oidc.issuer",
            "credential",
        ),
        (
            'identity: {oidc: {issuer: "https://login.acme\\n", clientId: s, clientSecret: oidc}}',
            "identity.oidc.issuer",
            "control",
        ),
        (
            "identity: {oidc: {issuer: 'https://login.acme', clientId: \"s\\r\\nX: 1\", clientSecret: oidc}}",
            "identity.oidc.clientId",
            "ASCII",
        ),
        (
            "identity: {oidc: {issuer: 'https://login.acme', clientId: s, clientSecret: oidc, "
            'requiredGroups: ["eng\\nadmins"]}}',
            "identity.oidc.requiredGroups",
            "line break",
        ),
        ('identity: {tokens: {file: ".shipyard/tokens\\r"}}', "identity.tokens.file", "control"),
        ('people: {alice: {name: "Alice\\nShipyard-Approved-By: bob", emails: [a@x.io]}}', "people.alice.name", ""),
        ('people: {alice: {oidcSubject: "sub\\u2028x", emails: [a@x.io]}}', "people.alice.oidcSubject", "line"),
        ('people: {alice: {emails: ["a@x.io\\n"]}}', "people.alice.emails", ""),
        ("people: {'../alice': {emails: [a@x.io]}}", "people", ""),
        ("people: {alice: {emails: [a@x.io]}}\ngroups: {'-eng': [alice]}", "groups", ""),
        (
            "people: {alice: {emails: [a@x.io]}}\n"
            "environments: [{name: uat, approvals: {approvers: ['group:../eng']}}]",
            "environments[0].approvals.approvers[0]",
            "unknown group",
        ),
        (
            "clusters: [{name: staging}, {name: production, server: 'https://k8s.acme', "
            "credentials: 'clusters/../../other-org/x'}]",
            "clusters[1].credentials",
            "below the org",
        ),
        (
            "environments: [{name: preprod, strategy: {canary: {analysis: {prometheus: "
            "{address: 'http://u:s3cret@prometheus.monitoring:9090'}}}}}]",
            "prometheus.address",
            "credential",
        ),
    ],
)
def test_the_new_fields_are_checked_when_the_spec_loads(yaml_text: str, field: str, words: str) -> None:
    found = problems(MINIMAL + yaml_text + "\n")
    assert any(field in problem and words in problem for problem in found), found
    assert "s3cret" not in str(found)


def test_ordinary_people_identity_and_auth_load() -> None:
    text = MINIMAL + (
        "people: {alice: {name: 'Alice Ø. Smith', emails: [alice@acme.example.com], oidcSubject: 'auth0|123'}}\n"
        "groups: {eng: [alice]}\n"
        "identity: {oidc: {issuer: 'https://login.acme.example.com', clientId: 'shipyard', clientSecret: oidc, "
        "requiredGroups: ['Platform Engineers']}}\n"
        "auth: {oidc: {issuerUrl: 'https://login.acme.example.com', clientId: 'kargo-123', admins: [alice@acme.io]}}\n"
        "clusters: [{name: staging}, {name: production, server: 'https://k8s.acme', credentials: clusters/prod}]\n"
        "secrets: {store: vault}\n"
    )
    platform = parse_spec(text)
    assert platform.people["alice"].name == "Alice Ø. Smith" and platform.auth.oidc is not None
