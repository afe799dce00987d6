"""Middleware chain rules MW001–MW012: violations at the right lines, clean code quiet, fixes exact."""

from __future__ import annotations

import textwrap
from pathlib import Path

import punie_lsp.domain
from punie_lsp.domain.validate import apply_fixes, validate_sync
from punie_lsp.tools.context import ToolContext

assert punie_lsp.domain.RULES  # importing the package registers every rule family

HEADER = """\
from dataclasses import dataclass, field
from typing import Any

from svcs_di import Inject
from tdom_svcs import (
    execute_middleware,
    execute_middleware_async,
    execute_target_middleware,
    hookable,
    middleware,
    register_middleware,
    scan,
)
"""
"""Imports shared by the single-module cases (13 lines and a blank one, so bodies start at line 15)."""

RUNS = """
def run(registry, container, props):
    scan(registry, locals_dict=globals())
    return execute_middleware(object, props, container)
"""
"""A tail that scans the module and runs the global chain, so MW009/MW011 stay quiet."""


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


def _module(tmp_path: Path, body: str, *, tail: str = RUNS) -> Path:
    """One module `app.py`: the shared header, then `body` (dedented) from line 15, then `tail`."""
    return _project(tmp_path, {"app.py": HEADER + "\n" + textwrap.dedent(body).lstrip("\n") + tail})


def _found(root: Path, rule: str | None = None) -> list[tuple[str, str, int]]:
    result = validate_sync(ToolContext.for_root(root), families=["MW"])
    assert result.tool_error is None
    found = [(i.rule, i.file, i.line) for i in result.issues]
    return [f for f in found if rule is None or f[0] == rule]


def _fix(root: Path, rule: str, relative: str = "app.py") -> str:
    apply_fixes(ToolContext.for_root(root), [relative], rule_ids=[rule])
    return (root / relative).read_text()


# --- MW001 ----------------------------------------------------------------------------------------


def test_mw001_reports_wrong_call_signatures(tmp_path: Path) -> None:
    """Too few parameters, required extras, required keyword-only ones and no `__call__` are reported."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class OnlyProps:
            priority: int = 0

            def __call__(self, props):
                return props


        @middleware
        @dataclass
        class TooMany:
            priority: int = 0

            def __call__(self, target, props, context, request):
                return props


        @middleware
        @dataclass
        class KeywordOnly:
            priority: int = 0

            def __call__(self, target, props, context, *, user):
                return props


        @middleware
        @dataclass
        class NotCallable:
            priority: int = 0
        """,
    )
    assert _found(root, "MW001") == [
        ("MW001", "app.py", 20),
        ("MW001", "app.py", 29),
        ("MW001", "app.py", 38),
        ("MW001", "app.py", 44),
    ]


def test_mw001_accepts_the_protocol_signature_and_inherited_calls(tmp_path: Path) -> None:
    """`(target, props, context)`, extra defaulted parameters, `*args` and inherited `__call__` are fine."""
    root = _module(
        tmp_path,
        """
        class Base:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class Plain:
            priority: int = 0

            def __call__(self, target, props, context, extra=None):
                return props


        @middleware
        @dataclass
        class Varargs:
            priority: int = 0

            def __call__(self, *args):
                return args[1]


        @middleware
        class Inherits(Base):
            pass
        """,
    )
    assert _found(root) == []


# --- MW002 ----------------------------------------------------------------------------------------


def test_mw002_reports_missing_defaultless_and_bad_priorities(tmp_path: Path) -> None:
    """A missing priority, one without default, one out of range, a string value and a `str` annotation."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Missing:
            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class NoDefault:
            priority: int

            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class TooLow:
            priority: int = -250

            def __call__(self, target, props, context):
                return props


        @middleware
        class Wordy:
            priority = "high"

            def __call__(self, target, props, context):
                return props


        @middleware
        class Typed:
            priority: str = 5

            def __call__(self, target, props, context):
                return props
        """,
    )
    assert _found(root, "MW002") == [
        ("MW002", "app.py", 17),
        ("MW002", "app.py", 25),
        ("MW002", "app.py", 34),
        ("MW002", "app.py", 42),
        ("MW002", "app.py", 50),
    ]


