"""Where the masking salt and the production URLs come from: never the rules file, never git."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.spec.model import Platform

SALT_ENV = "SHIPYARD_SANDBOX_SALT"


def read_salt(salt_file: Path | None, salt: str | None = None) -> str:
    """The salt from ``--salt-file``, else ``salt`` (the CLI reads it from SHIPYARD_SANDBOX_SALT): one line of
    printable text, read with a size limit (``shipyard.secretfile``)."""
    from shipyard.secretfile import check_secret, read_secret

    if salt_file is not None:
        return read_secret(salt_file, "the masking salt")
    if not salt:
        raise ShipyardError(
            "no masking salt: the clone needs a secret salt to mask deterministically",
            hint=f"set {SALT_ENV} (from a Kubernetes Secret in the CronJob) or pass --salt-file",
        )
    return check_secret(salt, f"the masking salt (--salt or {SALT_ENV})")


def production_urls(platform: Platform | None) -> list[tuple[str, str]]:
    """The database URLs of production (and of the environment the sandbox mirrors) in ``platform``, if any."""
    if platform is None:
        return []
    names = {"production"}
    names |= {env.upstream for env in platform.environments if env.name == platform.sandbox.namespace and env.upstream}
    return [
        (f"{env.name} in shipyard.yaml", env.database.url)
        for env in platform.environments
        if env.name in names and env.database is not None
    ]
