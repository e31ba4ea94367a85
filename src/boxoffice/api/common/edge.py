"""The edge: who sent a request, over what, to which host; decided once, before any route
(docs/decisions/0090-trusted-hosts-and-proxies.md).

**Proxies.** The connecting peer is a proxy to trust when its address is one of
``BOXOFFICE_TRUSTED_PROXIES`` (addresses or networks; or, deprecated, any peer with
``BOXOFFICE_TRUST_PROXY_HEADERS=true``). From a trusted peer, and only from one:

- the client's address is the rightmost ``X-Forwarded-For`` entry that is not itself a
  trusted proxy: each proxy appends the address it was called from, so entries to the left of
  the ones our proxies wrote are whatever the client chose to send;
- the scheme is ``X-Forwarded-Proto``'s last entry, and the host ``X-Forwarded-Host``'s
  last entry (the ones the nearest proxy wrote).

The scope is rewritten accordingly (``client``, ``scheme``, the ``Host`` header), as uvicorn's
own proxy middleware would, which ``boxoffice serve`` turns off: everything after this reads
the request as the client sent it, and nothing after this reads an ``X-Forwarded-*`` header.

**Hosts.** A request must be addressed (``Host``, after the above) to one of
:meth:`Settings.accepted_hosts`: the loopback names, the hosts of ``BOXOFFICE_PUBLIC_URLS`` and
``BOXOFFICE_ALLOWED_HOSTS``. Links in mail are built from the public URLs, or without them from
this checked host (:func:`boxoffice.api.common.session.client_info`), so a forged ``Host``
never reaches a mail. Any other host (or none, or two) gets a plain 400 before any route runs;
the probes (:data:`PROBES`) answer whatever the host, since load balancers and orchestrators
call them by address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from starlette.types import Receive, Scope, Send

from boxoffice.settings import Settings, host_name

#: Operator endpoints that answer whatever the ``Host`` (health checks call them by address).
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})

_BAD_HOST = b"Bad Request: this server does not answer for that host.\n"
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``host_name`` of the ``Host`` values seen (a few per instance; bounded for forged ones).
_host_name = lru_cache(maxsize=256)(host_name)


def _address(value: str) -> _Address | None:
    """An ``X-Forwarded-For`` entry or a peer as an address (``1.2.3.4``, ``1.2.3.4:56``,
    ``::1``, ``[::1]:56``); None for anything else."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class Edge:
    """The proxy and host rules of one instance (:mod:`module docs <boxoffice.api.common.edge>`)."""

    def __init__(self, settings: Settings) -> None:
        self.any_peer = settings.trust_proxy_headers
        self.networks = tuple(
            ipaddress.ip_network(proxy, strict=False) for proxy in settings.trusted_proxies
        )
        self.proxied = self.any_peer or bool(self.networks)
        self.hosts = settings.accepted_hosts()
        self._trusted = lru_cache(maxsize=1024)(self._is_proxy)

    def _is_proxy(self, value: str) -> bool:
        address = _address(value)
        return address is not None and any(address in network for network in self.networks)

    def is_proxy(self, value: str) -> bool:
        """Whether ``value`` (an address) is one of the trusted proxies."""
        return bool(self.networks) and len(value) <= 64 and self._trusted(value)

    def resolve(self, scope: Scope) -> str | None:
        """Rewrite ``scope`` from a trusted proxy's headers (above); the host name the request
        is addressed to, or None when it has no ``Host``, several, or a malformed one."""
        host: bytes | None = None
        several = False
        forwarded_for: list[bytes] = []
        forwarded_proto: bytes | None = None
        forwarded_host: bytes | None = None
        proxied = self.proxied
        for key, value in scope["headers"]:
            if key == b"host":
                if host is None:
                    host = value
                else:
                    several = True
            elif proxied and key[:12] == b"x-forwarded-":
                if key == b"x-forwarded-for":
                    forwarded_for.append(value)
                elif key == b"x-forwarded-proto":
                    forwarded_proto = value
                elif key == b"x-forwarded-host":
                    forwarded_host = value
        if proxied and (forwarded_for or forwarded_proto or forwarded_host):
            peer = scope.get("client")
            if peer and (self.any_peer or self.is_proxy(str(peer[0]))):
                client = self.client_address(forwarded_for) if forwarded_for else None
                if client:
                    scope["client"] = (client, 0)
                if forwarded_proto is not None:
                    self._set_scheme(scope, forwarded_proto)
                if forwarded_host is not None:
                    host = forwarded_host.rsplit(b",", 1)[-1].strip()
                    several = False
                    scope["headers"] = [
                        *((k, v) for k, v in scope["headers"] if k != b"host"),
                        (b"host", host),
                    ]
        if several or host is None:
            return None
        return _host_name(host.decode("latin-1"))

    def client_address(self, forwarded_for: list[bytes]) -> str | None:
        """The rightmost ``X-Forwarded-For`` entry that is not a trusted proxy (the leftmost
        when every entry is one: the client is itself one of the proxies); None without any
        entry."""
        entries = [
            entry.strip()
            for entry in b",".join(forwarded_for).decode("latin-1").split(",")
            if entry.strip()
        ]
        if not entries:
            return None
        for entry in reversed(entries):
            if not self.is_proxy(entry):
                break
        else:
            entry = entries[0]
        address = _address(entry)
        return str(address) if address is not None else entry[:64]

    @staticmethod
    def _set_scheme(scope: Scope, sent: bytes) -> None:
        scheme = _SCHEMES.get(sent.rsplit(b",", 1)[-1].strip().lower().decode("latin-1"))
        if scheme is not None:
            scope["scheme"] = scheme if scope["type"] == "http" else scheme.replace("http", "ws")

    def accepts(self, host: str | None) -> bool:
        return host is not None and host in self.hosts


async def refuse_host(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer to a request for a host this instance does not serve: a plain 400."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_BAD_HOST)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BAD_HOST})


#: A dialect's own exception to the host rule: ``(scope, host name) -> accept``.
HostException = Callable[[Scope, str | None], bool]
