"""Dialect-neutral checks on parsed request bodies."""

from __future__ import annotations

from typing import Any

#: No vendor body nests deeper than a handful of levels; this leaves ample room.
MAX_DEPTH = 32


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether parsed JSON nests arrays/objects deeper than ``limit`` (checked without
    recursion, so a hostile body cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
