"""Database URLs that name several servers (a primary and its standbys).

libpq and asyncpg take ``postgresql://u:p@h1:5432,h2:5432/cad?target_session_attrs=read-write``;
SQLAlchemy's URL parser does not (it reads ``5432,h2:5432`` as one port), but passes repeated
``host=`` query values on to asyncpg. ``sqlalchemy_form`` rewrites the first into the second;
``hosts_of`` names the servers of either form (for messages and file names), and
``asyncpg_dsn`` turns an engine's URL back into libpq's form for the connections we open with
asyncpg itself (the listeners for notifications).
"""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy.engine import URL, make_url

# Stands for the host list while SQLAlchemy renders the rest of the URL.
_HOSTS = "cad-hosts"


def sqlalchemy_form(url: str) -> str:
    """``url`` with a list of hosts in its authority moved to ``host=`` query values; any
    other URL unchanged. Passwords with ``/`` must be percent-encoded, as in any URL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, _, tail = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return url
    database, _, query = tail.partition("?")
    params = [f"host={quote(h.strip(), safe=':[]')}" for h in hosts.split(",") if h.strip()]
    if query:
        params.append(query)
    return f"{scheme}://{userinfo}{at}/{database}?{'&'.join(params)}"


def hosts_of(url: str) -> tuple[str, ...]:
    """The ``host:port`` of each server the URL names, in order."""
    parsed = make_url(sqlalchemy_form(url))
    listed = parsed.query.get("host")
    if listed:
        return (listed,) if isinstance(listed, str) else tuple(listed)
    return (f"{parsed.host}:{parsed.port or 5432}",)


def asyncpg_dsn(url: URL) -> str:
    """``url`` as ``asyncpg.connect`` takes it, with its password: every host in the
    authority (``h1:p1,h2:p2``), the other query values (``target_session_attrs``) kept."""
    plain = url.set(drivername="postgresql")
    listed = plain.query.get("host")
    if not listed:
        return plain.render_as_string(hide_password=False)
    hosts = (listed,) if isinstance(listed, str) else tuple(listed)
    rest = plain.difference_update_query(["host"]).set(host=_HOSTS, port=None)
    return rest.render_as_string(hide_password=False).replace(f"@{_HOSTS}", "@" + ",".join(hosts))
