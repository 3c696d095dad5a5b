"""What the video tests share: one real Janus for the module's tests, and a running app that
drives it (``tests.support.janus``)."""

from tests.support.janus import app, janus

__all__ = ["app", "janus"]
