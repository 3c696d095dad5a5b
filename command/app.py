"""The FastAPI application: routers, the one error translation, start-up and shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from command import bootstrap
from command.api import auth, events, health
from command.bootstrap import Container
from command.errors import CadError, status_for
from command.settings import Settings

log = logging.getLogger(__name__)

# The root error of each package: their ``kind`` decides the HTTP status (command.errors).
ERROR_ROOTS: tuple[type[Exception], ...] = (CadError,)

# --- incidents and dispatch (issue 5) ---
from command.api import incidents as incidents_api  # noqa: E402
from command.api import units as units_api  # noqa: E402
from dispatch.errors import DispatchError  # noqa: E402
from gis.errors import GisError  # noqa: E402

ERROR_ROOTS += (DispatchError, GisError)
INCIDENT_ROUTERS = (incidents_api.router, units_api.router)
# --- end incidents and dispatch ---

# --- telephony (issue 4) ---
from command.api import telephony as telephony_api  # noqa: E402
from telephony.errors import TelephonyError  # noqa: E402

ERROR_ROOTS += (TelephonyError,)
# --- end telephony ---


def _describe(error: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
    return f"{loc}: {error.get('msg')}" if loc else str(error.get("msg"))


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
        body: dict[str, object] = {"error": type(exc).__name__, "message": str(exc)}
        detail = getattr(exc, "detail", None)
        if detail:
            body["detail"] = detail
        return JSONResponse(body, status_for(exc) or 500)

    for base in ERROR_ROOTS:
        app.add_exception_handler(base, known_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_describe(e) for e in exc.errors()]
        return JSONResponse(
            {"error": "InvalidInput", "message": "; ".join(problems), "problems": problems}, 422
        )

    for module in (health, auth, events):
        app.include_router(module.router)
    for extra in INCIDENT_ROUTERS:  # incidents and dispatch (issue 5)
        app.include_router(extra)
    app.include_router(telephony_api.router)  # telephony (issue 4)
    return app