def test_mw002_accepts_int_priorities_inherited_and_computed(tmp_path: Path) -> None:
    """In-range ints, inherited priorities, properties, named constants and unknown bases stay quiet."""
    root = _module(
        tmp_path,
        """
        from library import ExternalBase

        LOW = -50


        class Base:
            priority: int = 100

            def __call__(self, target, props, context):
                return props


        @middleware
        class FromBase(Base):
            pass


        @middleware
        class FromLibrary(ExternalBase):
            def __call__(self, target, props, context):
                return props


        @middleware
        class Computed:
            @property
            def priority(self) -> int:
                return 3

            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class Named:
            priority: int = LOW

            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class FieldDefault:
            priority: int = field(default=-100)

            def __call__(self, target, props, context):
                return props
        """,
    )
    assert _found(root) == []


def test_mw002_fix_adds_a_priority_after_the_fields(tmp_path: Path) -> None:
    """The fix inserts `priority: int = 0` after the last field and keeps a blank line before methods."""
    root = _module(
        tmp_path,
        '''
        @middleware
        @dataclass
        class Stamp:
            """Stamps props."""

            label: str = "x"
            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class Bare:
            def __call__(self, target, props, context):
                return props
        ''',
    )
    fixed = _fix(root, "MW002")
    assert (
        fixed
        == HEADER
        + "\n"
        + textwrap.dedent(
            '''
        @middleware
        @dataclass
        class Stamp:
            """Stamps props."""

            label: str = "x"
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class Bare:
            priority: int = 0

            def __call__(self, target, props, context):
                return props
        '''
        ).lstrip("\n")
        + RUNS
    )
    assert _found(root) == []


def test_mw002_fix_adds_a_default_or_moves_the_field(tmp_path: Path) -> None:
    """A defaultless priority gets `= 0` in place, or moves below required fields (dataclass order)."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class InPlace:
            priority: int
            label: str = "x"

            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class Moved:
            priority: int
            logger: Inject[list]

            def __call__(self, target, props, context):
                return props
        """,
    )
    fixed = _fix(root, "MW002")
    assert (
        fixed
        == HEADER
        + "\n"
        + textwrap.dedent(
            """
        @middleware
        @dataclass
        class InPlace:
            priority: int = 0
            label: str = "x"

            def __call__(self, target, props, context):
                return props


        @middleware
        @dataclass
        class Moved:
            logger: Inject[list]
            priority: int = 0

            def __call__(self, target, props, context):
                return props
        """
        ).lstrip("\n")
        + RUNS
    )
    assert _found(root) == []


# --- MW003 ----------------------------------------------------------------------------------------


def test_mw003_reports_fall_through_bare_and_non_dict_returns(tmp_path: Path) -> None:
    """Falling off the end, a bare `return` and `return "ok"` are each reported where they happen."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Stamp:
            priority: int = 0

            def __call__(self, target, props, context):
                props["stamped"] = True


        @middleware
        @dataclass
        class Skipper:
            priority: int = 1

            def __call__(self, target, props, context):
                if props.get("skip"):
                    return
                return props


        @middleware
        @dataclass
        class Wordy:
            priority: int = 2

            def __call__(self, target, props, context):
                return "ok"
        """,
    )
    assert _found(root, "MW003") == [
        ("MW003", "app.py", 20),
        ("MW003", "app.py", 31),
        ("MW003", "app.py", 41),
    ]


def test_mw003_accepts_bodies_that_return_on_every_path(tmp_path: Path) -> None:
    """if/else, try/except, match with a wildcard, `while True`, `raise` and nested helpers all count."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Branches:
            priority: int = 0

            def __call__(self, target, props, context):
                def helper():
                    return
                if props.get("halt"):
                    return None
                elif props.get("new"):
                    return {**props, "new": True}
                else:
                    try:
                        value = props["x"]
                    except KeyError:
                        raise ValueError("x") from None
                    else:
                        return props
                    finally:
                        helper()


        @middleware
        @dataclass
        class Matching:
            priority: int = 0

            async def __call__(self, target, props, context):
                match props:
                    case {"a": 1}:
                        return props
                    case _:
                        while True:
                            return dict(props)
        """,
        tail="""
async def run(registry, container, props):
    scan(registry, locals_dict=globals())
    return await execute_middleware_async(object, props, container)
""",
    )
    assert _found(root) == []


def test_mw003_follows_loops_and_skips_abstract_methods(tmp_path: Path) -> None:
    """A `while True` left by `break` falls off; an abstract `__call__` is a declaration, not a body."""
    root = _module(
        tmp_path,
        """
        from abc import abstractmethod


        @middleware
        @dataclass
        class Loop:
            priority: int = 0

            def __call__(self, target, props, context):
                while True:
                    if props:
                        break
                    return props


        @middleware
        @dataclass
        class Declared:
            priority: int = 0

            @abstractmethod
            def __call__(self, target, props, context):
                ...
        """,
    )
    assert _found(root, "MW003") == [("MW003", "app.py", 23)]


