"""The SSRF guard for webhook targets: resolve the host, check every address it resolves to.

Kept apart from the sender (infra/webhook_sender.py) so that the API, which checks targets when they are
registered, does not import the HTTP client. The resolver is injectable, so tests check resolution rules
without real DNS.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.webhooks import check_addresses, parse_target_url

Resolver = Callable[[str, int], Awaitable[list[str]]]


def allow_local_targets() -> bool:
    """NOTICEHUB_WEBHOOKS_ALLOW_LOCAL=1: http and loopback targets (development and tests only)."""
    return os.environ.get("NOTICEHUB_WEBHOOKS_ALLOW_LOCAL", "").strip().lower() in {"1", "true", "yes"}


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    url: str
    host: str
    addresses: tuple[str, ...]  # every address it resolved to; all were checked


class TargetGuard:
    """Implements domain.services.notifications.TargetGuard; also pins addresses for the sender."""

    def __init__(self, *, allow_local: bool | None = None, resolver: Resolver | None = None) -> None:
        self._allow_local = allow_local  # None: the environment decides, read on every check
        self.resolver = resolver or system_resolver

    @property
    def allow_local(self) -> bool:
        return allow_local_targets() if self._allow_local is None else self._allow_local

    async def check(self, url: str, field: str = "url") -> None:
        await self.resolve(url, field)

    async def checked_addresses(self, host: str, port: int, field: str = "url") -> list[str]:
        """Resolve a host name and check every address (the connector's resolver)."""
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:
            raise InvalidInput(f"'{host}' does not resolve: {exc.strerror or exc}.", field) from exc
        check_addresses(host, addresses, allow_local=self.allow_local, field=field)
        return addresses

    async def resolve(self, url: str, field: str = "url") -> ResolvedTarget:
        target = parse_target_url(url, allow_local=self.allow_local, field=field)
        if target.is_ip_literal:
            addresses = [target.host]
            check_addresses(target.host, addresses, allow_local=self.allow_local, field=field)
        else:
            addresses = await self.checked_addresses(target.host, target.port, field)
        return ResolvedTarget(url=target.url, host=target.host, addresses=tuple(addresses))
