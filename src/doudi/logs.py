"""Logging to stderr and to a rotating file under data_dir, with ID numbers scrubbed."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from doudi.config import Settings
from doudi.core.masking import scrub_text


class ScrubFilter(logging.Filter):
    """Mask ID and mobile numbers in every log line and traceback, whatever the caller passed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:  # render the traceback now, so it can be scrubbed like the message
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        msg = record.getMessage()
        scrubbed = scrub_text(msg)
        if scrubbed != msg:
            record.msg, record.args = scrubbed, None
        return True


_configured = False


def configure_logging(settings: Settings) -> None:
    """Configure root logging once per process."""
    global _configured
    if _configured:
        return
    _configured = True
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger("doudi")
    root.setLevel(settings.log_level.upper())
    scrub = ScrubFilter()
    stream = logging.StreamHandler()
    stream.setFormatter(fmt)
    stream.addFilter(scrub)
    root.addHandler(stream)
    # The web server's access log carries query strings (a search by ID number, a phone number): it goes
    # through the same handlers and scrubbing (`doudi serve` runs uvicorn with log_config=None).
    server = logging.getLogger("uvicorn")
    server.setLevel(settings.log_level.upper())
    server.addHandler(stream)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fh = RotatingFileHandler(settings.data_dir / "doudi.log", maxBytes=10_000_000, backupCount=5,
                                 encoding="utf-8")
        fh.setFormatter(fmt)
        fh.addFilter(scrub)
        root.addHandler(fh)
        server.addHandler(fh)
    except OSError:
        root.warning("cannot write log file under %s; logging to stderr only", settings.data_dir)
