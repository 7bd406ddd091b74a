"""Where the masking salt and the production URLs come from: never the rules file, never git."""

from __future__ import annotations

import os
from pathlib import Path

from shipyard.errors import ShipyardError

SALT_ENV = "SHIPYARD_SANDBOX_SALT"


def read_salt(salt_file: Path | None) -> str:
    """The salt from ``--salt-file`` or the SHIPYARD_SANDBOX_SALT variable: one line of printable text, read
    with a size limit (``shipyard.secretfile``)."""
    from shipyard.secretfile import check_secret, read_secret

    if salt_file is not None:
        return read_secret(salt_file, "the masking salt")
    salt = os.environ.get(SALT_ENV, "")
    if not salt:
        raise ShipyardError(
            "no masking salt: the clone needs a secret salt to mask deterministically",
            hint=f"set {SALT_ENV} (from a Kubernetes Secret in the CronJob) or pass --salt-file",
        )
    return check_secret(salt, f"the masking salt in {SALT_ENV}")


def production_urls(root: Path) -> list[tuple[str, str]]:
    """The database URLs of production (and of the environment the sandbox mirrors) from shipyard.yaml, if any."""
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import SPEC_FILENAME, find_root

    found = find_root(root)
    if found is None:
        return []
    platform = load_spec(found / SPEC_FILENAME)
    names = {"production"}
    names |= {env.upstream for env in platform.environments if env.name == platform.sandbox.namespace and env.upstream}
    return [
        (f"{env.name} in shipyard.yaml", env.database.url)
        for env in platform.environments
        if env.name in names and env.database is not None
    ]
