"""The FastAPI application: routers, the one error translation, start-up and shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import exc as sa_exc

from command import bootstrap, request_audit
from command.api import (
    auth,
    consultation_signaling,
    consultations,
    events,
    fleet,
    health,
    incidents,
    maps,
    plans,
    telephony,
    terminals,
    trackers,
    tracking,
    units,
)
from command.api.deps import READ_ONLY, bearer_token, client_address, described
from command.api.integer_bounds import integers_within_64_bits
from command.api.request_guard import Limits, RequestGuard
from command.api.schemas.common import ErrorOut
from command.api.security_headers import SecurityHeaders
from command.api.ws_guard import WebSocketGuard
from command.api.ws_origin import parse_list
from command.auth.service import Principal
from command.bootstrap import Container
from command.database_errors import translate
from command.errors import CadError, Unauthorized, error_body, status_for
from command.idempotency import CHANGING, Kept, check_key, fingerprint
from command.origin import Origin
from command.settings import Settings
from dispatch.errors import DispatchError
from gis.errors import GisError
from plans.errors import PlanError
from telephony.errors import TelephonyError
from video.errors import VideoError

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
VENDOR = Path(__file__).parent.parent / "ops" / "web" / "node_modules"

# The root error of each package: their ``kind`` decides the HTTP status (command.errors).
ERROR_ROOTS: tuple[type[Exception], ...] = (
    CadError,
    GisError,
    DispatchError,
    TelephonyError,
    PlanError,
    VideoError,
)

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
    fleet.router,
    tracking.router,
    plans.router,
    consultations.router,
    consultation_signaling.router,
)


async def _audit_change(request: Request, principal: Principal, status: int) -> None:
    """Who was refused or failed a change, from where, with what answer (a change writes its
    row in its own transaction, so a failed one's row was rolled back with it)."""
    action, object_type, object_id = described(request)
    container: Container = request.app.state.container
    await container.accounts.record_change(
        Origin(principal.actor, client_address(request)),
        action=action,
        object_type=object_type,
        object_id=object_id,
        result=f"failed: {status}",
    )


def _audited(request: Request) -> bool:
    """The change wrote its audit row in its transaction (or its handler audited it)."""
    expected = getattr(request.state, "expected_audit", None)
    done = expected is not None and expected.settled
    return bool(getattr(request.state, "audited", False)) or done


def _field(error: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))


def _problem(error: Mapping[str, Any]) -> dict[str, Any]:
    """One invalid field: where, pydantic's stable type code, its context, and the text."""
    ctx = {
        k: v if isinstance(v, int | float | str | bool) else str(v)
        for k, v in (error.get("ctx") or {}).items()
    }
    return {
        "field": _field(error),
        "code": str(error.get("type")),
        "params": ctx,
        "message": str(error.get("msg")),
    }


def _describe(error: Mapping[str, Any]) -> str:
    loc = _field(error)
    return f"{loc}: {error.get('msg')}" if loc else str(error.get("msg"))


# The driver's failures that may mean a database that is down or a value it refused.
DATABASE_FAILURES: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # The driver's own: no server of a multi-host URL is writable (a standby not promoted
    # yet), or a connection left unusable by a server that vanished mid-statement.
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


# Every route may answer with an error body of this shape (command.errors).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "not signed in"),
        (403, "not allowed (role, command level, own unit or seat)"),
        (404, "no such thing"),
        (409, "the state does not allow it, or someone changed it first"),
        (408, "the request body did not arrive in time; nothing changed"),
        (413, "the request body is larger than the route takes; nothing changed"),
        (422, "input that cannot be used; nothing changed"),
        (429, "too many attempts: try again after Retry-After seconds; nothing changed"),
        (503, "a part is down (database, Asterisk); nothing changed"),
    )
}


def _database_answer(exc: BaseException) -> JSONResponse | None:
    """The answer to a database failure (503 with Retry-After, or 422), or None for a bug."""
    known = translate(exc)
    if known is None:
        return None
    log.warning("answered %s: %s", known.code, exc)
    retry = known.params.get("retry_after_s")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return JSONResponse(error_body(known), status_for(known) or 500, headers=headers)


async def _release(container: Container, actor: str, key: str) -> None:
    """Give up a claim after a failed attempt; a database that is away (the attempt's failure,
    most likely) leaves the claim, which the retry then finds (``command.idempotency``)."""
    try:
        await container.idempotency.release(actor, key)
    except DATABASE_FAILURES as exc:
        log.warning("the claim of key %s was not released: %s", key, exc)


