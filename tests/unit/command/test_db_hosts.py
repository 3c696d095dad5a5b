"""Database URLs naming several servers, as libpq writes them, in the forms SQLAlchemy and
asyncpg take; and what a failure of a server that is not the primary is answered."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from command.database_errors import translate
from command.db_hosts import asyncpg_dsn, hosts_of, sqlalchemy_form
from command.settings import Settings

MULTI = "postgresql://cad_app:s3cret@10.0.0.1:5432,10.0.0.2:5433/cad?target_session_attrs=read-write"


def test_several_hosts_move_to_query_values_in_order() -> None:
    url = make_url(Settings(database_url=MULTI).database_url or "")
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.database) == ("cad_app", "s3cret", "cad")
    assert url.query["host"] == ("10.0.0.1:5432", "10.0.0.2:5433")
    assert url.query["target_session_attrs"] == "read-write"


def test_one_host_is_left_as_it_was() -> None:
    one = "postgresql+asyncpg://u:p@db.example:6432/cad"
    assert sqlalchemy_form(one) == one
    assert hosts_of(one) == ("db.example:6432",)


def test_asyncpg_gets_libpq_form_back_with_the_other_options() -> None:
    url = make_url(sqlalchemy_form(MULTI))
    assert asyncpg_dsn(url) == (
        "postgresql://cad_app:s3cret@10.0.0.1:5432,10.0.0.2:5433/cad"
        "?target_session_attrs=read-write"
    )
    assert hosts_of(MULTI) == ("10.0.0.1:5432", "10.0.0.2:5433")


@pytest.mark.parametrize(
    "failure",
    [
        asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
        asyncpg.TargetServerAttributeNotMatched("None of the hosts match"),
    ],
)
def test_a_server_that_is_not_the_primary_is_a_503_to_retry(failure: Exception) -> None:
    known = translate(failure)
    assert known is not None
    assert (known.code, known.params) == ("database.not_primary", {"retry_after_s": 2})
