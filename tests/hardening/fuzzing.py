"""Property-based fuzzing with schemathesis, in-process against the ASGI application.

Schemathesis generates the requests (from an OpenAPI document) and checks the responses; the
requests are sent by the test's own ``httpx`` client, on the test's event loop, so the
application shares the test's database ``Core`` (asyncpg and aiosqlite connections belong to
one event loop). Hypothesis runs in a worker thread and hands each request to that loop.

Every request is bounded in time (``REQUEST_TIMEOUT``): a hang is a failure, not a stuck CI.
The number of examples is ``BOXOFFICE_FUZZ_EXAMPLES`` per operation and generation mode
(default ``FUZZ_EXAMPLES``); generation is derandomized and the example database is off, so
CI runs the same requests every time.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, reject
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

FUZZ_EXAMPLES = 6
REQUEST_TIMEOUT = 120.0
EXAMPLES = int(os.environ.get("BOXOFFICE_FUZZ_EXAMPLES", FUZZ_EXAMPLES))
BASE_URL = "http://testserver"
#: httpx refuses longer URLs.
MAX_URL = 65_536

#: Checks on every response: never a 5xx, a documented status, the documented content type and
#: body schema. Negative cases (requests that break the document) must also be refused (4xx).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]

#: ``send`` turns a prepared request (method, url, headers, body) into a response.
Send = Callable[[str, str, dict[str, str], bytes | None], Awaitable[httpx.Response]]


@dataclass
class Finding:
    operation: str
    mode: str
    problem: str


@dataclass
class Fuzzer:
    """Fuzzes the operations of one OpenAPI document and collects every finding."""

    document: dict[str, Any]
    send: Send
    loop: asyncio.AbstractEventLoop
    #: Path parameters that must be live (the tenant in the path, the caller's customer).
    path_parameters: dict[str, str] = field(default_factory=dict)
    #: Where the document's paths are served (a prefix for documents whose ``servers`` differ).
    prefix: str = ""
    #: When set, only these (method, path) operations are fuzzed.
    only: set[tuple[str, str]] | None = None
    #: Known, reasoned differences: (operation label or "*", a fragment of the problem) ->
    #: why our answer differs from the document. A finding matching one is not a failure.
    allowed: dict[tuple[str, str], str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: How often each allowed difference was met.
    allowed_hits: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Operations with no negative case to generate.
    unsatisfiable: list[str] = field(default_factory=list)
    requests_sent: int = 0

    def schema(self) -> Any:
        schema = schemathesis.openapi.from_dict(self.document)
        return schema

    def operations(self) -> list[Any]:
        found = []
        for result in self.schema().get_all_operations():
            operation = result.ok()
            if (
                self.only is not None
                and (operation.method.upper(), operation.path) not in self.only
            ):
                continue
            found.append(operation)
        return found

    def _call(self, case: Any) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL + self.prefix)
        prepared = requests.Session().prepare_request(
            requests.Request(
                method=kwargs["method"],
                url=kwargs["url"],
                headers=kwargs.get("headers"),
                params=kwargs.get("params"),
                cookies=kwargs.get("cookies"),
                data=kwargs.get("data"),
                json=kwargs.get("json"),
                files=kwargs.get("files"),
            )
        )
        if len(prepared.url or "") > MAX_URL:
            # Longer than any HTTP client sends (httpx refuses it; uvicorn's request line
            # limit is far lower): not a request the application can ever see.
            reject()
        body = prepared.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {
            k: v
            for k, v in prepared.headers.items()
            if k.lower() not in ("user-agent", "x-schemathesis-testcaseid", "connection")
        }
        future = asyncio.run_coroutine_threadsafe(
            self.send(prepared.method or "GET", prepared.url or "", headers, body), self.loop
        )
        try:
            return future.result(timeout=REQUEST_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise AssertionError(
                f"no answer within {REQUEST_TIMEOUT}s: {prepared.method} {prepared.url}"
            ) from None

    def fuzz_operation(self, operation: Any, mode: GenerationMode) -> None:
        label = f"{operation.method.upper()} {operation.path}"
        checks = NEGATIVE_CHECKS if mode == GenerationMode.NEGATIVE else CHECKS
        fixed = {
            k: v
            for k, v in self.path_parameters.items()
            if re.search(r"\{" + k + r"\}", operation.path)
        }

        @hypothesis_settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(case=operation.as_strategy(mode, path_parameters=fixed or None))
        def run(case: Any) -> None:
            self.requests_sent += 1
            response = self._call(case)
            try:
                case.validate_response(response, checks=checks)
            except BaseExceptionGroup as exc:  # schemathesis' FailureGroup
                self.record(Finding(label, mode.value, str(exc)[:3000]))

        try:
            run()
        except Unsatisfiable:
            # Nothing in the operation can be made invalid (its only parameter is fixed).
            assert mode == GenerationMode.NEGATIVE, label
            self.unsatisfiable.append(label)
        except AssertionError as exc:  # a hang
            self.findings.append(Finding(label, mode.value, str(exc)))

    def record(self, finding: Finding) -> None:
        for key in self.allowed:
            operation, fragment = key
            if operation in ("*", finding.operation) and fragment in finding.problem:
                self.allowed_hits[key] = self.allowed_hits.get(key, 0) + 1
                return
        self.findings.append(finding)

    def fuzz(self) -> list[Finding]:
        for operation in self.operations():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                self.fuzz_operation(operation, mode)
        return self.findings


def report(findings: list[Finding]) -> str:
    unique: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        first_line = finding.problem.strip().splitlines()[0] if finding.problem.strip() else ""
        unique.setdefault((finding.operation, first_line), finding)
    return (
        "\n\n".join(f"[{f.mode}] {f.operation}\n{f.problem}" for f in list(unique.values())[:25])
        + f"\n\n({len(findings)} findings, {len(unique)} distinct)"
    )


async def fuzz(fuzzer: Fuzzer) -> list[Finding]:
    """Run the fuzzer in a worker thread while this loop serves its requests."""
    return await asyncio.to_thread(fuzzer.fuzz)


def asgi_sender(
    client: httpx.AsyncClient,
    *,
    sign: Callable[[str, str, bytes | None], dict[str, str]] | None = None,
    auth: dict[str, str] | None = None,
    auth_if_present: bool = False,
) -> Send:
    """Send a prepared request with ``client``; ``sign`` adds headers computed over the exact
    method, URL and body (HMAC); ``auth`` replaces the credential header (with
    ``auth_if_present``, only where the generated request has one: a negative case that leaves
    a documented credential header out stays without it)."""

    async def send(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> httpx.Response:
        sent = dict(headers)
        for name, value in (auth or {}).items():
            present = [k for k in sent if k.lower() == name.lower()]
            for key in present:
                del sent[key]
            if present or not auth_if_present:
                sent[name] = value
        if sign is not None:
            for key in [k for k in sent if k.lower() in ("authorization", "date")]:
                del sent[key]
            sent.update(sign(method, url, body if method not in ("GET", "HEAD") else None))
        return await client.request(method, url, headers=sent, content=body)

    return send
