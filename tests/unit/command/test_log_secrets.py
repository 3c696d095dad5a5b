"""The suite's check for secrets in the logs finds a planted token, password or bearer
credential, and passes lines that were masked."""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path

from command.auth.passwords import new_token
from tests.support.log_secrets import LogFile, SecretBook, check, leaks


def _written(path: Path, *messages: str) -> LogFile:
    """Records written straight to the file, as a logger without the masking would."""
    handler = LogFile(path)
    for message in messages:
        handler.emit(logging.LogRecord("planted", logging.DEBUG, "", 0, message, None, None))
    handler.finish()
    return handler


def test_a_planted_token_is_found(tmp_path: Path) -> None:
    token = new_token()
    book = SecretBook()
    book.add(token)
    handler = _written(tmp_path / "log", "all quiet", f"> GET /api/v1/events/ws?after=0&t={token}")
    found = check(handler.path, book)
    assert len(found) == 1
    assert found[0].startswith(f"secret {token[:4]}")
    assert token[:20] in found[0]


def test_a_token_inside_a_longer_word_a_password_and_a_subprocess_line_are_found() -> None:
    token = new_token()
    found = leaks(f"x\nkey=ab{token}cd\nlogin {{'pw': 'correct horse battery'}}\n", {
        token, "correct horse battery"
    })  # fmt: skip
    assert [f.split(":")[0] for f in found] == [f"secret {token[:4]}…", "secret corr…"]
    book = SecretBook()
    book.add("a good password")
    book.output("cad serve", "INFO started\nERROR bad login a good password\n")
    assert len(leaks("\n".join(t for _, t in book.outputs), book.secrets)) == 1


def test_unknown_bearers_and_query_tokens_are_found_by_pattern() -> None:
    found = leaks(
        "Authorization: Bearer abcdefgh12345\nGET /api/v1/units/ws?token=zyxwvuts98765 HTTP/1.1",
        set(),
    )
    assert len(found) == 2
    assert all("pattern" in f for f in found)


def test_masked_lines_and_short_values_pass() -> None:
    token = new_token()
    book = SecretBook()
    book.add(token, "short", None)
    assert book.secrets == {token}
    assert (
        leaks(
            "GET /api/v1/events/ws?after=3&token=*** HTTP/1.1\nAuthorization: Bearer ***\n"
            "the word token=a, a short one",
            book.secrets,
        )
        == []
    )


def test_what_a_logger_writes_is_masked_before_the_check(tmp_path: Path) -> None:
    """Through a real logger (the factory the suite installs, as ``cad`` does), a token in a
    handshake line at DEBUG reaches the file masked."""
    token = new_token()
    handler = LogFile(tmp_path / "log")
    logger = logging.getLogger("websockets.server")
    logger.addHandler(handler)
    try:
        logger.debug("< GET /api/v1/units/ws?token=%s HTTP/1.1", token)
        logger.debug("< authorization: Bearer %s", token)
    finally:
        logger.removeHandler(handler)
        handler.finish()
    book = SecretBook()
    book.add(token)
    assert check(handler.path, book) == []
    assert "token=***" in handler.path.read_text()


def test_the_file_outlives_a_logging_configuration(tmp_path: Path) -> None:
    """uvicorn configures logging (``dictConfig``, which closes every handler) for every server
    a test starts: the suite's file must keep recording after it."""
    handler = LogFile(tmp_path / "log")
    logger = logging.getLogger("tests.outlives")
    logger.addHandler(handler)
    try:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        logger.warning("still recorded")
    finally:
        logger.removeHandler(handler)
        handler.finish()
    assert "still recorded" in handler.path.read_text()
