"""Logging to stderr and to a rotating file under data_dir, with ID numbers scrubbed."""

from __future__ import annotations

import logging
import re
from logging.handlers import RotatingFileHandler

from doudi.config import Settings

_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)(1\d{2})(\d{4})(\d{4})(?!\d)")


class ScrubFilter(logging.Filter):
    """Mask ID and mobile numbers in every log line, whatever the caller passed."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        scrubbed = _PHONE_RE.sub(r"\1****\3", _ID_RE.sub(r"\1********\3", msg))
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
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fh = RotatingFileHandler(settings.data_dir / "doudi.log", maxBytes=10_000_000, backupCount=5,
                                 encoding="utf-8")
        fh.setFormatter(fmt)
        fh.addFilter(scrub)
        root.addHandler(fh)
    except OSError:
        root.warning("cannot write log file under %s; logging to stderr only", settings.data_dir)
