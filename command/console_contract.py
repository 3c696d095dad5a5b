"""What the consoles are built against, written into ``consoles/``: the API's OpenAPI document
(the typed client is generated from it) and the wording of every error and reason code.

Both files are committed; a test fails when either no longer matches the code, so that the
consoles never drift from the API. Refresh them with ``python -m command.console_contract``
(then ``npm run api`` in ``consoles/`` regenerates the client's types).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from command import error_catalogue
from command.app import create_app
from command.settings import Settings

CONSOLES = Path(__file__).resolve().parents[1] / "consoles"
OPENAPI = CONSOLES / "openapi.json"
ERRORS = CONSOLES / "src" / "locales" / "errors.json"


def openapi_document() -> dict[str, Any]:
    return create_app(Settings(ami_enabled=False)).openapi()


def as_text(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def files() -> dict[Path, str]:
    return {
        OPENAPI: as_text(openapi_document()),
        ERRORS: as_text(error_catalogue.catalogue(error_catalogue.read())),
    }


def main() -> None:
    for path, text in files().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
