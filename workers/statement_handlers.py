"""Event handlers for DSA statements of reasons; registered into workers.handlers.HANDLERS.

Queueing and end dates run in the event worker's transaction (idempotent: one statement per decision).
`sor.submit_due` (emitted by the `sor_submit` wake-up deadline) runs a submission pass in that
transaction: the pass locks the rows it sends (SKIP LOCKED), and a pass that dies after the TDB
accepted a batch leaves the rows pending, to be answered `existing_puids` next time, which counts as
submitted (see domain/services/statements.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from domain.services import statements
from infra.tdb_client import TdbClient

if TYPE_CHECKING:
    from infra.db import PgUnitOfWork
    from workers.handlers import Handler


def submit_config() -> statements.SubmitConfig:
    """Backoff from the environment: NOTICEHUB_TDB_BACKOFF_BASE / NOTICEHUB_TDB_BACKOFF_MAX seconds."""
    return statements.SubmitConfig(
        base_backoff_s=float(os.environ.get("NOTICEHUB_TDB_BACKOFF_BASE", "30")),
        max_backoff_s=float(os.environ.get("NOTICEHUB_TDB_BACKOFF_MAX", "3600")),
    )


async def _submit_due(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    async with TdbClient() as sink:
        await statements.submit_due(uow, sink, submit_config())


def statement_handlers() -> dict[str, tuple[Handler, ...]]:
    return {
        "case.state_changed": (statements.on_case_state_changed,),
        "account.restricted": (statements.on_account_restricted,),
        "measure.lifted": (statements.on_measure_lifted,),
        "account.reinstated": (statements.on_account_reinstated,),
        statements.SOR_DUE: (_submit_due,),
    }