def test_mw003_fix_appends_return_props(tmp_path: Path) -> None:
    """The fix appends `return <props parameter>` where the body falls off, and leaves bare returns alone."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Stamp:
            priority: int = 0

            def __call__(self, target, p, context):
                if p.get("seen"):
                    return p
                p["stamped"] = True  # keep me


        @middleware
        @dataclass
        class OneLiner:
            priority: int = 0

            def __call__(self, target, props, context): props.update(x=1)
        """,
    )
    fixed = _fix(root, "MW003")
    assert (
        fixed
        == HEADER
        + "\n"
        + textwrap.dedent(
            """
        @middleware
        @dataclass
        class Stamp:
            priority: int = 0

            def __call__(self, target, p, context):
                if p.get("seen"):
                    return p
                p["stamped"] = True  # keep me
                return p


        @middleware
        @dataclass
        class OneLiner:
            priority: int = 0

            def __call__(self, target, props, context): props.update(x=1); return props
        """
        ).lstrip("\n")
        + RUNS
    )
    assert _found(root) == []


# --- MW004 ----------------------------------------------------------------------------------------


def test_mw004_reports_sync_runners_meeting_async_middleware(tmp_path: Path) -> None:
    """A sync `execute_middleware` call elsewhere and an async class in a hookable map are both reported."""
    root = _project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/middleware.py": """
                from dataclasses import dataclass

                from tdom_svcs import middleware


                @middleware
                @dataclass
                class Audit:
                    priority: int = 0

                    async def __call__(self, target, props, context):
                        return props
            """,
            "app/views.py": """
                from dataclasses import dataclass

                from tdom_svcs import execute_middleware, execute_target_middleware, hookable, scan

                from app.middleware import Audit


                @hookable(middleware={"before": [Audit]})
                @dataclass
                class Page:
                    title: str = ""


                def view(registry, container):
                    scan(registry, "app.middleware")
                    props = execute_target_middleware(Page, {}, container)
                    return props and execute_middleware(Page, props, container)
            """,
        },
    )
    assert _found(root, "MW004") == [("MW004", "app/views.py", 8), ("MW004", "app/views.py", 17)]


def test_mw004_accepts_async_middleware_run_by_the_async_runner(tmp_path: Path) -> None:
    """Async global middleware awaited through `execute_middleware_async` is fine."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Audit:
            priority: int = 0

            async def __call__(self, target, props, context):
                return props
        """,
        tail="""
async def run(registry, container, props):
    scan(registry, locals_dict=globals())
    return await execute_middleware_async(object, props, container)
""",
    )
    assert _found(root) == []


# --- MW005 ----------------------------------------------------------------------------------------

MAPS = """
@dataclass
class Aria:
    priority: int = 0

    def __call__(self, target, props, context):
        return props


@hookable(middleware={"before": [Aria()], "rendering": Aria})
class Image:
    pass


@hookable(middleware={"before": ["Aria"]})
class Link:
    pass


@hookable(middleware=[Aria])
class Button:
    pass
"""

TARGETS = """
def run(container, props):
    for target in (Image, Link, Button):
        execute_target_middleware(target, props, container)
        execute_target_middleware(target, props, container, phase="rendering")
