"""The application's database role: not a superuser, and only a writer of the audit log.

Migrations run as the database's owner (a superuser on the embedded cluster). After them,
``grant`` gives the application role (``cad_app``) what serving needs and no more:
- it owns the operational tables, because it creates and attaches the day partitions of the
  position table and builds staging tables on import;
- on ``audit_log`` it may only SELECT and INSERT: no UPDATE, DELETE or TRUNCATE, and no
  ownership, so no trigger can be dropped. Sealing goes through ``audit_seal``, a function owned
  by the owner (SECURITY DEFINER) that sets a row's place in the chain once and nothing else;
- ``audit_chain`` (the chain's identity and where keyed hashing began) it may read, and set the
  start of keyed hashing once, through ``audit_chain_keyed_from``.

A compromised server process can therefore add audit rows, but not edit, remove or truncate
them; what the owner (or any superuser) can still do is caught by the keyed chain and its
checkpoints kept outside the database (``command.audit_checkpoints``).
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

# Relations the application role must not own: the audit log and its chain record, and
# Alembic's version table (only migrations move it).
KEPT_BY_OWNER = ("audit_log", "audit_chain", "alembic_version")
DEFINER_FUNCTIONS = (
    "audit_seal(bigint[], bigint[], text[], text[])",
    "audit_chain_keyed_from(bigint)",
)

_RELATIONS = text(
    """
    SELECT c.relname, c.relkind::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
      -- sequences owned by a column move with their table
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d
               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
               AND d.deptype IN ('a', 'i')))
      AND pg_get_userbyid(c.relowner) <> :role
    ORDER BY c.relname
    """
)

_ALTER = {
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "S": "SEQUENCE",
    "f": "FOREIGN TABLE",
}


async def _quoted(conn: AsyncConnection, template: str, *args: str) -> str:
    """``format()`` on the server: identifiers (%I) and literals (%L) quoted by PostgreSQL."""
    placeholders = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
    statement = text(f"SELECT format(:t, {placeholders})")
    params = {"t": template, **{f"a{i}": a for i, a in enumerate(args)}}
    return str(await conn.scalar(statement, params))


async def ensure_role(conn: AsyncConnection, role: str, password: str) -> None:
    """Create the login role (or reset its password and attributes)."""
    exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    verb = "ALTER" if exists else "CREATE"
    await conn.execute(
        text(
            await _quoted(
                conn,
                f"{verb} ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS PASSWORD %L",
                role,
                password,
            )
        )
    )


async def grant(conn: AsyncConnection, role: str) -> None:
    """Give ``role`` the operational tables and the audit log's writer rights (idempotent)."""
    database = str(await conn.scalar(text("SELECT current_database()")))
    await conn.execute(
        text(await _quoted(conn, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", database, role))
    )
    await conn.execute(
        text(await _quoted(conn, "GRANT USAGE, CREATE ON SCHEMA public TO %I", role))
    )
    rows = (await conn.execute(_RELATIONS, {"role": role})).all()
    for name, kind in rows:
        if name in KEPT_BY_OWNER:
            continue
        await conn.execute(
            text(await _quoted(conn, f"ALTER {_ALTER[kind]} %I OWNER TO %I", name, role))
        )
    for name in KEPT_BY_OWNER:
        if await conn.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is None:
            continue
        await conn.execute(text(await _quoted(conn, "REVOKE ALL ON %I FROM %I", name, role)))
        await conn.execute(text(await _quoted(conn, "GRANT SELECT ON %I TO %I", name, role)))
    await conn.execute(text(await _quoted(conn, "GRANT INSERT ON audit_log TO %I", role)))
    for function in DEFINER_FUNCTIONS:
        if await conn.scalar(text("SELECT to_regprocedure(:f)"), {"f": function}) is None:
            continue  # a schema older than the audit guard
        await conn.execute(text(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC"))
        await conn.execute(
            text(await _quoted(conn, f"GRANT EXECUTE ON FUNCTION {function} TO %I", role))
        )
    # Extension tables (PostGIS's spatial_ref_sys) stay the extension's; reading is enough.
    await conn.execute(
        text(await _quoted(conn, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I", role))
    )
    await conn.execute(
        text(
            await _quoted(conn, "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I", role)
        )
    )
    log.debug(
        "role %s owns %d relations; the audit log it may only read and append", role, len(rows)
    )
