"""A small JSON Schema subset compiled to Pydantic models: the input and output of generated tools.

Supported: `type` (`string`, `integer`, `number`, `boolean`, `null`, `array`, `object`, or a list of
them), `properties`, `required`, `items`, `additionalProperties` (a schema), `enum` (of strings, numbers
or booleans), `anyOf`/`oneOf`, `default` and `description`. Anything else is refused with a message
naming the place, so the model learns what to change. Models are strict: `"3"` is not an integer.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from functools import reduce
from operator import or_
from types import GenericAlias
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

__all__ = ("SchemaError", "model_from_schema", "pascal_case")

_SCALARS: dict[str, object] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": type(None),
}
_KNOWN_KEYS = frozenset(
    {
        "type",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "enum",
        "anyOf",
        "oneOf",
        "default",
        "description",
        "title",
        "examples",
    }
)
_RESERVED = frozenset(dir(BaseModel))
MAX_PROPERTIES = 64
MAX_DEPTH = 8


class SchemaError(ValueError):
    """A schema uses something outside the supported subset, or is malformed."""


def pascal_case(name: str) -> str:
    """`count_todos` → `CountTodos`."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def model_from_schema(class_name: str, schema: object, *, where: str = "schema") -> type[BaseModel]:
    """Compile an object schema into a strict Pydantic model named `class_name`.

    Raises:
        SchemaError: the schema is not an object schema or uses unsupported keywords.
    """
    return _object_model(class_name, schema, where=where, depth=0)


def _object_model(class_name: str, schema: object, *, where: str, depth: int) -> type[BaseModel]:
    if depth > MAX_DEPTH:
        raise SchemaError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{where}: must be an object (a dict), not {type(schema).__name__}")
    _check_keys(schema, where)
    if schema.get("type") != "object":
        raise SchemaError(f'{where}: must have "type": "object"')
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        raise SchemaError(f'{where}: "properties" must be a dict')
    if len(properties) > MAX_PROPERTIES:
        raise SchemaError(f"{where}: more than {MAX_PROPERTIES} properties")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(f'{where}: "required" must be a list of property names')
    unknown = sorted(set(required) - set(properties))
    if unknown:
        raise SchemaError(f'{where}: "required" names unknown properties {unknown}')
    fields: dict[str, Any] = {}
    for name, sub in properties.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise SchemaError(f"{where}: property {name!r} is not a Python identifier")
        if name.startswith("_") or name in _RESERVED:
            raise SchemaError(f"{where}: property name {name!r} is reserved; choose another")
        place = f"{where}.properties.{name}"
        annotation = _annotation(f"{class_name}{pascal_case(name)}", sub, where=place, depth=depth + 1)
        description = sub.get("description") if isinstance(sub, Mapping) else None
        if name in required:
            default: object = ...
        elif isinstance(sub, Mapping) and "default" in sub:
            default = sub["default"]
        else:
            annotation = annotation | None
            default = None
        fields[name] = (annotation, Field(default, description=description))
    description = schema.get("description")
    return create_model(
        class_name,
        __config__=ConfigDict(extra="forbid", strict=True),
        __doc__=description if isinstance(description, str) else None,
        **fields,
    )


def _annotation(class_name: str, schema: object, *, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise SchemaError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{where}: must be a schema (a dict), not {type(schema).__name__}")
    _check_keys(schema, where)
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not values:
            raise SchemaError(f'{where}: "enum" must be a non-empty list')
        if not all(isinstance(v, str | int | bool) for v in values):
            raise SchemaError(f'{where}: "enum" values must be strings, integers or booleans')
        return Literal[tuple(values)]  # ty: ignore[invalid-type-form]  # a Literal built from data at run time
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = schema[combinator]
            if not isinstance(options, list) or not options:
                raise SchemaError(f'{where}: "{combinator}" must be a non-empty list of schemas')
            members = [
                _annotation(f"{class_name}{i}", option, where=f"{where}.{combinator}[{i}]", depth=depth + 1)
                for i, option in enumerate(options)
            ]
            return reduce(or_, members)
    kind = schema.get("type")
    if isinstance(kind, list):
        if not kind:
            raise SchemaError(f'{where}: "type" list is empty')
        members = [_annotation(class_name, {**schema, "type": k}, where=where, depth=depth) for k in kind]
        return reduce(or_, members)
    match kind:
        case str() if kind in _SCALARS:
            return _SCALARS[kind]
        case "array":
            items = schema.get("items")
            if items is None:
                return list[Any]
            item = _annotation(f"{class_name}Item", items, where=f"{where}.items", depth=depth + 1)
            return GenericAlias(list, (item,))
        case "object":
            if "properties" in schema:
                return _object_model(class_name, schema, where=where, depth=depth)
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping):
                value = _annotation(
                    f"{class_name}Value", extra, where=f"{where}.additionalProperties", depth=depth + 1
                )
                return GenericAlias(dict, (str, value))
            return dict[str, Any]
        case None:
            raise SchemaError(f'{where}: needs a "type" (string, integer, number, boolean, array, object)')
        case _:
            raise SchemaError(f"{where}: unsupported type {kind!r}")


def _check_keys(schema: Mapping[object, object], where: str) -> None:
    unknown = sorted(str(key) for key in schema if key not in _KNOWN_KEYS)
    if unknown:
        raise SchemaError(
            f"{where}: unsupported keywords {unknown}; use type, properties, required, items, "
            "additionalProperties, enum, anyOf, default, description"
        )
