"""Compare the packages' table definitions with a migrated database, difference by difference.

Alembic's ``compare_metadata`` finds missing or extra tables, columns, indexes, unique and
foreign keys, types, nullability and server defaults. It does not look at an index's method,
operator classes or predicate, nor at check constraints or primary keys; for those each declared
object is built once more on the database under a probe name, inside a savepoint that is rolled
back, and the server's own rendering (``pg_get_indexdef``, ``pg_get_constraintdef``) of both is
compared, so neither side needs parsing. Probes are built on the tables themselves: use a fresh,
empty database.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.sql.functions import next_value

PROBE = "cad_schema_probe"
ALEMBIC_TABLES = frozenset({"alembic_version"})

_EXTENSION_TABLES = sa.text(
    "SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid"
    " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass"
    " AND d.deptype = 'e' AND c.relkind IN ('r', 'p')"
)
# Partitions (daily breadcrumbs) are made at run time by the maintenance, as rows of their
# declared parent; only the parent is a package's table.
_PARTITIONS = sa.text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relispartition AND n.nspname = current_schema()"
)
_INDEX_DEF = sa.text(
    "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
    " JOIN pg_class c ON c.oid = i.indexrelid"
    " WHERE i.indrelid = CAST(:table AS regclass) AND c.relname = :name"
)
_CHECKS = sa.text(
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = CAST(:table AS regclass) AND contype = 'c'"
)
_CHECK_DEF = sa.text(
    "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conrelid = CAST(:table AS regclass) AND conname = :name"
)
_COLUMN_DEFAULT = sa.text(
    "SELECT column_default, pg_get_serial_sequence(:table, :column) FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = :table AND column_name = :column"
)


@dataclass(frozen=True, slots=True)
class Reference:
    """A foreign key from one package's table to another package's table: it cannot be declared
    across two ``MetaData`` objects, so it is listed instead."""

    table: str
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    ondelete: str | None = None

    def __str__(self) -> str:
        on_delete = f" ON DELETE {self.ondelete}" if self.ondelete else ""
        return (
            f"{self.table}({', '.join(self.columns)}) -> "
            f"{self.referred_table}({', '.join(self.referred_columns)}){on_delete}"
        )


def copy_of(metadata: sa.MetaData) -> sa.MetaData:
    """A separate copy of every table of ``metadata``, to change without touching the original."""
    copy = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(copy)
    return copy


def differences(
    conn: Connection, metadata: sa.MetaData, references: Collection[Reference] = ()
) -> list[str]:
    """Every way the database differs from ``metadata``'s own tables, one sentence each.

    Foreign keys from these tables to tables outside ``metadata`` must be exactly those of
    ``references`` whose table is here.
    """
    own = set(metadata.tables)
    found: list[str] = []
    crossing: set[Reference] = set()
    for diff in _alembic_differences(conn, metadata):
        if diff[0] == "remove_fk" and diff[1].referred_table.name not in own:
            crossing.add(_reference(diff[1]))
        elif not _same_sequence_default(conn, metadata, diff):
            found.append(_describe(diff, conn.dialect))
    listed = {r for r in references if r.table in own}
    found += [
        f"foreign key {r} is in the database but not in the list of cross-package references"
        for r in sorted(crossing - listed, key=str)
    ]
    found += [
        f"cross-package reference {r} is listed but the database has no such foreign key"
        for r in sorted(listed - crossing, key=str)
    ]
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue  # reported above as a table without a migration
        found += _primary_key(inspector, table)
        found += _index_definitions(conn, table)
        found += _check_constraints(conn, table)
    return found


def table_set_differences(conn: Connection, packages: Mapping[str, sa.MetaData]) -> list[str]:
    """How the database's tables differ from the union of the packages' tables: a table no
    package declares, one that two declare, one no migration makes. Tables of extensions
    (``spatial_ref_sys``) and of Alembic are not the packages' to declare."""
    extension_tables = set(conn.execute(_EXTENSION_TABLES).scalars())
    partitions = set(conn.execute(_PARTITIONS).scalars())
    in_database = (
        set(sa.inspect(conn).get_table_names()) - extension_tables - ALEMBIC_TABLES - partitions
    )
    owners: dict[str, list[str]] = {}
    for package, metadata in packages.items():
        for name in metadata.tables:
            owners.setdefault(name, []).append(package)
    found = [
        f"table {name} is in the database but no package declares it"
        for name in sorted(in_database - set(owners))
    ]
    found += [
        f"table {name} is declared by {' and '.join(by)}"
        for name, by in sorted(owners.items())
        if len(by) > 1
    ]
    found += [
        f"table {name} is declared by {owners[name][0]} but no migration makes it"
        for name in sorted(set(owners) - in_database)
    ]
    return found


# --- what Alembic compares -------------------------------------------------------------------


def _alembic_differences(conn: Connection, metadata: sa.MetaData) -> Iterator[tuple[Any, ...]]:
    own = set(metadata.tables)

    def include(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        # Other packages' tables are theirs to compare; the table set is checked on its own.
        return type_ != "table" or name in own

    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": include,
        },
    )
    for diff in compare_metadata(context, metadata):
        # Changes to one column come as a list of tuples, the rest as single tuples.
        if isinstance(diff, list):
            yield from diff
        else:
            yield diff


def _reference(fk: sa.ForeignKeyConstraint) -> Reference:
    return Reference(
        table=fk.table.name,
        columns=tuple(fk.column_keys),
        referred_table=fk.referred_table.name,
        referred_columns=tuple(e.target_fullname.rsplit(".", 1)[-1] for e in fk.elements),
        ondelete=fk.ondelete.upper() if fk.ondelete else None,
    )