"""


def test_mw005_reports_instances_strings_lone_classes_and_lists(tmp_path: Path) -> None:
    """An instance, a lone class, a string and a list instead of a dict are each reported."""
    root = _module(tmp_path, MAPS, tail=TARGETS)
    assert _found(root, "MW005") == [
        ("MW005", "app.py", 23),
        ("MW005", "app.py", 23),
        ("MW005", "app.py", 28),
        ("MW005", "app.py", 33),
    ]


def test_mw005_accepts_maps_of_class_lists(tmp_path: Path) -> None:
    """`{"phase": [Cls, ...]}` with classes, tuples of classes and library classes is fine."""
    root = _module(
        tmp_path,
        """
        from library import Logging


        @dataclass
        class Aria:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @hookable(middleware={"before": [Aria, Logging], "rendering": (Aria,)})
        class Image:
            pass
        """,
        tail=TARGETS.replace("Image, Link, Button", "Image,"),
    )
    assert _found(root) == []


def test_mw005_fix_rewrites_items_into_class_lists(tmp_path: Path) -> None:
    """The fix drops the call, unquotes the bound name, wraps the lone class and the lone list."""
    root = _module(tmp_path, MAPS, tail=TARGETS)
    fixed = _fix(root, "MW005")
    expected = (
        MAPS.replace('{"before": [Aria()], "rendering": Aria}', '{"before": [Aria], "rendering": [Aria]}')
        .replace('["Aria"]', "[Aria]")
        .replace("middleware=[Aria]", 'middleware={"before": [Aria]}')
    )
    assert fixed == HEADER + "\n" + expected.lstrip("\n") + TARGETS
    assert _found(root) == []


# --- MW006 ----------------------------------------------------------------------------------------


def test_mw006_reports_phases_no_call_executes(tmp_path: Path) -> None:
    """A phase key that no `execute_target_middleware` call in the project runs is reported."""
    root = _project(
        tmp_path,
        {
            "views.py": """
                from tdom_svcs import hookable

                from checks import Aria


                @hookable(middleware={"before": [Aria], "pre_resolution": [Aria]})
                class Page:
                    pass
            """,
            "checks.py": """
                class Aria:
                    priority: int = 0

                    def __call__(self, target, props, context):
                        return props
            """,
            "main.py": """
                from tdom_svcs import execute_target_middleware

                from views import Page


                def run(container):
                    return execute_target_middleware(Page, {}, container)
            """,
        },
    )
    assert _found(root) == [("MW006", "views.py", 6)]


def test_mw006_resolves_phase_constants_across_modules(tmp_path: Path) -> None:
    """A phase named by a constant imported from another module matches the same constant in a call."""
    root = _project(
        tmp_path,
        {
            "phases.py": 'BEFORE_RESOLUTION = "pre_resolution"\nLATE = "late"\n',
            "views.py": """
                from tdom_svcs import hookable

                from checks import Aria
                from phases import BEFORE_RESOLUTION, LATE


                @hookable(middleware={BEFORE_RESOLUTION: [Aria], LATE: [Aria]})
                class Page:
                    pass
            """,
            "checks.py": """
                class Aria:
                    priority: int = 0

                    def __call__(self, target, props, context):
                        return props
            """,
            "main.py": """
                import phases
                from tdom_svcs import execute_target_middleware

                from views import Page


                def run(container):
                    return execute_target_middleware(Page, {}, container, phase=phases.BEFORE_RESOLUTION)
            """,
        },
    )
    assert _found(root) == [("MW006", "views.py", 7)]


def test_mw006_accepts_executed_and_dynamic_phases(tmp_path: Path) -> None:
    """Literal or constant phases that run are fine; a computed phase or a library without set-up is quiet."""
    root = _module(
        tmp_path,
        """
        RENDERING = "rendering"


        @dataclass
        class Aria:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @hookable(middleware={"before": [Aria], RENDERING: [Aria]})
        class Page:
            pass
        """,
        tail="""
def run(container):
    execute_target_middleware(Page, {}, container)
    return execute_target_middleware(Page, {}, container, RENDERING)
""",
    )
    assert _found(root) == []
    dynamic = _module(
        tmp_path / "dynamic",
        """
        @dataclass
        class Aria:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @hookable(middleware={"anything": [Aria]})
        class Page:
            pass
        """,
        tail="""
def run(container, phase):
    return execute_target_middleware(Page, {}, container, phase=phase)
