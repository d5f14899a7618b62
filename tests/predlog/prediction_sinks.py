"""Helpers the prediction-log tests import by name (a module of its own, not the
``conftest.py``, so the name is unambiguous whichever suites run together)."""

from __future__ import annotations

from collections.abc import Callable

from modelport.predlog import Sink

SinkTarget = tuple[str, Callable[[], Sink]]
"""``(where, make_sink)``, as the ``target`` fixture yields it: ``where`` is what
``read_predictions`` reads, ``make_sink()`` opens a new sink writing there."""
