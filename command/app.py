"""The FastAPI application: routers, the one error translation, start-up and shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from command import bootstrap
from command.api import (
    auth,
    events,
    health,
    incidents,
    maps,
    telephony,
    terminals,
    trackers,
    tracking,
    units,
)
from command.api.deps import client_address
from command.api.schemas.common import ErrorOut
from command.auth.service import Principal
from command.bootstrap import Container
from command.errors import CadError, error_body, status_for
from command.origin import Origin
from command.settings import Settings
from dispatch.errors import DispatchError
from gis.errors import GisError
from telephony.errors import TelephonyError

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
VENDOR = Path(__file__).parent.parent / "ops" / "web" / "node_modules"

# The root error of each package: their ``kind`` decides the HTTP status (command.errors).
ERROR_ROOTS: tuple[type[Exception], ...] = (CadError, GisError, DispatchError, TelephonyError)

ROUTERS = (
    health.router,
    auth.router,
    events.router,
    maps.router,
    telephony.router,
    incidents.router,
    terminals.router,
    trackers.router,
    units.router,
    tracking.router,
)


READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


async def _audit_change(request: Request, principal: Principal, status: int) -> None:
    """Who changed what, from where, with what result: for every change a handler did not
    audit itself (the event log has the change; this row has the request)."""
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    params = request.path_params
    container: Container = request.app.state.container
    await container.accounts.record_change(
        Origin(principal.actor, client_address(request)),
        action=f"{request.method} {template}",
        object_type=template.removeprefix("/api/v1/").split("/")[0],
        object_id=",".join(f"{k}={v}" for k, v in params.items()) or "-",
        result="ok" if status < 400 else f"failed: {status}",
    )


def _field(error: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))


def _problem(error: Mapping[str, Any]) -> dict[str, Any]:
    """One invalid field: where, pydantic's stable type code, its context, and the text."""
    ctx = {k: v if isinstance(v, int | float | str | bool) else str(v)
           for k, v in (error.get("ctx") or {}).items()}
    return {"field": _field(error), "code": str(error.get("type")), "params": ctx,
            "message": str(error.get("msg"))}


def _describe(error: Mapping[str, Any]) -> str:
    loc = _field(error)
    return f"{loc}: {error.get('msg')}" if loc else str(error.get("msg"))


# Every route may answer with an error body of this shape (command.errors).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "not signed in"),
        (403, "not allowed (role, command level, own unit or seat)"),
        (404, "no such thing"),
        (409, "the state does not allow it, or someone changed it first"),
        (422, "input that cannot be used; nothing changed"),
        (503, "a part is down (database, Asterisk); nothing changed"),
    )
}


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    """The app; with ``container`` given (tests), start-up wiring is skipped."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = container is None
        app.state.container = container or await bootstrap.start(settings)
        try:
            yield
        finally:
            if own:
                await bootstrap.stop(app.state.container)

    app = FastAPI(
        title="CAD: emergency command and dispatch",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )

    async def known_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(exc), status_for(exc) or 500)

    for base in ERROR_ROOTS:
        app.add_exception_handler(base, known_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(
            {
                "code": "request.invalid",
                "message": "; ".join(_describe(e) for e in errors),
                "params": {"problems": [_problem(e) for e in errors]},
            },
            422,
        )

    @app.middleware("http")
    async def audit_changes(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        # A handler that audits its own change does so in the change's transaction: when the
        # change fails, that row is rolled back with it and the failure is recorded here.
        audited = getattr(request.state, "audited", False) and response.status_code < 400
        if request.method not in READ_ONLY and not audited:
            principal = getattr(request.state, "principal", None)
            # Refusals before the role check are audited where they happen; malformed input
            # (422) is refused before anything is done and writes nothing at all.
            if principal is not None and response.status_code != 422:
                await _audit_change(request, principal, response.status_code)
        return response

    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    app.mount("/console", StaticFiles(directory=STATIC / "console", html=True), name="console")
    if VENDOR.is_dir():  # browser libraries installed by ops/setup (npm), served from here
        app.mount("/vendor", StaticFiles(directory=VENDOR), name="vendor")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console/")

    return app


def create_tracker_app(container: Container) -> FastAPI:
    """The tracker port's app (``CAD_OSMAND_PORT``): OsmAnd reports at ``/``, as trackers and
    phone apps expect, over the running service's container."""
    app = FastAPI(title="CAD: tracker port", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.container = container

    async def known_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(exc), status_for(exc) or 500)

    for base in ERROR_ROOTS:
        app.add_exception_handler(base, known_error)
    app.include_router(trackers.port_router, responses=ERROR_RESPONSES)
    return app
