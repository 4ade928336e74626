"""Process-wide settings every long-running Noticehub process applies once it has started."""

from __future__ import annotations

import gc

# CPython collects the youngest generation every 700 net allocations. A batch pass (archive, scheduler,
# submitNotices) keeps tens of thousands of decoded rows alive until it commits, so the collector ran
# hundreds of times per batch and traversed them again in every older-generation pass: ~12 % of an
# archive pass (949 ms of GC for 4,000 cases; 110 ms with these thresholds). Reference counting still
# frees everything that is not a cycle at once; this only makes the cycle collector run less often.
GC_THRESHOLDS = (50_000, 20, 100)


_frozen = False


def tune_gc() -> None:
    """Raise the collector's thresholds and, once per process, freeze what start-up allocated (modules,
    schema, settings): those objects live as long as the process, so full collections skip them."""
    global _frozen
    gc.set_threshold(*GC_THRESHOLDS)
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
