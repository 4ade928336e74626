"""Object storage for archive bundles, through obstore (Rust object_store bindings).

`NOTICEHUB_ARCHIVE_URL` picks the store: `file:///abs/dir` (the default: `<data dir>/archive`),
`s3://bucket/prefix` (credentials, region and endpoint from the usual `AWS_*` variables, e.g.
`AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true` for an S3-compatible server), `gs://` or `az://`.

Writes use `PutMode.Create`: the local store creates the file exclusively and S3 sends
`If-None-Match: *`, so a bundle, once written, is never overwritten, not even by a racing writer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import AlreadyExistsError, NotFoundError
from obstore.store import LocalStore, ObjectStore, from_url

from infra.settings import Settings

_REMOTE_CONCURRENCY = 32
_LOCAL_THREADS = 4


class ObjectArchiveStore:
    def __init__(self, url: str, **options: Any) -> None:
        self.url = url.rstrip("/")
        self.local = self.url.startswith("file://")
        if self.local:
            root = Path(self.url.removeprefix("file://"))
            root.mkdir(parents=True, exist_ok=True)
            self._store: ObjectStore = LocalStore(root, mkdir=True)
        else:
            self._store = from_url(self.url, **options)

    def uri(self, key: str) -> str:
        return f"{self.url}/{key}"

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        """True when written, False when an object is already there (content-addressed: the same bytes)."""
        try:
            await obstore.put_async(self._store, key, data, mode="create", use_multipart=False)
        except AlreadyExistsError:
            return False
        return True

    async def put_many_if_absent(self, items: Sequence[tuple[str, bytes]]) -> list[bool]:
        """Write a batch; for each item, True when written, False when already there.

        Local files: four threads write a share of the batch each with blocking puts (an awaitable per file
        costs more than the write; a few creates in flight overlap their journal waits). Remote stores:
        concurrent requests.
        """
        if self.local:
            chunks = [items[i::_LOCAL_THREADS] for i in range(_LOCAL_THREADS)]
            done = await asyncio.gather(*(asyncio.to_thread(self._put_many_blocking, c) for c in chunks))
            out = [False] * len(items)
            for i, written in enumerate(done):
                out[i::_LOCAL_THREADS] = written
            return out
        sem = asyncio.Semaphore(_REMOTE_CONCURRENCY)

        async def put(key: str, data: bytes) -> bool:
            async with sem:
                return await self.put_if_absent(key, data)

        return list(await asyncio.gather(*(put(k, d) for k, d in items)))

    def _put_many_blocking(self, items: Sequence[tuple[str, bytes]]) -> list[bool]:
        out = []
        for key, data in items:
            try:
                obstore.put(self._store, key, data, mode="create", use_multipart=False)
                out.append(True)
            except AlreadyExistsError:
                out.append(False)
        return out

    async def get(self, key: str) -> bytes | None:
        try:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except (NotFoundError, FileNotFoundError):
            return None

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except (NotFoundError, FileNotFoundError):
            return


def default_archive_url(settings: Settings) -> str:
    return settings.archive_url or f"file://{(Path(settings.data_dir) / 'archive').resolve()}"


_stores: dict[str, ObjectArchiveStore] = {}
_lock = threading.Lock()


def store_from_settings(settings: Settings) -> ObjectArchiveStore:
    """One store per URL per process (the S3 client keeps its connection pool)."""
    url = default_archive_url(settings)
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = ObjectArchiveStore(url)
        return store
