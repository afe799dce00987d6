"""Plain-text rendering of typed results for terminals (JSON output is the model's `model_dump`)."""

from __future__ import annotations

import json

from pydantic import BaseModel

from punie_lsp.tools.results import CodeItem, TestCase

__all__ = ("render_result",)


def _line(item: BaseModel) -> str:
    if isinstance(item, CodeItem):
        fix = " [fixable]" if item.fixable else ""
        return f"{item.file}:{item.line}:{item.column}: {item.code} {item.message}{fix}"
    if isinstance(item, TestCase):
        tail = f" — {item.message.splitlines()[0]}" if item.message else ""
        return f"{item.outcome.upper():8} {item.node_id} ({item.duration:.3f}s){tail}"
    data = item.model_dump(exclude_none=True)
    if {"file", "line"} <= data.keys():
        rest = {
            k: v for k, v in data.items() if k not in ("file", "line", "column", "end_line", "end_column")
        }
        return f"{data['file']}:{data['line']}:{data.get('column', 1)}: " + " ".join(
            f"{v}" for v in rest.values()
        )
    return json.dumps(data, ensure_ascii=False)


def render_result(result: BaseModel) -> str:
    """Summarise a result: scalar fields as `key: value`, lists one item per line, long text last."""
    scalars: list[str] = []
    blocks: list[str] = []
    for name in type(result).model_fields:
        value = getattr(result, name)
        if isinstance(value, list):
            if value:
                lines = [_line(v) if isinstance(v, BaseModel) else str(v) for v in value]
                blocks.append(f"{name}:\n" + "\n".join(f"  {line}" for line in lines))
        elif isinstance(value, str) and "\n" in value:
            blocks.append(f"{name}:\n{value.rstrip()}")
        elif value is not None and value != "":
            scalars.append(f"{name}: {value}")
    return "\n".join([*scalars, *blocks])