async def _idempotent(
    request: Request, call_next: Callable[[Request], Awaitable[Response]], key: str
) -> Response:
    """Answer a retried change as its first attempt was answered (command.idempotency)."""
    container: Container = request.app.state.container
    try:
        check_key(key)
    except CadError as exc:
        return JSONResponse(error_body(exc), status_for(exc) or 422)
    token = bearer_token(request.headers.get("authorization"))
    # A middleware's failures do not reach the app's handlers: a database away is answered
    # here, as they would answer it.
    try:
        if token is None:
            raise Unauthorized("no token", code="auth.required")
        principal = await container.accounts.authenticate(token)
    except CadError:
        return await call_next(request)  # the route refuses it, and says why
    except DATABASE_FAILURES as exc:
        if (refused := _database_answer(exc)) is None:
            raise
        return refused
    actor = principal.actor
    request.state.authenticated = (token, principal)  # the route's role check reuses it
    body = await request.body()
    print_ = fingerprint(request.method, request.url.path, request.scope["query_string"], body)
    try:
        claim = await container.idempotency.claim(actor, key, print_)
    except CadError as exc:
        return JSONResponse(error_body(exc), status_for(exc) or 409)
    except DATABASE_FAILURES as exc:
        if (refused := _database_answer(exc)) is None:
            raise
        return refused
    if claim.kept is not None:
        kept = claim.kept
        return Response(
            kept.body,
            kept.status,
            media_type=kept.content_type,
            headers={"Idempotent-Replayed": "true"},
        )
    changing = CHANGING.set((actor, key))  # the route's commits mark the claim done
    try:
        response = await call_next(request)
    except BaseException:
        CHANGING.reset(changing)
        await _release(container, actor, key)
        raise
    CHANGING.reset(changing)
    if response.status_code >= 500:  # rolled back: the retry may run
        await _release(container, actor, key)
        return response
    chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
    answer = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in chunks)
    content_type = response.headers.get("content-type", "application/json")
    try:
        await container.idempotency.keep_answer(
            actor, key, Kept(response.status_code, answer, content_type)
        )
    except DATABASE_FAILURES as exc:
        # The change is done (its transaction committed): the client gets its answer; only a
        # retry with this key, which it has no reason to send, would not find it kept.
        log.warning("the answer to key %s was not kept: %s", key, exc)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(answer, response.status_code, headers=headers)


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
        # The reference at /docs is served from the app's own files (below), not from a CDN.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(integers_within_64_bits)],
    )

    async def known_error(_: Request, exc: Exception) -> JSONResponse:
        retry = getattr(exc, "params", {}).get("retry_after_s")
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return JSONResponse(error_body(exc), status_for(exc) or 500, headers=headers)

    for base in ERROR_ROOTS:
        app.add_exception_handler(base, known_error)

    async def database_failure(_: Request, exc: Exception) -> JSONResponse:
        answer = _database_answer(exc)
        if answer is None:
            raise exc
        return answer

    for failure in DATABASE_FAILURES:
        app.add_exception_handler(failure, database_failure)

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

    app.state.unaudited = []  # successes that committed without their audit row (bugs)

    @app.middleware("http")
    async def audit_changes(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        request_audit.close(getattr(request.state, "expected_audit", None))
        principal = getattr(request.state, "principal", None)
        # Refusals before the role check are audited where they happen; malformed input
        # (422) is refused before anything is done and writes nothing at all.
        if request.method in READ_ONLY or principal is None or response.status_code == 422:
            return response
        if response.status_code >= 400:
            # Rolled back, so its audit row too: the refusal or failure is recorded here. That
            # row is not the request's change: it does not mark the key's claim done.
            changing = CHANGING.set(None)
            try:
                await _audit_change(request, principal, response.status_code)
            except DATABASE_FAILURES:
                # The answer stands; with the database away the refusal is in the log instead.
                log.exception(
                    "the audit row of %s %s (answered %d) was not written",
                    request.method,
                    request.url.path,
                    response.status_code,
                )
            finally:
                CHANGING.reset(changing)
        elif not _audited(request):
            action = described(request)[0]
            log.error("%s succeeded without an audit row in its transaction", action)
            request.app.state.unaudited.append(action)
        return response

    @app.middleware("http")
    async def idempotent(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        key = request.headers.get("idempotency-key")
        if key is None or request.method in READ_ONLY:
            return await call_next(request)
        return await _idempotent(request, call_next, key)

    # Outermost: nothing reads a body or a value before the edge has checked it.
    app.add_middleware(
        RequestGuard,
        limits=Limits(
            default_bytes=settings.max_body_bytes,
            per_prefix=(("/api/v1/auth/", settings.max_login_body_bytes),),
            body_timeout_s=settings.body_timeout_s,
        ),
    )

    # Every websocket: its Origin checked, and closable when its token ends.
    app.add_middleware(WebSocketGuard, allowed_origins=parse_list(settings.allowed_origins))
    # Outside everything, so that error answers of the edge carry the headers too.
    app.add_middleware(SecurityHeaders)

    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    app.mount("/console", StaticFiles(directory=STATIC / "console", html=True), name="console")
    app.mount("/docs", StaticFiles(directory=STATIC / "docs", html=True), name="docs")
    if (STATIC / "app").is_dir():  # the consoles, built from consoles/ by ops/setup
        app.mount("/app", StaticFiles(directory=STATIC / "app", html=True), name="app")
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
