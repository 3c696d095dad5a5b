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
from command.api.request_guard import INT64_MAX
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
        request: Request, container: ContainerDep, who: Principal = who_of
    ) -> Principal:
        # Read from the path, not declared again: the route validates it once, and a value
        # that is no incident id (refused there) can be no marked incident.
        raw = str(request.path_params.get("incident_id", ""))
        if raw.isdigit() and int(raw) <= INT64_MAX:
            await container.access.check(
                int(raw), reader_of(who), route_of(request), client_address(request)
            )
        return who

    return dependency
