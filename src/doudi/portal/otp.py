"""Pluggable one-time-code senders. In demo mode codes go to the log; production plugs in an SMS gateway."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

log = logging.getLogger("doudi.portal.otp")

Sender = Callable[[str, str], None]
SENT: list[tuple[str, str]] = []  # the log sender also keeps the last codes in memory, for demos and tests


def log_sender(phone: str, code: str) -> None:
    """Write the code to the application log (demo mode only)."""
    SENT.append((phone, code))
    del SENT[:-100]
    # The number is masked by the log scrubber; the code itself must be readable in demo mode.
    log.warning("one-time code for %s: %s", phone, code)


def sender_for(name: str) -> Sender:
    """The sender named in settings: 'log' or a dotted path 'package.module:function'."""
    if name == "log":
        return log_sender
    module, _, attr = name.partition(":")
    fn: Sender = getattr(importlib.import_module(module), attr)
    return fn
