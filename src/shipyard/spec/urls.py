"""URLs of the spec: no credentials in them, and nothing a command line could read as an option.

``shipyard.yaml`` is rendered into dozens of files of the config repo and printed by ``check``, so a
password, a token as a URL's user name, or a ``?password=`` parameter in any URL of it would be
written into git. Such a URL is refused when the spec loads; what counts as a credential is what
``shipyard.redact`` hides, the one definition of a secret in text.
"""

from __future__ import annotations

from shipyard.redact import redact

# Where each kind of URL takes its credentials from instead (the hint of the refusal).
HINTS = {
    "registry": "registry credentials come from SHIPYARD_REGISTRY_USERNAME/SHIPYARD_REGISTRY_PASSWORD or the "
    "docker/podman auth file here, and from the pull secret of secrets.store on a cluster",
    "repos": "git credentials come from a credential helper, an SSH key or the CI's token, never from the URL",
    "npm": "the npm token comes from SHIPYARD_NPM_TOKEN",
    "cluster": "cluster credentials belong in Argo CD's cluster Secret, from secrets.store",
    "database": "the password lives in the Secret named by secretRef",
    "oidc": "an OIDC provider needs no credential in its URL; serve's client secret lives in the Secret named by "
    "identity.oidc.clientSecret",
    "prometheus": "give Prometheus's credentials to Argo Rollouts from a Secret, never in the URL",
}


def credential_problem(url: str, kind: str) -> str | None:
    """Why ``url`` may not stand in the spec because it carries a credential, or None.

    Besides what ``redact`` hides, a location without a scheme (a registry host, an scp-like git remote
    such as ``git@github.com:acme/app.git``) may not carry a password (``user:password@host``), and a
    registry host no user name either.
    """
    shown = redact(url)
    if shown == url and "://" not in url:
        authority = url.split("/", 1)[0]
        userinfo, at, host = authority.rpartition("@")
        if at and (":" in userinfo or kind == "registry"):
            shown = f"***@{host}" + url[len(authority) :]
    if shown == url:
        return None
    return (
        f"'{shown}' carries a credential (shown as ***); shipyard.yaml is rendered into git, so it must not hold "
        f"one: {HINTS[kind]}"
    )


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a location (URL or path) on a command line, or None."""
    if not value.strip():
        return "must not be empty"
    if value.startswith("-"):
        return f"'{value}' starts with '-', which a command would read as an option"
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return f"{value!r} holds whitespace or a control character"
    return None


def location_problem(value: str, kind: str) -> str | None:
    """Why ``value``, a URL or path of the spec, may not stand there: a command line could misread it, or it
    carries a credential (``kind`` says which hint to give); None when it may."""
    return text_problem(value) or credential_problem(value, kind)


def line_problem(value: str) -> str | None:
    """Why ``value`` cannot be one line of text shown to people (a name, a claim): a line break or another
    control character would forge a line wherever it is printed, logged or committed."""
    if not value.isprintable():
        return f"{value!r} holds a line break or another control character"
    return None


def word_problem(value: str) -> str | None:
    """Why ``value`` cannot be an identifier sent to a server (an OIDC client id): it must be printable ASCII
    without spaces."""
    if not value or not all("!" <= char <= "~" for char in value):
        return f"{value!r} is not printable ASCII without spaces"
    return None
