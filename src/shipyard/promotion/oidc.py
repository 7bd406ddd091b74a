"""OpenID Connect for ``shipyard serve`` on a cluster: its settings as data, and who a login is.

Shipyard does not run a login flow here: ``serve`` (or the proxy in front of it) talks to the provider
and verifies the ID token (signature, ``iss``, ``aud``, ``exp``, nonce). This module gives it the
settings from ``identity.oidc`` and turns the verified claims into a person of the spec. A person with
an ``oidcSubject`` is known by that subject only (an email can move to someone else at the provider);
anyone else by an email the provider has verified. ``requiredGroups`` narrow who may log in; they never
make anyone an approver, because who approves is written in the spec, in git.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shipyard.promotion.people import Directory
from shipyard.promotion.tokens import NotAuthenticated
from shipyard.spec.model import Platform

CLIENT_SECRET_KEY = "clientSecret"
MAX_GROUPS = 1000


@dataclass(frozen=True)
class OidcConfig:
    """What ``serve`` needs to log people in with the provider (no secret values: the Secret's name)."""

    issuer: str
    client_id: str
    client_secret_name: str
    scopes: tuple[str, ...]
    email_claim: str
    groups_claim: str
    required_groups: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The settings as data, e.g. for serve's ConfigMap; the client secret is read from the Secret
        named by ``clientSecretRef``."""
        return {
            "issuer": self.issuer,
            "clientId": self.client_id,
            "clientSecretRef": {"name": self.client_secret_name, "key": CLIENT_SECRET_KEY},
            "scopes": list(self.scopes),
            "emailClaim": self.email_claim,
            "groupsClaim": self.groups_claim,
            "requiredGroups": list(self.required_groups),
        }


def oidc_config(platform: Platform) -> OidcConfig | None:
    """The OIDC settings of ``identity.oidc``; None when the spec has none (tokens only)."""
    oidc = platform.identity.oidc
    if oidc is None:
        return None
    return OidcConfig(
        issuer=oidc.issuer,
        client_id=oidc.client_id,
        client_secret_name=oidc.client_secret,
        scopes=tuple(oidc.scopes),
        email_claim=oidc.email_claim,
        groups_claim=oidc.groups_claim,
        required_groups=tuple(oidc.required_groups),
    )


def person_for_claims(platform: Platform, claims: Mapping[str, object]) -> str:
    """The person of the spec a verified ID token's ``claims`` name; NotAuthenticated when none does, the
    issuer is not the spec's, or ``requiredGroups`` are set and the groups claim names none of them."""
    config = oidc_config(platform)
    if config is None:
        raise NotAuthenticated("not authenticated: shipyard.yaml sets no identity.oidc")
    if claims.get("iss") != config.issuer:
        raise NotAuthenticated("not authenticated: the token comes from another issuer")
    directory = Directory.of(platform)
    person: str | None = None
    subject = claims.get("sub")
    if isinstance(subject, str) and 0 < len(subject) <= 255:
        person = directory.by_subject(subject)
    email = claims.get(config.email_claim)
    if person is None and isinstance(email, str) and len(email) <= 254 and claims.get("email_verified") is True:
        found = directory.by_email(email)
        if found is not None and platform.people[found].oidc_subject is None:
            person = found
    if person is None:
        raise NotAuthenticated("not authenticated: no person in shipyard.yaml matches this login")
    if config.required_groups:
        groups = claims.get(config.groups_claim)
        held = (
            {g for g in groups if isinstance(g, str)}
            if isinstance(groups, list) and len(groups) <= MAX_GROUPS
            else set()
        )
        if not held & set(config.required_groups):
            raise NotAuthenticated(f"not authenticated: {person} is in none of the groups allowed to log in")
    return person
