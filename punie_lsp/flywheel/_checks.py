"""Checks shared by the seed builder and the evaluation: grounding of answers, field reads, tool names.

`ungrounded_claims` is the builder's test that a final answer is *true to the tool output*: every
number, file path, rule code and test id it states must appear in what the blocks returned. It is
deliberately literal: an answer that says "3 violations" when the output holds no 3 is dropped.
"""

from __future__ import annotations

import ast
import re
import types
import typing
from collections.abc import Iterable
from functools import cache

from pydantic import BaseModel

from punie_lsp.agent.disclosure import agent_catalogue
from punie_lsp.tools.catalogue import Catalogue

__all__ = (
    "claims",
    "reads_result_fields",
    "result_field_names",
    "ungrounded_claims",
)

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\w)")
_PATH = re.compile(r"[\w.\-]+(?:/[\w.\-]+)*\.(?:py|md|toml|txt|json)\b")
_RULE = re.compile(r"\b[A-Z]{1,5}\d{3,4}\b")
_NODE_ID = re.compile(r"[\w/.\-]+\.py::[\w\[\]\-.]+")
_OUTPUT_NUMBER = re.compile(r"\d+")


def claims(answer: str) -> list[str]:
    """The checkable facts an answer states: numbers, file paths, rule codes and pytest node ids."""
    found: list[str] = []
    for pattern in (_NODE_ID, _PATH, _RULE, _NUMBER):
        for match in pattern.finditer(answer):
            if match.group(0) not in found:
                found.append(match.group(0))
    return found


def ungrounded_claims(answer: str, outputs: Iterable[str]) -> list[str]:
    """The claims of `answer` that none of the tool `outputs` contains (empty when it is grounded).

    Numbers are compared as whole numbers (the output must hold the same digits as a number of its own),
    everything else as text.
    """
    text = "\n".join(outputs)
    numbers = set(_OUTPUT_NUMBER.findall(text))
    missing = []
    for claim in claims(answer):
        if _NUMBER.fullmatch(claim):
            if not all(piece in numbers for piece in claim.split(".")):
                missing.append(claim)
        elif claim not in text:
            missing.append(claim)
    return missing


def _models_in(annotation: object) -> Iterable[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            yield from _models_in(argument)


@cache
def _agent_fields() -> frozenset[str]:
    return _fields_of(agent_catalogue())


def _fields_of(catalogue: Catalogue) -> frozenset[str]:
    names: set[str] = set()
    pending: list[type[BaseModel]] = [spec.result_type for spec in catalogue]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            names.add(name)
            pending.extend(_models_in(field.annotation))
    return frozenset(names)


def result_field_names(catalogue: Catalogue | None = None) -> frozenset[str]:
    """Every field of every tool result type (nested result models included)."""
    if catalogue is None:
        return _agent_fields()
    return _fields_of(catalogue)


def reads_result_fields(code: str, catalogue: Catalogue | None = None) -> bool:
    """Whether a block reads at least one tool-result field by attribute (`r.error_count`, `e.file`)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    fields = result_field_names(catalogue)
    return any(isinstance(node, ast.Attribute) and node.attr in fields for node in ast.walk(tree))
