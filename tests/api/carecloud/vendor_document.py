"""The vendor's OpenAPI description, as a test oracle: request generation and response checks.

The document is the vendor's, under the vendor's licence, and is never copied into this
repository: its path comes from ``BOXOFFICE_CARECLOUD_OPENAPI`` (``.ci/run`` sets it from the
copy CI is given beside the clone). Without it, the tests that need it are skipped, by
name, through the ``vendor_document`` fixture (``tests/conftest.py``); with
``BOXOFFICE_REQUIRE_CARECLOUD_OPENAPI=1`` (CI) they fail instead. Nothing is read at import
time; the document is read once per process, when a test first needs it.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

#: The environment variable naming the vendor's document (a path).
ENV = "BOXOFFICE_CARECLOUD_OPENAPI"
#: Set to 1 (CI) to fail, not skip, when the document is missing.
REQUIRE_ENV = "BOXOFFICE_REQUIRE_CARECLOUD_OPENAPI"
URI = "urn:carecloud-customer-interface"
METHODS = ("get", "post", "put", "delete", "patch")


def path() -> Path | None:
    """The document's path, or None when ``BOXOFFICE_CARECLOUD_OPENAPI`` is unset."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def required() -> bool:
    return os.environ.get(REQUIRE_ENV) == "1"


def missing() -> str | None:
    """Why the document cannot be read (None: it can)."""
    where = path()
    if where is None:
        return f"{ENV} is not set (the vendor's CareCloud OpenAPI document, outside the repository)"
    if not where.is_file():
        return f"{ENV}={where} is not a file"
    return None


def available() -> bool:
    return missing() is None


@functools.cache
def spec() -> dict[str, Any]:
    reason = missing()
    if reason is not None:
        raise FileNotFoundError(reason)
    where = path()
    assert where is not None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with where.open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.load(f, Loader=loader)
    return data


Operation = tuple[str, str]


def select(operations: Sequence[Operation], keep: Callable[[str, str], bool]) -> list[Operation]:
    """The operations for which ``keep(method, path)`` holds, for a test's parameters at
    collection time. Without the document every operation is listed: each is then skipped by
    name by the ``vendor_document`` fixture, and collection never fails."""
    if not available():
        return list(operations)
    return [op for op in operations if keep(*op)]


@functools.cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(spec(), default_specification=DRAFT4)
    return Registry().with_resource(URI, resource)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def resolve(node: Any) -> Any:
    """Follow a local ``$ref`` (one level)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operation(method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = spec()["paths"][path][method.lower()]
    return op


def operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in spec()["paths"].items()
        for method in item
        if method in METHODS
    ]


def parameters(method: str, path: str) -> list[dict[str, Any]]:
    item = spec()["paths"][path]
    return [
        resolve(p)
        for p in item.get("parameters", []) + operation(method, path).get("parameters", [])
    ]


def documented_statuses(method: str, path: str) -> set[int]:
    return {int(code) for code in operation(method, path)["responses"]}


def _response_schema_pointer(method: str, path: str, status: int) -> str | None:
    response = operation(method, path)["responses"].get(str(status))
    if response is None:
        return None
    if "$ref" in response:
        base = response["$ref"].removeprefix("#")
        response = resolve(response)
    else:
        base = f"/paths/{_escape(path)}/{method.lower()}/responses/{status}"
    if "application/json" not in response.get("content", {}):
        return ""
    return f"{base}/content/application~1json/schema"


def response_problems(method: str, path: str, status: int, body: bytes) -> list[str]:
    """Why a response breaks the document (an empty list: it does not)."""
    import orjson

    if status >= 500:
        return [f"server error {status}: {body[:300]!r}"]
    pointer = _response_schema_pointer(method, path, status)
    if pointer is None:
        return [f"status {status} is not documented for {method} {path}"]
    if status == 204:
        return [] if not body else [f"204 with a body: {body[:200]!r}"]
    if pointer == "":
        return []
    try:
        instance = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [f"not JSON: {body[:200]!r}"]
    validator = OAS30ReadValidator(
        {"$ref": f"{URI}#{pointer}"},
        registry=_registry(),
        format_checker=oas30_format_checker,
    )
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
        for error in validator.iter_errors(instance)
    ]


# --- generating requests from the document -----------------------------------------------------


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in schema["allOf"]:
        part = _full(part)
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged


def _full(schema: Any) -> dict[str, Any]:
    schema = resolve(schema)
    if "allOf" in schema:
        return _merge_all_of(schema)
    result: dict[str, Any] = schema
    return result


def example(schema: Any, *, optional: bool = True, depth: int = 0) -> Any:
    """A value for ``schema`` built from the document's own examples (read-only fields left
    out); ``optional=False`` keeps only required properties."""
    schema = _full(schema)
    if "example" in schema and schema.get("type") != "object":
        return copy.deepcopy(schema["example"])
    if "oneOf" in schema or "anyOf" in schema:
        return example((schema.get("oneOf") or schema["anyOf"])[0], optional=optional, depth=depth)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        out: dict[str, Any] = {}
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = _full(prop)
            if prop.get("readOnly") or (not optional and name not in required):
                continue
            if depth > 6:
                continue
            out[name] = example(prop, optional=optional, depth=depth + 1)
        return out
    if kind == "array":
        return [example(schema.get("items", {}), optional=optional, depth=depth + 1)]
    if kind == "integer":
        return schema.get("default", schema.get("minimum", 1))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return "2000-01-31"
    return "text"


def request_body_schema(method: str, path: str) -> dict[str, Any] | None:
    body = operation(method, path).get("requestBody")
    if body is None:
        return None
    return _full(resolve(body)["content"]["application/json"]["schema"])


def substitute(value: Any, known: dict[str, Any]) -> Any:
    """Replace the document's example ids (and other values that must be live) by ``known``
    ones, by field name, at any depth."""
    if isinstance(value, dict):
        return {
            k: (copy.deepcopy(known[k]) if k in known else substitute(v, known))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute(v, known) for v in value]
    return value


def query_value(param: dict[str, Any]) -> Any:
    schema = _full(param.get("schema", {}))
    if "example" in param:
        return param["example"]
    return example(schema)


def template_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)
