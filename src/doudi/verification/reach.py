"""Which people a feed batch may be linked to: the reach of its area (or everyone, for a national feed)."""

from __future__ import annotations

from doudi.areas.codes import scope_prefix
from doudi.ingest.models import IngestBatch


def link_prefix(batch: IngestBatch) -> str | None:
    """The area-code prefix of the people a batch's rows may be linked to: the batch's own area, so a feed
    taken in by one county never attaches facts to people of another; None (anyone) for a national feed."""
    if batch.national or batch.area_code is None:  # no area: stored before batches had one, linked nationally
        return None
    return scope_prefix(batch.area_code)