def _same_sequence_default(conn: Connection, metadata: sa.MetaData, diff: tuple[Any, ...]) -> bool:
    """Alembic reads ``nextval`` of a sequence the column owns as no default at all; check such
    a declared ``server_default=sequence.next_value()`` against the database directly."""
    if diff[0] != "modify_default" or diff[5] is not None:
        return False
    table, column = diff[2], diff[3]
    declared = metadata.tables[table].c[column].server_default
    arg = getattr(declared, "arg", None)
    if not isinstance(arg, next_value):
        return False
    default, owned = conn.execute(_COLUMN_DEFAULT, {"table": table, "column": column}).one()
    name = arg.sequence.name
    return bool(default == f"nextval('{name}'::regclass)" and owned == f"public.{name}")


def _describe(diff: tuple[Any, ...], dialect: sa.Dialect) -> str:
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name} is declared but not in the database"
    if kind in ("add_column", "remove_column"):
        where = (
            "declared but not in the database"
            if kind == "add_column"
            else ("in the database but not declared")
        )
        return f"column {diff[2]}.{diff[3].name} is {where}"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        obj = diff[1]
        what = "index" if isinstance(obj, sa.Index) else "unique constraint"
        columns = ", ".join(str(c.name) for c in obj.columns)
        where = (
            "declared but not in the database"
            if kind.startswith("add")
            else ("in the database but not declared")
        )
        return f"{what} {obj.name} on {obj.table.name}({columns}) is {where}"
    if kind in ("add_fk", "remove_fk"):
        where = (
            "declared but not in the database"
            if kind == "add_fk"
            else ("in the database but not declared")
        )
        return f"foreign key {_reference(diff[1])} is {where}"
    if kind.startswith("modify_"):
        attribute = {"modify_default": "server default"}.get(kind, kind.removeprefix("modify_"))
        return (
            f"column {diff[2]}.{diff[3]}: {attribute} is {_sql(diff[5], dialect)} in the "
            f"database, {_sql(diff[6], dialect)} in the tables"
        )
    return f"{kind}: {diff[1:]!r}"


def _sql(value: object, dialect: sa.Dialect) -> str:
    """A type or a server default as SQL, e.g. ``geometry(POINT,4326)``, ```now()```."""
    if isinstance(value, sa.types.TypeEngine):
        return str(value.compile(dialect=dialect))
    if isinstance(value, sa.DefaultClause):
        value = value.arg
    if isinstance(value, sa.TextClause):
        return f"`{value.text}`"
    if isinstance(value, sa.ClauseElement):
        return f"`{value.compile(dialect=dialect)}`"
    return "none" if value is None else f"`{value}`"


# --- what the server compares for us ---------------------------------------------------------


def _primary_key(inspector: sa.Inspector, table: sa.Table) -> list[str]:
    in_database = inspector.get_pk_constraint(table.name)["constrained_columns"]
    declared = [c.name for c in table.primary_key.columns]
    if in_database == declared:
        return []
    return [
        f"table {table.name}: primary key is {in_database} in the database, "
        f"{declared} in the tables"
    ]


def _rendered_by_server(conn: Connection, ddl: str, query: sa.TextClause, **params: str) -> str:
    """Build ``ddl`` (which names :data:`PROBE`) in a savepoint, read it back, roll it back."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text(ddl))
        return str(conn.execute(query, params).scalar_one())
    finally:
        savepoint.rollback()


def _index_definitions(conn: Connection, table: sa.Table) -> Iterable[str]:
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        in_database = conn.execute(_INDEX_DEF, {"table": table.name, "name": index.name}).scalar()
        if in_database is None:
            continue  # Alembic reports a missing index
        ddl = str(sa.schema.CreateIndex(index).compile(dialect=conn.dialect))
        probe_ddl = re.sub(r"INDEX \S+ ON", f"INDEX {PROBE} ON", ddl, count=1)
        declared = _rendered_by_server(conn, probe_ddl, _INDEX_DEF, table=table.name, name=PROBE)
        if _unnamed_index(declared) != _unnamed_index(str(in_database)):
            yield (
                f"index {index.name}: the database has `{in_database}`, "
                f"the tables say `{declared.replace(PROBE, str(index.name))}`"
            )


def _unnamed_index(definition: str) -> str:
    return re.sub(r"INDEX \S+ ON", "INDEX ON", definition, count=1)


def _check_constraints(conn: Connection, table: sa.Table) -> Iterable[str]:
    in_database = {
        str(name): str(body) for name, body in conn.execute(_CHECKS, {"table": table.name})
    }
    declared: set[str] = set()
    for check in table.constraints:
        if not isinstance(check, sa.CheckConstraint):
            continue
        if not isinstance(check.name, str):
            yield f"table {table.name}: a check constraint has no name ({check.sqltext})"
            continue
        declared.add(check.name)
        if check.name not in in_database:
            yield f"check constraint {check.name} is declared but not in the database"
            continue
        sql = check.sqltext.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        probe = _rendered_by_server(
            conn,
            f"ALTER TABLE {table.name} ADD CONSTRAINT {PROBE} CHECK ({sql}) NOT VALID",
            _CHECK_DEF,
            table=table.name,
            name=PROBE,
        ).removesuffix(" NOT VALID")
        if probe != in_database[check.name]:
            yield (
                f"check constraint {check.name}: the database has `{in_database[check.name]}`, "
                f"the tables say `{probe}`"
            )
    for name in sorted(set(in_database) - declared):
        yield f"check constraint {name} on {table.name} is in the database but not declared"
