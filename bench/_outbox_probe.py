"""Probe loaded into the benchmark's worker process, after `workers.actors` (bench/outbox_relay_latency.py).

    python -m dramatiq workers.actors bench._outbox_probe --processes 1 --threads 4

dramatiq imports every module named on its command line in each worker process before the worker starts,
so this adds, without touching project code:
- a handler for TOPIC through `workers.handlers.register` (the way the project's own handler tables are
  added): it records the wall-clock time at which `dispatch_event` reaches the handlers, i.e. after the
  actor has taken a pooled connection, entered the tenant and claimed the message in `processed_messages`;
- a dramatiq middleware, appended last, whose `before_process_message` records the wall-clock time at which
  the worker thread is about to call the actor for a TOPIC message (the actor starting), with the message's
  own `message_timestamp` (ms, set when the relay built it), and whose `after_process_message` records when
  the actor returned (its transaction committed).

Timestamps are taken with `time.time()` and appended to an in-memory deque; a daemon thread writes them
every 20 ms to the file named by NOTICEHUB_BENCH_PROBE_FILE (lines "actor|handler|done <event id> <epoch s>
[<built s>]"), so the measured path does no I/O of its own.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import dramatiq

from infra.broker import EVENTS_ACTOR
from infra.db import PgUnitOfWork
from workers.handlers import register

TOPIC = "bench.outbox_latency"
PROBE_FILE_ENV = "NOTICEHUB_BENCH_PROBE_FILE"

_pending: collections.deque[str] = collections.deque()


class ActorStartProbe(dramatiq.Middleware):
    """Records when the worker thread starts the actor for a benchmark message (last before-hook to run)."""

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        kwargs = message.kwargs
        if message.actor_name == EVENTS_ACTOR and kwargs.get("topic") == TOPIC:
            _pending.append(f"actor {kwargs['event_id']} {time.time()!r} {message.message_timestamp / 1000!r}")

    def after_process_message(self, broker: dramatiq.Broker, message: Any, *, result: Any = None,
                              exception: Any = None) -> None:
        kwargs = message.kwargs
        if message.actor_name == EVENTS_ACTOR and kwargs.get("topic") == TOPIC:
            _pending.append(f"done {kwargs['event_id']} {time.time()!r}")


async def _handler(uow: PgUnitOfWork, event_id: str, payload: Mapping[str, Any]) -> None:
    _pending.append(f"handler {event_id} {time.time()!r}")


def _writer(path: str) -> None:
    with open(path, "a", buffering=1) as f:
        while True:
            time.sleep(0.02)
            lines = []
            while _pending:
                lines.append(_pending.popleft())
            if lines:
                f.write("\n".join(lines) + "\n")


_path = os.environ.get(PROBE_FILE_ENV)
if _path:  # only in the benchmark's worker; importing the module elsewhere (tests, mypy) changes nothing
    register({TOPIC: (_handler,)})
    dramatiq.get_broker().add_middleware(ActorStartProbe())
    threading.Thread(target=_writer, args=(_path,), name="bench-probe-writer", daemon=True).start()