""",
    )
    assert _found(dynamic) == []
    library = _project(
        tmp_path / "library",
        {
            "widgets.py": """
                from tdom_svcs import hookable

                from checks import Aria


                @hookable(middleware={"rendering": [Aria]})
                class Widget:
                    pass
            """,
            "checks.py": "class Aria:\n    priority = 0\n\n    def __call__(self, target, props, context):\n"
            "        return props\n",
        },
    )
    assert _found(library) == []


# --- MW007 ----------------------------------------------------------------------------------------


def test_mw007_reports_global_middleware_in_a_hookable_map(tmp_path: Path) -> None:
    """A `@middleware` class and a `register_middleware`-ed class listed in a hookable map are reported."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Logging:
            priority: int = -10

            def __call__(self, target, props, context):
                return props


        @dataclass
        class Timing:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @hookable(middleware={"before": [Logging, Timing]})
        class Page:
            pass


        def setup(registry):
            register_middleware(registry, Timing)
        """,
        tail=RUNS + "\n\ndef hooks(container):\n    return execute_target_middleware(Page, {}, container)\n",
    )
    assert _found(root, "MW007") == [("MW007", "app.py", 32), ("MW007", "app.py", 32)]


def test_mw007_accepts_injectable_per_target_middleware(tmp_path: Path) -> None:
    """A plain class listed only in a hookable map is per-target middleware, not a duplicate."""
    root = _module(
        tmp_path,
        """
        @dataclass
        class Aria:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @hookable(middleware={"before": [Aria]})
        class Page:
            pass
        """,
        tail="\ndef hooks(container):\n    return execute_target_middleware(Page, {}, container)\n",
    )
    assert _found(root) == []


# --- MW008 ----------------------------------------------------------------------------------------


def test_mw008_reports_required_fields_that_are_not_injected(tmp_path: Path) -> None:
    """A required dataclass field and a required `__init__` parameter are reported."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class RateLimit:
            threshold: int
            logger: Inject[list]
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @middleware
        class Greeter:
            priority = 0

            def __init__(self, greeting: str, count: int = 1):
                self.greeting = greeting

            def __call__(self, target, props, context):
                return props
        """,
    )
    assert _found(root, "MW008") == [("MW008", "app.py", 18), ("MW008", "app.py", 30)]


def test_mw008_accepts_injected_and_defaulted_fields(tmp_path: Path) -> None:
    """`Inject[...]` fields, defaults, default factories, `init=False` and ClassVars are fine."""
    root = _module(
        tmp_path,
        """
        from typing import ClassVar


        @middleware
        @dataclass
        class RateLimit:
            logger: Inject[list]
            seen: list = field(default_factory=list)
            cache: dict = field(init=False)
            kind: ClassVar[str]
            threshold: int = 100
            priority: int = 0

            def __call__(self, target, props, context):
                return props
        """,
    )
    assert _found(root) == []


# --- MW009 ----------------------------------------------------------------------------------------

MIDDLEWARE_MODULE = """
    from dataclasses import dataclass

    from tdom_svcs import Middleware, middleware


    @middleware
    @dataclass
    class Logging:
        priority: int = -10

        def __call__(self, target, props, context):
            return props


    class Audit(Middleware):
        priority: int = 0

        def __call__(self, target, props, context):
            return props
"""


def test_mw009_reports_middleware_no_scan_or_registration_reaches(tmp_path: Path) -> None:
    """A decorated class in an unscanned module and an unregistered `Middleware` subclass are reported."""
    root = _project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/middleware.py": MIDDLEWARE_MODULE,
            "app/main.py": """
                from tdom_svcs import execute_middleware, scan


                def run(registry, container):
                    scan(registry, "app.components")
                    return execute_middleware(object, {}, container)
            """,
        },
    )
    assert _found(root) == [("MW009", "app/middleware.py", 8), ("MW009", "app/middleware.py", 15)]


def test_mw009_accepts_classes_scanned_through_locals(tmp_path: Path) -> None:
    """`scan(registry, locals_dict=locals())` reaches middleware defined in the same function."""
    root = _module(
        tmp_path,
        """
        def test_chain(registry, container):
            @middleware
            @dataclass
            class Local:
                priority: int = 0

                def __call__(self, target, props, context):
                    return props

            scan(registry, locals_dict=locals())
            assert execute_middleware(object, {}, container) == {}
        """,
        tail="",
    )
    assert _found(root) == []


def test_mw009_accepts_scanned_imported_and_registered_middleware(tmp_path: Path) -> None:
    """Scanning the package, or registering the class, covers it; a library without any setup stays quiet."""
    files = {"app/__init__.py": "", "app/middleware.py": MIDDLEWARE_MODULE}
    scanned = _project(
        tmp_path / "scanned",
        {
            **files,
            "app/main.py": """
                from tdom_svcs import execute_middleware, register_middleware, scan

                from app.middleware import Audit


                def run(registry, container):
                    scan(registry, "app")
                    register_middleware(registry, Audit)
                    return execute_middleware(object, {}, container)
            """,
        },
    )
    assert _found(scanned) == []
    by_module = _project(
        tmp_path / "by_module",
        {
            **files,
            "app/main.py": """
                import tdom_svcs

                from . import middleware


                def run(registry, container):
                    tdom_svcs.scan(registry, middleware)
                    tdom_svcs.register_middleware(registry, middleware.Audit)
                    return tdom_svcs.execute_middleware(object, {}, container)
            """,
        },
    )
    assert _found(by_module) == []
    library = _project(tmp_path / "library", {**files})
    assert _found(library, "MW009") == []


# --- MW010 ----------------------------------------------------------------------------------------


def test_mw010_reports_results_used_without_a_none_check(tmp_path: Path) -> None:
    """Subscripting, unpacking, calling a method on and iterating over a runner's result are reported."""
    root = _module(
        tmp_path,
        """
        import tdom_svcs as ts


        async def view(container, props):
            title = execute_middleware(object, props, container)["title"]
            merged = {**execute_target_middleware(object, props, container, "before")}
            keys = (await execute_middleware_async(object, props, container)).keys()
            for key in ts.execute_middleware(object, props, container):
                print(key)
            return title, merged, keys
        """,
        tail="",
    )
    assert _found(root, "MW010") == [
        ("MW010", "app.py", 19),
        ("MW010", "app.py", 20),
        ("MW010", "app.py", 21),
        ("MW010", "app.py", 22),
    ]


