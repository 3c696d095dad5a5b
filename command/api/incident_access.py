"""Route dependencies for per-incident access: the caller as a ``Reader``, and the check that
the incident in the path is one the caller may read (``command.incidents.access``).

``incident_reader(*roles)`` is ``require_roles(*roles)`` plus that check: a route under
``/incidents/{incident_id}`` declares it instead of the bare role check, so that no route can
read or change a sensitive incident the caller is not named on. The refusal is a 404, as for an
incident that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request, WebSocket

from command.api.deps import ContainerDep, client_address, require_roles
from command.auth.roles import Role
from command.auth.service import Principal
from command.incidents.sensitivity import Reader


def reader_of(principal: Principal) -> Reader:
    return Reader(principal.kind, principal.name, frozenset(principal.roles))


def route_of(request: Request | WebSocket) -> str:
    """``GET /api/v1/incidents/{incident_id}``: the route, not the path, names what was read."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    method = request.scope.get("method", "WS")
    return f"{method} {path}"


def incident_reader(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller, who holds one of ``roles`` and may read the path's incident."""
    # A default, not an Annotated hint: the hint would be a string naming a local variable.
    who_of = Depends(require_roles(*roles))

    async def dependency(
        incident_id: int, request: Request, container: ContainerDep, who: Principal = who_of
    ) -> Principal:
        await container.access.check(
            incident_id, reader_of(who), route_of(request), client_address(request)
        )
        return who

    return dependency
