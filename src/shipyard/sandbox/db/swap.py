"""The clone's databases on the target server: the work database it fills, the swap, and what it drops.

Every CREATE, RENAME and DROP here runs in one administrative session, and names a database whose
identity (the server's system identifier and the database's oid) that session established: the target
is checked against production before anything else, the work database is the one this session created
(marked with a comment), and a rename or drop first checks that the name still means that oid. A
database whose identity was not established is never dropped or replaced; a leftover from a killed run
is dropped only when it carries the clone's mark and is no production database.

Connections that write into the work database (psql for the schema, the copy's workers) check the
same identity before their first write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.dburl import printable
from shipyard.errors import ShipyardError
from shipyard.sandbox.db.identity import (
    Identity,
    database_oid,
    identify,
    refuse_same,
    system_identifier,
)
from shipyard.sandbox.db.pg import connect

MARK = "made by shipyard sandbox db clone; replaced by the next clone"


class ChangedUnderneath(ShipyardError):
    """A database name no longer means the database checked before: nothing is replaced or dropped."""


@dataclass
class Databases:
    """The target, the work database and the old target's parking name, on the server of ``admin``."""

    admin: Any  # an autocommit psycopg connection to a maintenance database of the target server
    system: int
    target: str
    target_oid: int | None  # None: there is no such database yet
    staging: str
    old: str
    origin: str
    staging_oid: int | None = None

    def _oid(self, name: str) -> int | None:
        return database_oid(self.admin, name)

    def _mark(self, oid: int) -> str | None:
        row = self.admin.execute("SELECT shobj_description(%s, 'pg_database')", (oid,)).fetchone()
        return None if row is None else row[0]

    def _execute(self, template: str, *names: str) -> None:
        from psycopg import sql

        self.admin.execute(sql.SQL(template).format(*(sql.Identifier(n) for n in names)))

    def _expect(self, name: str, oid: int | None) -> None:
        found = self._oid(name)
        if found != oid:
            raise ChangedUnderneath(
                f"the database '{name}' on {self.origin} changed while the clone ran (oid {oid} before, {found} now); "
                "nothing was replaced",
                hint="another process creates, renames or drops databases there; run the clone again",
            )

    def clear_leftovers(self, production: list[Identity]) -> None:
        """Drop the work databases a killed run left behind; refuse anything else under their names."""
        for name in (self.staging, self.old):
            oid = self._oid(name)
            if oid is None:
                continue
            refuse_same(Identity(self.system, oid, name, f"'{name}' on {self.origin}"), production)
            if self._mark(oid) != MARK:
                raise ShipyardError(
                    f"a database named '{name}' exists on {self.origin} and was not made by a clone; "
                    "the clone needs that name and will not drop it",
                    hint="rename or drop it yourself after checking what it holds",
                )
            self._execute("DROP DATABASE {} WITH (FORCE)", name)

    def create_staging(self, encoding: str) -> None:
        """Create the work database (marked as the clone's) and remember its oid."""
        from psycopg import sql

        self.admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
                sql.Identifier(self.staging), sql.Literal(encoding)
            )
        )
        self.staging_oid = self._oid(self.staging)
        self.admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(self.staging), sql.Literal(MARK))
        )

    def check_sql(self) -> str:
        """SQL that stops a script unless it runs in the work database this session created."""
        return (
            "DO $shipyard$ BEGIN IF (SELECT system_identifier FROM pg_control_system()) <> "
            f"{self.system} OR (SELECT oid FROM pg_database WHERE datname = current_database()) "
            f"IS DISTINCT FROM {self.staging_oid} THEN RAISE EXCEPTION "
            "'not the work database this clone created; nothing was written'; END IF; END $shipyard$;\n"
        )

    def open_staging(self, url: str) -> Any:
        """A connection to the work database, checked to be the one this session created."""
        conn = connect(url)
        found = identify(conn, printable(url))
        if (found.system, found.oid) != (self.system, self.staging_oid):
            conn.close()
            raise ChangedUnderneath(f"{found.origin} is not the work database this clone created; nothing was written")
        conn.commit()
        return conn

    def swap(self) -> None:
        """Put the work database in the target's place and drop the old target, each step checked by oid."""
        self._expect(self.target, self.target_oid)
        self._expect(self.staging, self.staging_oid)
        if self.target_oid is None:
            self._execute("ALTER DATABASE {} RENAME TO {}", self.staging, self.target)
            return
        # Sessions on the old sandbox database would block the rename: stop new ones, end the rest.
        self._execute("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false", self.target)
        try:
            self.admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datid = %s AND pid <> pg_backend_pid()",
                (self.target_oid,),
            )
            with self.admin.transaction():  # both renames or neither, each checked before it commits
                self._execute("ALTER DATABASE {} RENAME TO {}", self.target, self.old)
                self._execute("ALTER DATABASE {} RENAME TO {}", self.staging, self.target)
                self._expect(self.old, self.target_oid)
                self._expect(self.target, self.staging_oid)
        except Exception:
            self._execute("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true", self.target)
            raise
        self._expect(self.old, self.target_oid)
        self._execute("DROP DATABASE {} WITH (FORCE)", self.old)

    def drop_staging(self) -> None:
        """Drop the work database after a failure, if the name still means the one this session created."""
        if self.staging_oid is not None and self._oid(self.staging) == self.staging_oid:
            self._execute("DROP DATABASE {} WITH (FORCE)", self.staging)


def guard_target(admin: Any, target: str, staging: str, old: str, production: list[Identity], origin: str) -> Databases:
    """The target server's databases, after refusing a target that is one of the production databases."""
    system = system_identifier(admin, origin)
    target_oid = database_oid(admin, target)
    refuse_same(Identity(system, target_oid, target, origin), production)
    for name in (staging, old):  # the work names must not be production's either, even before they are touched
        oid = database_oid(admin, name)
        if oid is not None:
            refuse_same(Identity(system, oid, name, f"'{name}' on {origin}"), production)
    return Databases(admin, system, target, target_oid, staging, old, origin)
