"""The middleware noun: `MiddlewareSpec` extraction per module and the project-wide middleware index."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst

import punie_lsp.domain
from punie_lsp.domain.context import ModuleContext
from punie_lsp.domain.middleware import MiddlewareSpec, extract_middleware, middleware_index, module_name
from punie_lsp.domain.validate import build_index
from punie_lsp.tools.context import ToolContext

assert punie_lsp.domain.RULES  # importing the package registers every rule family

MIDDLEWARE = """
from dataclasses import dataclass
from typing import Any

from svcs_di import Inject
from tdom_svcs import Props, PropsResult, Target, middleware

from shop.services import Logger


@middleware(categories=["security", "auth"])
@dataclass
class Authentication:
    logger: Inject[Logger]
    priority: int = -20

    def __call__(self, target: Target, props: Props, context: Any) -> PropsResult:
        return props


@middleware
@dataclass
class Audit:
    priority: int = 10

    async def __call__(self, target, props, context):
        return props


class NotMiddleware:
    priority: int = 0
"""


def _module(relative: str, text: str) -> ModuleContext:
    source = textwrap.dedent(text).lstrip("\n")
    return ModuleContext(
        path=Path("/p") / relative, relative=relative, source=source, module=cst.parse_module(source)
    )


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


def test_module_name_strips_src_and_init() -> None:
    """Relative paths map to dotted module names the way imports spell them."""
    assert module_name("src/shop/middleware.py") == ("shop.middleware", False)
    assert module_name("shop/__init__.py") == ("shop", True)
    assert module_name("main.py") == ("main", False)


def test_extract_middleware_reads_one_module() -> None:
    """Decorated classes become specs with priority, categories, async-ness and injected fields."""
    specs = extract_middleware(_module("shop/middleware.py", MIDDLEWARE))
    assert specs == [
        MiddlewareSpec(
            name="Authentication",
            qualified_name="shop.middleware.Authentication",
            priority=-20,
            priority_text="-20",
            is_global=True,
            categories=["security", "auth"],
            is_async=False,
            injected=["logger"],
            file="shop/middleware.py",
            line=12,
            column=7,
        ),
        MiddlewareSpec(
            name="Audit",
            qualified_name="shop.middleware.Audit",
            priority=10,
            priority_text="10",
            is_global=True,
            is_async=True,
            file="shop/middleware.py",
            line=22,
            column=7,
        ),
    ]


def test_extract_middleware_ignores_unrelated_modules() -> None:
    """A module that never imports the domain's packages declares no middleware, whatever its names."""
    text = """
        def middleware(cls):
            return cls


        @middleware
        class Logging:
            priority = 0

            def __call__(self, target, props, context):
                return props
    """
    assert extract_middleware(_module("other.py", text)) == []


def test_middleware_index_joins_modules(tmp_path: Path) -> None:
    """The index follows classes across files: hookable phases, registrations, scans and executed phases."""
    root = _project(
        tmp_path,
        {
            "src/shop/__init__.py": "",
            "src/shop/middleware.py": MIDDLEWARE,
            "src/shop/services.py": "class Logger: ...\n",
            "src/shop/checks.py": """
                from dataclasses import dataclass


                @dataclass
                class Aria:
                    text: str = ""
                    priority: int = 5

                    def __call__(self, target, props, context):
                        return props
            """,
            "src/shop/components.py": """
                from tdom_svcs import hookable, register_middleware

                from .checks import Aria


                @hookable(middleware={"rendering": [Aria], "before": [Aria]})
                class Image:
                    pass


                class Manual:
                    priority = 1

                    def __call__(self, target, props, context):
                        return props


                def setup(registry):
                    register_middleware(registry, Manual, categories=["manual"])
            """,
            "src/shop/app.py": """
                from tdom_svcs import execute_target_middleware, scan


                def run(registry, container):
                    scan(registry, "shop.middleware")
                    return execute_target_middleware(object, {}, container, phase="rendering")
            """,
        },
    )
    index, problems = build_index(ToolContext.for_root(root))
    assert problems == []
    facts = middleware_index(index)
    assert middleware_index(index) is facts  # memoised on the project index
    by_name = {spec.name: spec for spec in facts.specs}
    assert sorted(by_name) == ["Aria", "Audit", "Authentication", "Manual"]
    aria = by_name["Aria"]
    assert (aria.qualified_name, aria.phases, aria.targets, aria.is_global) == (
        "shop.checks.Aria",
        ["before", "rendering"],
        ["Image"],
        False,
    )
    manual = by_name["Manual"]
    assert (manual.is_global, manual.categories, manual.priority_text) == (True, ["manual"], "1")
    assert facts.executed_phases == {"rendering"}
    assert not facts.phases_dynamic and not facts.executes_global and facts.has_setup
    assert "shop.middleware.Authentication" in facts.scanned_keys
    assert "shop.checks.Aria" not in facts.scanned_keys
    assert facts.registered_keys == {"shop.components.Manual"}


def test_middleware_index_resolves_imports_from_a_workspace_that_is_the_package(tmp_path: Path) -> None:
    """When the workspace is the package itself, `shop.checks` names the workspace's `checks.py`."""
    root = _project(
        tmp_path / "shop",
        {
            "__init__.py": "",
            "checks.py": """
                class Aria:
                    priority = 0

                    def __call__(self, target, props, context):
                        return props
            """,
            "views.py": """
                from tdom_svcs import hookable, scan

                from shop.checks import Aria


                @hookable(middleware={"before": [Aria]})
                class Page:
                    pass


                def setup(registry):
                    scan(registry, "shop")
            """,
        },
    )
    index, _ = build_index(ToolContext.for_root(root))
    facts = middleware_index(index)
    assert [(s.qualified_name, s.targets) for s in facts.specs] == [("checks.Aria", ["Page"])]
    assert facts.roots == ("shop",)
    assert {"checks.Aria", "views.Page"} <= facts.scanned_keys
