"""Shared set-up for benchmarks: a fresh database on the real PostgreSQL (or embedded), migrated."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    base, _, _ = head.rpartition("/")
    return f"{base}/{name}{sep}{query}"


class Stack:
    """DATABASE_URL/REDIS_URL when set (real services); embedded otherwise. A fresh database each run."""

    def __init__(self) -> None:
        self._embedded: list[object] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="nh-bench-"))
        from infra.embedded import start_postgres, start_redis

        admin = os.environ.get("DATABASE_URL")
        if not admin:
            admin, pg = start_postgres(self.tmp, delete_on_exit=True)
            self._embedded.append(pg)
        if not os.environ.get("REDIS_URL") and not os.environ.get("AMQP_URL"):
            url, redis = start_redis(self.tmp / "redis", port=free_port())
            self._embedded.append(redis)
            os.environ["REDIS_URL"] = url
        self.admin_url = admin
        self.db_name = f"nh_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(self._exec(f'CREATE DATABASE "{self.db_name}"'))
        self.database_url = with_database(admin, self.db_name)
        os.environ["DATABASE_URL"] = self.database_url
        os.environ["NOTICEHUB_ENV"] = "production"
        os.environ.setdefault("NOTICEHUB_OPERATOR_KEY", "nho_bench_" + uuid.uuid4().hex)
        from infra.migrate import migrate

        migrate(self.database_url)

    async def _exec(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def close(self) -> None:
        asyncio.run(self._exec(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        for service in self._embedded:
            if hasattr(service, "shutdown"):
                service.shutdown(nosave=True)
            else:
                service.cleanup()  # type: ignore[attr-defined]
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_uvicorn(target: str, port: int, *, factory: bool = False, runner: Sequence[str] = (),
                  wait_s: float = 10, workers: int = 1) -> subprocess.Popen[bytes]:
    """uvicorn as the benchmarks run it (one process unless `workers`, uvloop, httptools); `runner` goes
    before `-m uvicorn`, e.g. a profiler's `-m pyinstrument ...`."""
    cmd = [sys.executable, *runner, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
           "--log-level", "warning"]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ))
    for _ in range(int(wait_s / 0.05)):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = 10) -> None:
    """One signal (a second SIGTERM hangs dramatiq, stack-notes §2), then a kill after the timeout."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    return path


def wrk(url: str, script: Path, *, seconds: int, connections: int = 32) -> float:
    """Requests per second reported by wrk (bounded duration, loopback only)."""
    out = subprocess.run(
        [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout
    errors = [line for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    if errors:
        raise RuntimeError(f"wrk saw errors: {errors}\n{out}")
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)
