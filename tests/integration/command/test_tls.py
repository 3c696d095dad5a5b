"""`cad serve` on TLS by itself (CAD_TLS_CERT, CAD_TLS_KEY): HTTPS and WSS with a certificate
made for the test, and the pair refused at start-up when one half is missing."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from ops.pgcluster import free_port
from tests.support.cli import cad
from tests.support.log_secrets import KNOWN


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_cad_serve_speaks_tls_when_given_a_certificate(
    database_url: str, tmp_path: Path
) -> None:
    cert, key = _certificate(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "CAD_DATABASE_URL": database_url,
        "CAD_PORT": str(port),
        "CAD_AMI_ENABLED": "false",
        "CAD_TLS_CERT": str(cert),
        "CAD_TLS_KEY": str(key),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "command", "serve", "--no-supervise"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        async with httpx.AsyncClient(
            base_url=f"https://127.0.0.1:{port}", verify=trusted, timeout=5
        ) as http:
            for _ in range(600):
                try:
                    health = await http.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    assert process.poll() is None, "the server died"
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the server did not start")
            assert health.status_code == 200
            assert health.headers["x-content-type-options"] == "nosniff"
        url = f"wss://127.0.0.1:{port}/api/v1/events/ws"
        async with websockets.connect(url, ssl=trusted) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            KNOWN.output("cad serve", process.stderr.read())
            process.stderr.close()


def test_a_certificate_without_its_key_is_refused(database_url: str, tmp_path: Path) -> None:
    refused = cad("serve", CAD_DATABASE_URL=database_url, CAD_TLS_CERT=str(tmp_path / "c.pem"))
    assert refused.returncode == 2
    assert "CAD_TLS_CERT and CAD_TLS_KEY go together" in refused.stderr
