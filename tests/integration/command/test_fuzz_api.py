"""The API fuzzed from its own contract: every operation of `/openapi.json`, with every role,
with inputs generated from the schema and beyond it (schemathesis). No answer may be a server
error, and every answer must be what the schema documents (status, content type, body).

This is the short, seeded form that `make test` runs; ``CAD_FUZZ_EXAMPLES`` makes it longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.core.result import Ok
from sqlalchemy.ext.asyncio import create_async_engine

from ops.pgcluster import free_port
from tests.support import builders
from tests.support.log_secrets import KNOWN

# Signing out ends the token the rest of the run uses; its behaviour is tested on its own.
SKIPPED = {("POST", "/api/v1/auth/logout")}
ROLES = ("call_taker", "dispatcher", "leader", "supervisor", "admin")
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@dataclass(frozen=True)
class Served:
    base_url: str
    tokens: dict[str, str]


@pytest.fixture
def server(map_url: str) -> Iterator[str]:
    """`cad serve` in its own process: the fuzzer's calls block, the server must not wait."""
    port = free_port()
    env = {
        **os.environ,
        "CAD_DATABASE_URL": map_url,
        "CAD_PORT": str(port),
        "CAD_AMI_ENABLED": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "command", "serve", "--no-supervise"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _until_serving(process, base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            KNOWN.output("cad serve", process.stderr.read())  # searched for secrets
            process.stderr.close()


def _until_serving(process: subprocess.Popen[str], base: str) -> None:
    with httpx.Client(base_url=base, timeout=5) as http:
        for _ in range(1200):
            try:
                if http.get("/api/v1/health").status_code < 500:
                    return
            except httpx.TransportError:
                pass
            try:  # waits a tenth of a second, and notices a server that died
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(process.stderr.read() if process.stderr else "server died")
    raise AssertionError("the server did not start")


@pytest.fixture
async def served(server: str, map_url: str) -> Served:
    engine = create_async_engine(map_url)
    tokens: dict[str, str] = {}
    try:
        async with httpx.AsyncClient(base_url=server, timeout=30) as http:
            for role in ROLES:
                headers = await builders.signed_in(http, engine, f"fuzz.{role}", role)
                tokens[role] = headers["Authorization"]
        tokens["device"] = f"Bearer {await builders.device(engine, 'fuzz-terminal')}"
    finally:
        await engine.dispose()
    return Served(server, tokens)


def _fuzz(base_url: str, authorization: str, examples: int, statuses: Counter[int]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an operation that cannot be read: {result}"
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=base_url, headers={"Authorization": authorization})
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except AssertionError as exc:
                failures.append(f"{case.method} {case.path}: {exc}"[:800])

        run()
    return failures


def test_no_server_error_and_no_answer_outside_the_contract(served: Served) -> None:
    examples = int(os.environ.get("CAD_FUZZ_EXAMPLES", "3"))
    statuses: Counter[int] = Counter()
    failures = {
        role: _fuzz(served.base_url, authorization, examples, statuses)
        for role, authorization in served.tokens.items()
    }
    found = [f"{role}: {f}" for role, fs in failures.items() for f in fs]
    errors = sum(n for s, n in statuses.items() if s >= 500)
    print(
        f"fuzz: {sum(statuses.values())} cases tried ({examples} examples an operation and "
        f"role), {errors} server errors (5xx); answers by status: {dict(sorted(statuses.items()))}"
    )
    assert found == [], "\n".join(found[:40])
    # It reached the handlers, not only the door: some calls were done, some refused as invalid.
    assert sum(n for s, n in statuses.items() if s < 300) > 50, statuses
    assert statuses[422] > 50, statuses
    assert statuses[403] > 0, statuses
