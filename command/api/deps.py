"""Request dependencies: the container, and who is calling (with the role check).

Every route declares the roles it admits with ``require_roles``; every websocket calls
``websocket_principal``. Refusals are audited. A change passing the role check owes one audit
row, written in the transaction of the change (``command.request_audit``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, WebSocket

from command import request_audit
from command.api.ws_guard import GUARD, SocketGuard
from command.auth.roles import Role
from command.auth.service import Principal
from command.auth.signin import limit_refusal
from command.bootstrap import Container
from command.database_errors import translate
from command.errors import CadError, Forbidden, Unauthorized
from command.origin import Origin

WS_UNAUTHORIZED = 4401
WS_FORBIDDEN = 4403
#: The standard "try again later" close code: a part the socket needs is down for now.
WS_TRY_AGAIN = 1013


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def client_address(request: Request | WebSocket) -> str:
    return request.client.host if request.client else "unknown"


def audit_source(request: Request | WebSocket) -> str:
    """The caller's address for an audit row written by the handler itself.

    Marks the request as audited, so neither its transaction nor the catch-all audit of
    changes writes a second row when the change succeeds.
    """
    request.state.audited = True
    request_audit.handled()
    return client_address(request)


def changes_nothing(request: Request) -> None:
    """Dependency of a route that only reads though sent as POST: it owes no audit row."""
    request.state.audited = True
    request_audit.handled()


READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


def described(request: Request) -> tuple[str, str, str]:
    """The request as its audit row names it: action, object type and object id."""
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    params = request.path_params
    return (
        f"{request.method} {template}",
        template.removeprefix("/api/v1/").split("/")[0],
        ",".join(f"{k}={v}" for k, v in params.items()) or "-",
    )


def _expect_audit(request: Request, principal: Principal) -> None:
    """A change owes its audit row, which its transaction writes (``command.request_audit``)."""
    if request.method in READ_ONLY or getattr(request.state, "audited", False):
        return
    action, object_type, object_id = described(request)
    origin = Origin(principal.actor, client_address(request))
    request.state.expected_audit = request_audit.expect(
        request_audit.Expected(origin, action, object_type, object_id)
    )


def origin_of(request: Request | WebSocket, principal: Principal) -> Origin:
    """Who asks and from where, for a handler that audits its change itself (the request is
    marked, so the catch-all audit of changes does not write a second row)."""
    return Origin(principal.actor, audit_source(request))


def bearer_token(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


async def _refuse(
    container: Container, principal: Principal, what: str, source: str, roles: frozenset[Role]
) -> Forbidden:
    await container.accounts.refuse(principal, what, source, sorted(roles))
    return Forbidden(
        f"{what} needs one of the roles {', '.join(sorted(roles))}; "
        f"{principal.name} has {', '.join(sorted(principal.roles)) or 'none'}",
        code="auth.role_required",
        what=what,
        user=principal.name,
        needs=sorted(roles),
        has=sorted(principal.roles),
    )


def _limited(principal: Principal, allowed: frozenset[str]) -> Forbidden | None:
    """A session limited to one step (command.auth.signin) is refused anywhere else."""
    if principal.limited_to is None or principal.limited_to in allowed:
        return None
    return limit_refusal(principal.limited_to)


def require_roles(
    *roles: Role | str, limited_ok: frozenset[str] = frozenset()
) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller, who must hold one of ``roles`` (admin is not implied), with a
    full session unless its limit is one of ``limited_ok``."""
    wanted = frozenset(Role(r) for r in roles)

    async def dependency(request: Request, container: ContainerDep) -> Principal:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            raise Unauthorized(
                "sign in first: send 'Authorization: Bearer <token>'", code="auth.required"
            )
        known = getattr(request.state, "authenticated", None)  # by the idempotency step
        principal = (
            known[1] if known is not None and known[0] == token
            else await container.accounts.authenticate(token)
        )
        refusal = _limited(principal, limited_ok)
        if refusal is not None:
            raise refusal
        if not principal.has_any(wanted):
            what = f"{request.method} {request.url.path}"
            raise await _refuse(container, principal, what, client_address(request), wanted)
        request.state.principal = principal
        _expect_audit(request, principal)
        return principal

    dependency.expects_audit = True  # type: ignore[attr-defined]  # (checked by the tests)
    return dependency


async def websocket_principal(
    ws: WebSocket, container: Container, roles: frozenset[Role] | set[Role]
) -> Principal | None:
    """Accept the socket and check its token (``?token=`` or a bearer header).

    On refusal the socket is closed with 4401 or 4403 and a reason, and None is returned.
    An accepted socket is registered under its token in ``container.sockets``: it is closed
    when the token ends (``command.auth.revocations``).
    """
    await ws.accept()
    token = ws.query_params.get("token") or bearer_token(ws.headers.get("authorization"))
    try:
        if not token:
            raise Unauthorized("sign in first: pass ?token=<token>", code="auth.required")
        principal = await container.accounts.authenticate(token)
        refusal = _limited(principal, frozenset())
        if refusal is not None:
            raise refusal
        if not principal.has_any(frozenset(roles)):
            raise await _refuse(
                container,
                principal,
                f"websocket {ws.url.path}",
                client_address(ws),
                frozenset(roles),
            )
    except CadError as exc:
        code = WS_FORBIDDEN if isinstance(exc, Forbidden) else WS_UNAUTHORIZED
        await ws.close(code=code, reason=exc.message[:120])
        return None
    except Exception as exc:
        # The database away: the client is told to come back later, with the reason's code,
        # instead of the accepted socket failing with the server's own error.
        known = translate(exc)
        if known is None:
            raise
        await ws.close(code=WS_TRY_AGAIN, reason=known.code)
        return None
    # Closed as soon as the token ends (disabled, revoked, signed out, roles changed).
    guard: SocketGuard = ws.scope[GUARD]
    guard.forget = container.sockets.add(principal.token_id, guard.close)
    return principal


async def received_frame(ws: WebSocket) -> str | bytes | None:
    """The next frame a websocket client sent (text or bytes), or None once it disconnected."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text: str | None = message.get("text")
    return text if text is not None else bytes(message.get("bytes") or b"")