def test_mw010_accepts_results_checked_for_none(tmp_path: Path) -> None:
    """Binding the result and checking it for `None` first is the expected pattern."""
    root = _module(
        tmp_path,
        """
        def view(container, props):
            if (result := execute_middleware(object, props, container)) is None:
                return None
            other = execute_target_middleware(object, props, container) or {}
            return result["title"], other.get("x")
        """,
        tail="",
    )
    assert _found(root) == []


# --- MW011 ----------------------------------------------------------------------------------------


def test_mw011_reports_global_middleware_never_executed(tmp_path: Path) -> None:
    """Global middleware in a project that never calls `execute_middleware*` gets an info finding."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Logging:
            priority: int = 0

            def __call__(self, target, props, context):
                return props
        """,
        tail="\n\ndef setup(registry):\n    scan(registry, locals_dict=globals())\n",
    )
    result = validate_sync(ToolContext.for_root(root), families=["MW"])
    assert [(i.rule, i.line, i.severity) for i in result.issues] == [("MW011", 17, "info")]


def test_mw011_accepts_global_middleware_that_runs(tmp_path: Path) -> None:
    """One `execute_middleware_async` call anywhere in the project is enough."""
    root = _module(
        tmp_path,
        """
        @middleware
        @dataclass
        class Logging:
            priority: int = 0

            def __call__(self, target, props, context):
                return props
        """,
        tail="""
async def run(registry, container):
    scan(registry, locals_dict=globals())
    return await execute_middleware_async(object, {}, container)
""",
    )
    assert _found(root) == []


# --- MW012 ----------------------------------------------------------------------------------------


def test_mw012_reports_categories_that_are_not_string_lists(tmp_path: Path) -> None:
    """A bare string, a non-string item and a set are reported wherever `categories=` appears."""
    root = _module(
        tmp_path,
        """
        @middleware(categories="security")
        @dataclass
        class Auth:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @hookable(categories=["page", 3])
        class Page:
            pass


        def setup(registry):
            register_middleware(registry, Auth, categories={"audit"})
        """,
    )
    assert _found(root, "MW012") == [
        ("MW012", "app.py", 15),
        ("MW012", "app.py", 24),
        ("MW012", "app.py", 30),
    ]


def test_mw012_accepts_lists_and_tuples_of_strings(tmp_path: Path) -> None:
    """Lists and tuples of string literals or constants, and `None`, are fine."""
    root = _module(
        tmp_path,
        """
        SECURITY = "security"


        @middleware(categories=[SECURITY, "auth"])
        @dataclass
        class Auth:
            priority: int = 0

            def __call__(self, target, props, context):
                return props


        @hookable(categories=("page", "admin"))
        class Page:
            pass


        def setup(registry):
            register_middleware(registry, Auth, categories=None)
        """,
    )
    assert _found(root) == []


# --- aliases and shadowing ----------------------------------------------------------------------


def test_names_are_resolved_not_spelled(tmp_path: Path) -> None:
    """An aliased decorator is recognised, while a local `middleware` function or another package's is not."""
    root = _project(
        tmp_path,
        {
            "aliased.py": """
                from tdom_svcs import middleware as global_mw


                @global_mw
                class Aliased:
                    def __call__(self, target, props, context):
                        return props
            """,
            "other.py": """
                from starlette.middleware import middleware


                def hookable(**kwargs):
                    return lambda cls: cls


                @middleware
                class NotOurs:
                    def __call__(self, props):
                        pass


                @hookable(middleware=[NotOurs()])
                class Page:
                    pass
            """,
        },
    )
    assert _found(root) == [("MW002", "aliased.py", 5), ("MW011", "aliased.py", 5)]
