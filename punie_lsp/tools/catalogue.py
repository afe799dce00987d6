"""The tool catalogue: the single definition of every tool Punie offers.

A `ToolSpec` wraps one typed async function (its first parameter is the `ToolContext`, hidden from the
model), its Pydantic result type, a risk level and its docs. Everything else is derived from it: the
argument validation, the JSON tool schema for models without Code Mode, the `punie tool NAME` CLI, the
sandbox stubs and the on-demand docs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from punie_lsp.domain import tools as domain_tools
from punie_lsp.exceptions import UserError
from punie_lsp.tools import files, git, quality, testing
from punie_lsp.tools.context import ToolContext

__all__ = ("Catalogue", "Risk", "ToolArgumentError", "ToolSpec", "default_catalogue")

Risk = Literal["read", "write", "high-risk"]
"""`read` runs freely; `write` and `high-risk` pass the permission gate first."""

ToolFunction = Callable[..., Coroutine[Any, Any, BaseModel]]


class ToolArgumentError(UserError):
    """The arguments given to a tool do not match its signature; the message lists every problem."""


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """One tool, defined once."""

    name: str
    """The name the model and the CLI call it by."""
    function: ToolFunction
    """The implementation: `async def f(ctx: ToolContext, ...) -> Result`."""
    risk: Risk = "read"
    """Permission class (the highest risk a call can have, when `risk_when` refines it per call)."""
    category: str = "general"
    """Group shown in listings (quality, files, git, domain, …)."""
    risk_when: Callable[[Mapping[str, Any]], Risk] | None = None
    """For tools whose risk depends on the arguments (`ruff_format(check=False)` writes)."""

    def risk_of(self, arguments: Mapping[str, Any]) -> Risk:
        """The risk of one call with validated `arguments`."""
        return self.risk_when(arguments) if self.risk_when is not None else self.risk

    @cached_property
    def signature(self) -> inspect.Signature:
        """The function's signature without the context parameter."""
        sig = inspect.signature(self.function)
        params = list(sig.parameters.values())[1:]
        return sig.replace(parameters=params)

    @cached_property
    def hints(self) -> dict[str, Any]:
        """Resolved type hints of the function (parameters and return)."""
        return get_type_hints(self.function)

    @cached_property
    def result_type(self) -> type[BaseModel]:
        """The Pydantic model the tool returns."""
        result = self.hints["return"]
        assert isinstance(result, type), f"{self.name} must return a model"
        assert issubclass(result, BaseModel), f"{self.name} must return a model"
        return result

    @cached_property
    def arguments_model(self) -> type[BaseModel]:
        """A Pydantic model of the parameters, used to validate and to derive the JSON schema."""
        fields: dict[str, Any] = {}
        for param in self.signature.parameters.values():
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (self.hints[param.name], default)
        return create_model(f"{self.name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)

    @property
    def doc(self) -> str:
        """The full docstring."""
        return inspect.cleandoc(self.function.__doc__ or "")

    @property
    def summary(self) -> str:
        """The docstring's first line: what the system prompt lists."""
        return self.doc.splitlines()[0] if self.doc else self.name

    def json_schema(self) -> dict[str, Any]:
        """An OpenAI-style function tool definition for models that cannot do Code Mode."""
        schema = self.arguments_model.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.doc, "parameters": schema},
        }

    def validate_arguments(self, arguments: Mapping[str, object]) -> dict[str, Any]:
        """Check `arguments` against the signature and return them converted.

        Raises:
            ToolArgumentError: unknown, missing or mistyped arguments, all listed with their names.
        """
        try:
            model = self.arguments_model.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"`{'.'.join(str(p) for p in err['loc']) or 'arguments'}`: {err['msg']}"
                for err in exc.errors(include_url=False)
            )
            raise ToolArgumentError(f"bad arguments for `{self.name}`: {problems}") from exc
        return {name: getattr(model, name) for name in self.signature.parameters}

    async def call(self, ctx: ToolContext, arguments: Mapping[str, object]) -> BaseModel:
        """Validate `arguments` and run the tool."""
        return await self.function(ctx, **self.validate_arguments(arguments))


@dataclass
class Catalogue:
    """An ordered set of tools, looked up by name."""

    tools: dict[str, ToolSpec] = field(default_factory=dict)

    def add(self, spec: ToolSpec) -> None:
        """Register `spec`; a name can only be registered once."""
        assert spec.name not in self.tools, f"tool {spec.name!r} registered twice"
        self.tools[spec.name] = spec

    def get(self, name: str) -> ToolSpec:
        """Look a tool up by name.

        Raises:
            UserError: no such tool; the message lists the known names.
        """
        try:
            return self.tools[name]
        except KeyError:
            known = ", ".join(sorted(self.tools))
            raise UserError(f"unknown tool `{name}`; known tools: {known}") from None

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self.tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self.tools

    def __len__(self) -> int:
        return len(self.tools)


def _write_unless(flag: str, default: bool) -> Callable[[Mapping[str, Any]], Risk]:
    """Risk of a tool that writes only when the boolean argument `flag` is False (`check`, `dry_run`)."""
    return lambda args: "read" if args.get(flag, default) else "write"


def default_catalogue() -> Catalogue:
    """Every built-in tool, in the order they are listed to users and models."""
    catalogue = Catalogue()
    # pytest_run executes the project's own tests, as an IDE's test runner does; Punie itself writes nothing.
    specs = [
        ToolSpec(name="typecheck", function=quality.typecheck, category="quality"),
        ToolSpec(name="ruff_check", function=quality.ruff_check, category="quality"),
        ToolSpec(
            name="ruff_format",
            function=quality.ruff_format,
            category="quality",
            risk="write",
            risk_when=_write_unless("check", True),
        ),
        ToolSpec(name="ruff_fix", function=quality.ruff_fix, category="quality", risk="write"),
        ToolSpec(name="pytest_run", function=testing.pytest_run, category="quality"),
        ToolSpec(name="file_read", function=files.file_read, category="files"),
        ToolSpec(name="file_write", function=files.file_write, category="files", risk="write"),
        ToolSpec(name="file_edit", function=files.file_edit, category="files", risk="write"),
        ToolSpec(name="file_list", function=files.file_list, category="files"),
        ToolSpec(name="file_search", function=files.file_search, category="files"),
        ToolSpec(name="git_status", function=git.git_status, category="git"),
        ToolSpec(name="git_diff", function=git.git_diff, category="git"),
        ToolSpec(name="git_log", function=git.git_log, category="git"),
        ToolSpec(name="validate_component", function=domain_tools.validate_component, category="domain"),
        ToolSpec(
            name="validate_service_registration",
            function=domain_tools.validate_service_registration,
            category="domain",
        ),
        ToolSpec(
            name="validate_middleware_chain",
            function=domain_tools.validate_middleware_chain,
            category="domain",
        ),
        ToolSpec(
            name="check_state_transitions", function=domain_tools.check_state_transitions, category="domain"
        ),
        ToolSpec(name="validate_project", function=domain_tools.validate_project, category="domain"),
        ToolSpec(
            name="domain_fix",
            function=domain_tools.domain_fix,
            category="domain",
            risk="write",
            risk_when=_write_unless("dry_run", False),
        ),
    ]
    for spec in specs:
        catalogue.add(spec)
    return catalogue
