"""Values crossing the sandbox boundary: results in as `ClassInstance` wrappers, values out as JSON."""

from __future__ import annotations

import base64
import datetime
import decimal
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from pydantic_monty import ClassInstance, ClassType, MontyClassProxy

__all__ = ("JsonValue", "plain", "size_of", "to_jsonable", "wrap")

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
"""A value `json.dumps` accepts as is."""

MAX_DEPTH = 64
"""Nesting depth beyond which values are summarised by their type (hostile blocks build deep lists)."""

_CLASS_TYPES: dict[type[BaseModel], ClassType] = {}
_SCALARS = frozenset({int, float, bool, type(None)})


class _ModelInstance(ClassInstance):
    """A Pydantic model exposed field by field; nested models are wrapped the same way."""

    def convert_value(self, /, name: str, value: Any) -> Any:
        """Wrap nested models (and models inside lists and dicts) before they cross."""
        return wrap(value)


def _class_type(model: type[BaseModel]) -> ClassType:
    found = _CLASS_TYPES.get(model)
    if found is None:
        found = _CLASS_TYPES[model] = ClassType(model)
    return found


def wrap(value: Any) -> Any:
    """Prepare a tool result for the sandbox: every model becomes a read-only `ClassInstance`.

    Only the model's declared fields cross (eagerly, as a snapshot); no methods are exposed, so the
    block can read `result.errors[0].line` and nothing else of the host object.
    """
    if isinstance(value, BaseModel):
        model = type(value)
        return _ModelInstance(value, eager_attrs=tuple(model.model_fields), class_type=_class_type(model))
    if isinstance(value, list):
        return [wrap(item) for item in value]
    if isinstance(value, tuple):
        return tuple(wrap(item) for item in value)
    if isinstance(value, dict):
        return {key: wrap(item) for key, item in value.items()}
    return value


def to_jsonable(value: object, *, _depth: int = 0) -> JsonValue:
    """Convert a value returned by the sandbox to plain JSON types.

    Models are dumped in JSON mode, sandbox class instances become their attribute dicts, sets and
    tuples become lists, bytes become base64 text, and anything else its `repr`. Non-finite floats
    become strings, since JSON has no spelling for them.
    """
    if _depth > MAX_DEPTH:
        return f"<{type(value).__name__} nested deeper than {MAX_DEPTH} levels>"
    match value:
        case None | bool() | int() | str():
            return value
        case float():
            return value if math.isfinite(value) else repr(value)
        case BaseModel():
            return to_jsonable(value.model_dump(mode="json"), _depth=_depth + 1)
        case MontyClassProxy():
            return to_jsonable(value.attributes, _depth=_depth + 1)
        case Mapping():
            return {str(key): to_jsonable(item, _depth=_depth + 1) for key, item in value.items()}
        case list() | tuple():
            return [to_jsonable(item, _depth=_depth + 1) for item in value]
        case set() | frozenset():
            items = [to_jsonable(item, _depth=_depth + 1) for item in value]
            return sorted(items, key=repr)
        case bytes():
            return base64.b64encode(value).decode("ascii")
        case datetime.date() | datetime.time():
            return value.isoformat()
        case datetime.timedelta():
            return value.total_seconds()
        case decimal.Decimal() | PurePath():
            return str(value)
        case _:
            return repr(value)


def plain(value: object, *, _depth: int = 0) -> object:
    """Like `to_jsonable` but keeps models as they are: used to validate a generated tool's output."""
    if _depth > MAX_DEPTH:
        return value
    match value:
        case MontyClassProxy():
            return plain(value.attributes, _depth=_depth + 1)
        case Mapping():
            return {key: plain(item, _depth=_depth + 1) for key, item in value.items()}
        case list() | tuple():
            return [plain(item, _depth=_depth + 1) for item in value]
        case _:
            return value


def size_of(value: object, *, limit: int) -> int:
    """Approximate size of an argument in characters, counting no further than just past `limit`."""
    if isinstance(value, dict):  # fast path: a call's arguments are usually a few scalars
        total = 0
        for item in value.values():
            kind = type(item)
            if kind is str:
                total += len(item)
            elif kind in _SCALARS:
                total += 8
            else:
                break
        else:
            return total
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        match item:
            case str() | bytes():
                total += len(item)
            case Mapping():
                total += 2 * len(item)
                stack.extend(item.keys())
                stack.extend(item.values())
            case list() | tuple() | set() | frozenset():
                total += 1 + len(item)
                stack.extend(item)
            case _:
                total += 8
    return total
