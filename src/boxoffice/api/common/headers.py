"""Reading a request's headers straight from the ASGI scope."""

from __future__ import annotations

from starlette.types import Scope


def first_values(scope: Scope, *names: bytes) -> list[str | None]:
    """The first value of each of ``names`` (lower case), in one pass over the raw headers,
    as Starlette's ``Headers.get`` reads them (latin-1); ``None`` for a header not sent. For
    the hot paths, which need a few headers and not a ``Headers`` object."""
    found: list[str | None] = [None] * len(names)
    for key, value in scope.get("headers", ()):
        if key in names:
            index = names.index(key)
            if found[index] is None:
                found[index] = value.decode("latin-1")
    return found
