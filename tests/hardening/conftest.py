"""The hardening tests reuse the real server process of the end-to-end tests."""

from __future__ import annotations

from tests.e2e.conftest import live_server, live_tenant  # noqa: F401  (fixtures)
