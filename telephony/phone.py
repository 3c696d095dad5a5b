"""Phone numbers in one normal form, so that a caller is one caller however it was written.

``+423 777 0025``, ``+423-777-0025``, ``(+423) 7770025`` and ``00423 7770025`` all become
``+4237770025``: separators go, an international ``00`` prefix becomes ``+``. Anything else is
kept as it is (a short extension, a name Asterisk put in the caller id). Pure.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s().\-/]")
_DIALLABLE = re.compile(r"^\+?[0-9]+$")


def normal_number(raw: str) -> str:
    compact = _SEPARATORS.sub("", raw.strip())
    if not _DIALLABLE.match(compact):
        return raw.strip()
    if compact.startswith("00") and len(compact) > 4:
        return "+" + compact[2:]
    return compact


def normal_or_none(raw: str | None) -> str | None:
    return normal_number(raw) if raw else raw
