"""Issue 2 figure: cold start of `noticehub dev` on embedded defaults (fresh data dir, initdb included)
until /readyz answers 200. Baseline in the same run: the bare time to start the embedded PostgreSQL.

    .venv/bin/python bench/cold_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import ROOT, free_port, stop


def cold_start_once() -> float:
    data = Path(tempfile.mkdtemp(prefix="nh-cold-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "AMQP_URL"}}
    env["NOTICEHUB_DATA_DIR"] = str(data)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "infra.cli", "dev", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < 60:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("no /readyz 200 within 60 s")
    finally:
        stop(proc, timeout_s=40)
        shutil.rmtree(data, ignore_errors=True)


def postgres_only() -> float:
    from infra.embedded import start_postgres

    data = Path(tempfile.mkdtemp(prefix="nh-pg-"))
    started = time.monotonic()
    _, server = start_postgres(data, delete_on_exit=True)
    elapsed = time.monotonic() - started
    server.cleanup()
    shutil.rmtree(data, ignore_errors=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dev = [cold_start_once() for _ in range(args.runs)]
    pg = [postgres_only() for _ in range(args.runs)]
    print(f"embedded PostgreSQL initdb+start : {min(pg):.2f} s (runs: {', '.join(f'{x:.2f}' for x in pg)})")
    print(f"noticehub dev -> /readyz 200    : {min(dev):.2f} s best, {max(dev):.2f} s worst "
          f"(runs: {', '.join(f'{x:.2f}' for x in dev)}); target < 5 s")
    print(f"ratio dev / PostgreSQL alone     : {min(dev) / min(pg):.1f}x")


if __name__ == "__main__":
    main()
