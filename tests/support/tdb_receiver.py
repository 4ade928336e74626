"""A local stand-in for the DSA Transparency Database batch API (POST /api/v1/statements).

A real HTTP server (Starlette on uvicorn, 127.0.0.1, a free port, in a thread) that answers as the TDB
does (transparency-database StatementMultipleAPIController), applying our single rule set
(domain.statements_of_reasons.validate_batch):
- 401 without the right Bearer token;
- 422 `{"errors": {"statement_<i>": {field: [messages]}}}` when any statement is invalid: the whole batch
  is rejected, nothing is stored;
- 422 `{"message": ..., "errors": {"puid": [...], "existing_puids": [...]}}` when a puid is repeated in
  the batch or was stored before: nothing is stored;
- 201 `{"statements": [...]}` with a `uuid` per statement otherwise.

Knobs for tests: `fail_with` (answer every request with that status, e.g. 503); `delay_s` (answer late,
after storing: a client timeout that the database nevertheless accepted); `server_rules` (puid ->
(field, message): an extra rule only the server applies, as when the TDB's rules move ahead of ours).
Everything received is recorded in `requests`, every answer's status in `answers`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.statements_of_reasons import BATCH, MAX_BATCH, validate_batch

PATH = "/api/v1/statements"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TdbReceiver:
    def __init__(self, token: str = "tdb-test-token") -> None:
        self.token = token
        self.port = _free_port()
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[list[str]] = []  # puids of every request received with a valid token
        self.answers: list[int] = []
        self.fail_with: int | None = None
        self.delay_s: float = 0.0
        self.server_rules: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def accepted_puids(self) -> list[str]:
        with self._lock:
            return list(self.stored)

    def app(self) -> Starlette:
        return Starlette(routes=[Route(PATH, self._statements, methods=["POST"])])

    def _answer(self, status: int, body: dict[str, Any]) -> Response:
        with self._lock:
            self.answers.append(status)
        return JSONResponse(body, status_code=status)

    async def _statements(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._answer(401, {"message": "Unauthenticated."})
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self._answer(400, {"message": "Malformed JSON."})
        statements = payload.get("statements") if isinstance(payload, dict) else None
        puids = [str(s.get("puid")) for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []
        with self._lock:
            self.requests.append(puids)
        response = self._handle(statements, puids)
        if self.delay_s:  # answer late: what was stored stays stored even if the client gave up
            await asyncio.sleep(self.delay_s)
        return response

    def _handle(self, statements: Any, puids: list[str]) -> Response:
        if self.fail_with is not None:
            return self._answer(self.fail_with, {"message": "Service Unavailable"})
        if not isinstance(statements, list) or not 1 <= len(statements) <= MAX_BATCH:
            return self._answer(422, {"message": "The statements field must have between 1 and 100 items.",
                                      "errors": {"statements": ["The statements field must have between 1 and "
                                                                "100 items."]}})
        problems = validate_batch(statements)
        errors: dict[str, dict[str, list[str]]] = {}
        in_request_duplicates: list[str] = []
        for index, items in problems.items():
            if index == BATCH:
                continue
            for p in items:
                if p.code == "duplicate":
                    in_request_duplicates.append(str(statements[index].get("puid")))
                else:
                    errors.setdefault(f"statement_{index}", {}).setdefault(p.field, []).append(p.message)
        for index, s in enumerate(statements):
            rule = self.server_rules.get(str(s.get("puid")))
            if rule is not None:
                errors.setdefault(f"statement_{index}", {}).setdefault(rule[0], []).append(rule[1])
        if errors:
            return self._answer(422, {"errors": errors})
        with self._lock:
            existing = [p for p in puids if p in self.stored]
            duplicates = list(dict.fromkeys(in_request_duplicates + existing))
            if duplicates:
                message = "The platform identifier(s) are not all unique within this call."
                self.answers.append(422)
                return JSONResponse({"message": message, "errors": {"puid": [message], "existing_puids": duplicates}},
                                    status_code=422)
            created = []
            for s in statements:
                item = dict(s, uuid=str(uuid.uuid4()), created_at=datetime.now(UTC).isoformat(),
                            platform_name="Noticehub test platform")
                self.stored[str(s["puid"])] = item
                created.append(item)
            self.answers.append(201)
        return JSONResponse({"statements": created}, status_code=201)

    def start(self) -> None:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="tdb-receiver", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the TDB receiver did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


@contextmanager
def running_receiver(token: str = "tdb-test-token") -> Iterator[TdbReceiver]:
    receiver = TdbReceiver(token)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
