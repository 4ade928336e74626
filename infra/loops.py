"""Helpers for the long-running loops (relay, scheduler)."""

from __future__ import annotations

import asyncio


async def wait_for_wake(wake: asyncio.Event, stop: asyncio.Event, timeout_s: float) -> None:
    """Sleep until woken (NOTIFY), stopped, or the poll interval passes, whichever is first."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
