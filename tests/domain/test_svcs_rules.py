"""SVC001–SVC015: each rule fires on violations, stays quiet on correct code, and A rules fix to goldens."""

from __future__ import annotations

import textwrap
from pathlib import Path

import punie_lsp.domain
from punie_lsp.domain import RULES
from punie_lsp.domain.validate import apply_fixes, validate_sync
from punie_lsp.tools.context import ToolContext

assert punie_lsp.domain  # importing the package registers every rule family


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def findings(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    """Write `files` under `root` and return the SVC findings as (rule, file, line)."""
    _write(root, files)
    result = validate_sync(ToolContext.for_root(root), families=["SVC"])
    assert result.tool_error is None
    return {(i.rule, i.file, i.line) for i in result.issues}


def fixed(root: Path, files: dict[str, str], target: str, rule: str) -> str:
    """Write `files`, apply `rule`'s fix to `target`, check nothing of `rule` remains, return the new text."""
    _write(root, files)
    ctx = ToolContext.for_root(root)
    apply_fixes(ctx, [target], rule_ids=[rule])
    remaining = validate_sync(ctx, families=["SVC"]).issues
    assert not [i for i in remaining if i.rule == rule and i.file == target], remaining
    return (root / target).read_text(encoding="utf-8")


def dedent(text: str) -> str:
    """The golden text as written in the test (dedented, without the leading newline)."""
    return textwrap.dedent(text).lstrip("\n")


MODELS = """
class Database: ...
class Users: ...
class Settings: ...
"""


def test_all_fifteen_rules_are_registered_with_docs() -> None:
    """SVC001–SVC015 exist with documentation and a fixer exactly for the rules marked A."""
    ids = sorted(r for r in RULES if r.startswith("SVC"))
    assert ids == [f"SVC{n:03}" for n in range(1, 16)]
    for rule_id in ids:
        found = RULES[rule_id]
        assert found.why and found.bad.strip() and found.good.strip()
        assert (found.fixer is not None) == (found.fix == "A"), rule_id
        assert found.validator == "validate_service_registration"


# -- SVC001 ------------------------------------------------------------------------------------------------

SVC001_BAD = {
    "app/__init__.py": "",
    "app/models.py": MODELS,
    "app/services.py": """
        from dataclasses import dataclass

        import svcs
        from svcs_di import Inject

        from app.models import Database


        @dataclass
        class Users:
            db: Inject[Database]


        registry = svcs.Registry()
        registry.register_factory(Database, Database)
        registry.register_factory(Users, Users)
    """,
}


def test_svc001_flags_inject_class_registered_as_its_own_factory(tmp_path: Path) -> None:
    """`register_factory(Users, Users)` on a plain registry is reported where the class has Inject fields."""
    assert findings(tmp_path, SVC001_BAD) == {("SVC001", "app/services.py", 16)}


def test_svc001_flags_a_class_defined_in_another_module(tmp_path: Path) -> None:
    """The class's Inject fields are found across modules through the project index."""
    files = {
        "app/__init__.py": "",
        "app/models.py": """
            from dataclasses import dataclass
            from svcs_di import Inject

            class Database: ...

            @dataclass
            class Users:
                db: Inject[Database]
        """,
        "app/wiring.py": """
            import svcs
            from .models import Database, Users

            registry = svcs.Registry()
            registry.register_factory(Database, Database)
            registry.register_factory(Users, Users)
        """,
    }
    assert findings(tmp_path, files) == {("SVC001", "app/wiring.py", 6)}


def test_svc001_is_quiet_with_auto_hopscotch_or_plain_classes(tmp_path: Path) -> None:
    """`auto(Users)`, a HopscotchRegistry, and classes without Inject fields are correct."""
    files = {
        "app/__init__.py": "",
        "app/models.py": MODELS,
        "app/services.py": """
            from dataclasses import dataclass

            import svcs
            from svcs_di import Inject, auto
            from svcs_di.injectors import HopscotchRegistry

            from app.models import Database


            @dataclass
            class Users:
                db: Inject[Database]


            registry = svcs.Registry()
            registry.register_factory(Database, Database)
            registry.register_factory(Users, auto(Users))

            hopscotch = HopscotchRegistry()
            hopscotch.register_factory(Users, Users)
        """,
    }
    assert findings(tmp_path, files) == set()


def test_svc001_fix_wraps_in_auto_and_merges_the_import(tmp_path: Path) -> None:
    """The fix writes `auto(Users)` and adds `auto` to the existing `from svcs_di import`."""
    text = fixed(tmp_path, SVC001_BAD, "app/services.py", "SVC001")
    assert text == dedent("""
        from dataclasses import dataclass

        import svcs
        from svcs_di import Inject, auto

        from app.models import Database


        @dataclass
        class Users:
            db: Inject[Database]


        registry = svcs.Registry()
        registry.register_factory(Database, Database)
        registry.register_factory(Users, auto(Users))
    """)


def test_svc001_fix_aliases_auto_when_enum_auto_is_imported(tmp_path: Path) -> None:
    """An `auto` already bound (enum.auto) is not shadowed: svcs-di's is imported under an alias."""
    files = {
        "svc.py": """
            from dataclasses import dataclass
            from enum import Enum, auto

            import svcs
            from svcs_di import Inject


            class Color(Enum):
                RED = auto()


            class Palette: ...


            @dataclass
            class Painter:
                palette: Inject[Palette]


            registry = svcs.Registry()
            registry.register_value(Palette, Palette())
            registry.register_factory(Painter, Painter)
        """
    }
    text = fixed(tmp_path, files, "svc.py", "SVC001")
    assert "from svcs_di import Inject, auto as svcs_di_auto\n" in text
    assert "registry.register_factory(Painter, svcs_di_auto(Painter))\n" in text
    assert "RED = auto()\n" in text


# -- SVC002 ------------------------------------------------------------------------------------------------

SVC002_BAD = {
    "svc.py": """
        import svcs


        class Config:
            debug = False


        class Database:
            def query(self) -> list[str]:
                return []


        registry = svcs.Registry()
        registry.register_factory(Config, Config())
        registry.register_value(Database, Database)
        registry.register_factory(str, "sqlite://")


        def per_request(container: svcs.Container) -> None:
            container.register_local_factory(Config, Config())
    """
}


def test_svc002_flags_swapped_value_and_factory(tmp_path: Path) -> None:
    """Instances given to register_factory and classes given to register_value are reported."""
    assert findings(tmp_path, SVC002_BAD) == {
        ("SVC002", "svc.py", 14),
        ("SVC002", "svc.py", 15),
        ("SVC002", "svc.py", 16),
        ("SVC002", "svc.py", 20),
    }


def test_svc002_is_quiet_on_correct_and_callable_instances(tmp_path: Path) -> None:
    """Values, class factories, function factories and instances with `__call__` are fine."""
    files = {
        "svc.py": """
            import svcs


            class Config:
                debug = False


            class Database: ...


            class DatabaseFactory:
                def __call__(self) -> Database:
                    return Database()


            def make_database() -> Database:
                return Database()


            registry = svcs.Registry()
            registry.register_value(Config, Config())
            registry.register_factory(Database, Database)
            registry.register_factory(Database, DatabaseFactory())
            registry.register_factory(Database, make_database)
            registry.register_value(type[Database], Database)
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc002_fix_swaps_the_method(tmp_path: Path) -> None:
    """The fix renames the method in both directions, including the container-local variant."""
    text = fixed(tmp_path, SVC002_BAD, "svc.py", "SVC002")
    assert text == dedent("""
        import svcs


        class Config:
            debug = False


        class Database:
            def query(self) -> list[str]:
                return []


        registry = svcs.Registry()
        registry.register_value(Config, Config())
        registry.register_factory(Database, Database)
        registry.register_value(str, "sqlite://")


        def per_request(container: svcs.Container) -> None:
            container.register_local_value(Config, Config())
    """)


# -- SVC003 ------------------------------------------------------------------------------------------------

SVC003_BAD = {
    "svc.py": """
        import svcs


        class Connection: ...


        class Settings: ...


        type Conn = Connection

        registry = svcs.Registry()
        registry.register_factory(Conn, Connection)
        registry.register_value("Settings", Settings())
        registry.register_value("feature-flags", {})


        def view(container: svcs.Container) -> Settings:
            return container.get("Settings")
    """
}


def test_svc003_flags_string_and_type_alias_keys(tmp_path: Path) -> None:
    """String keys (registration and typed look-up) and PEP 695 alias keys are reported."""
    assert findings(tmp_path, SVC003_BAD) == {
        ("SVC003", "svc.py", 13),
        ("SVC003", "svc.py", 14),
        ("SVC003", "svc.py", 15),
        ("SVC003", "svc.py", 19),
    }


def test_svc003_is_quiet_on_classes_newtype_and_annotated(tmp_path: Path) -> None:
    """Classes, `NewType` and `Annotated` keys, and string arguments to non-container `.get`, are fine."""
    files = {
        "svc.py": """
            from typing import Annotated, NewType

            import svcs


            class Connection: ...


            Conn = NewType("Conn", Connection)
            ReadOnly = Annotated[Connection, "ro"]

            registry = svcs.Registry()
            registry.register_factory(Conn, Connection)
            registry.register_factory(ReadOnly, Connection)
            registry.register_factory(Annotated[Connection, "rw"], Connection)
            headers = {"a": "b"}
            headers.get("a")
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc003_fix_turns_alias_into_newtype_and_names_the_class(tmp_path: Path) -> None:
    """The alias becomes a NewType (with its import) and a string naming a class becomes the class."""
    text = fixed_partial(tmp_path, SVC003_BAD, "svc.py", "SVC003")
    assert text == dedent("""
        from typing import NewType

        import svcs


        class Connection: ...


        class Settings: ...


        Conn = NewType("Conn", Connection)

        registry = svcs.Registry()
        registry.register_factory(Conn, Connection)
        registry.register_value(Settings, Settings())
        registry.register_value("feature-flags", {})


        def view(container: svcs.Container) -> Settings:
            return container.get(Settings)
    """)
    assert findings(tmp_path, {}) == {("SVC003", "svc.py", 17)}


# -- SVC004 ------------------------------------------------------------------------------------------------

SVC004_BAD = {
    "app/__init__.py": "",
    "app/models.py": MODELS,
    "app/factories.py": """
        from svcs_di.injectors import HopscotchContainer

        from app.models import Database, Users


        def make_users(container):
            db = container.get(Database)
            return Users()


        def make_report(c: HopscotchContainer):
            return c


        def make_settings(source):
            return source.get(Users)
    """,
    "app/wiring.py": """
        import svcs

        from app.factories import make_report, make_settings, make_users
        from app.models import Database, Settings, Users

        registry = svcs.Registry()
        registry.register_factory(Database, Database)
        registry.register_factory(Users, make_users)
        registry.register_factory(Settings, make_settings)
        registry.register_factory(object, make_report)
        registry.register_factory(Settings, lambda container: container.get(Users))
    """,
}


def test_svc004_flags_container_parameters_svcs_will_not_fill(tmp_path: Path) -> None:
    """Factories (found across modules) and lambdas whose container parameter svcs ignores are reported."""
    assert findings(tmp_path, SVC004_BAD) == {
        ("SVC004", "app/factories.py", 6),
        ("SVC004", "app/factories.py", 11),
        ("SVC004", "app/factories.py", 15),
        ("SVC004", "app/wiring.py", 11),
    }


def test_svc004_is_quiet_on_the_two_accepted_spellings(tmp_path: Path) -> None:
    """`svcs_container`, an `svcs.Container` annotation, defaults, and non-container parameters pass."""
    files = {
        "svc.py": """
            from __future__ import annotations

            import svcs
            from svcs import Container


            class Users: ...


            def by_name(svcs_container):
                return Users()


            def by_annotation(ioc: svcs.Container):
                return ioc.get(Users)


            def by_string_annotation(ioc: "Container"):
                return ioc.get(Users)


            def no_arguments():
                return Users()


            def with_default(container=None):
                return Users()


            registry = svcs.Registry()
            registry.register_factory(Users, by_name)
            registry.register_factory(Users, by_annotation)
            registry.register_factory(Users, by_string_annotation)
            registry.register_factory(Users, no_arguments)
            registry.register_factory(Users, with_default)
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc004_fix_renames_parameter_and_uses(tmp_path: Path) -> None:
    """The parameter and every reference to it become `svcs_container`, nothing else changes."""
    text = fixed(tmp_path, SVC004_BAD, "app/factories.py", "SVC004")
    assert text == dedent("""
        from svcs_di.injectors import HopscotchContainer

        from app.models import Database, Users


        def make_users(svcs_container):
            db = svcs_container.get(Database)
            return Users()


        def make_report(svcs_container: HopscotchContainer):
            return svcs_container


        def make_settings(svcs_container):
            return svcs_container.get(Users)
    """)
    lam = fixed(tmp_path, SVC004_BAD, "app/wiring.py", "SVC004")
    assert "lambda svcs_container: svcs_container.get(Users))\n" in lam


# -- SVC005 ------------------------------------------------------------------------------------------------

SVC005_BAD = {
    "svc.py": """
        import svcs


        class Database:
            name = "db"


        async def make_database() -> Database:
            return Database()


        registry = svcs.Registry()
        registry.register_factory(Database, make_database)


        async def handler(container: svcs.Container) -> str:
            db = container.get(Database)
            return container.get(Database).name


        def sync_handler(container: svcs.Container) -> Database:
            return container.get(Database)
    """
}


def test_svc005_flags_sync_get_of_async_factories(tmp_path: Path) -> None:
    """`get()` of a service whose factory is `async def` is reported in async and sync functions."""
    assert findings(tmp_path, SVC005_BAD) == {
        ("SVC005", "svc.py", 17),
        ("SVC005", "svc.py", 18),
        ("SVC005", "svc.py", 22),
    }


def test_svc005_is_quiet_with_aget_and_sync_factories(tmp_path: Path) -> None:
    """`await aget()` of async services and `get()` of sync services are fine."""
    files = {
        "svc.py": """
            import svcs


            class Database: ...


            class Cache: ...


            async def make_database() -> Database:
                return Database()


            registry = svcs.Registry()
            registry.register_factory(Database, make_database)
            registry.register_factory(Cache, Cache)


            async def handler(container: svcs.Container) -> None:
                db = await container.aget(Database)
                cache = container.get(Cache)
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc005_fix_awaits_aget_inside_async_def_only(tmp_path: Path) -> None:
    """Inside `async def` the call becomes `await ….aget(...)` (parenthesised if needed); sync code stays."""
    text = fixed_partial(tmp_path, SVC005_BAD, "svc.py", "SVC005")
    assert text == dedent("""
        import svcs


        class Database:
            name = "db"


        async def make_database() -> Database:
            return Database()


        registry = svcs.Registry()
        registry.register_factory(Database, make_database)


        async def handler(container: svcs.Container) -> str:
            db = await container.aget(Database)
            return (await container.aget(Database)).name


        def sync_handler(container: svcs.Container) -> Database:
            return container.get(Database)
    """)
    assert findings(tmp_path, {}) == {("SVC005", "svc.py", 22)}


def fixed_partial(root: Path, files: dict[str, str], target: str, rule: str) -> str:
    """Apply `rule`'s fix to `target` where it can, and return the new text (findings may remain)."""
    _write(root, files)
    apply_fixes(ToolContext.for_root(root), [target], rule_ids=[rule])
    return (root / target).read_text(encoding="utf-8")


# -- SVC006 ------------------------------------------------------------------------------------------------

SVC006_BAD = {
    "svc.py": """
        import svcs


        class Database:
            def execute(self, sql: str) -> None: ...


        def check() -> bool:
            return True


        def check_two(db, timeout):
            return True


        registry = svcs.Registry()
        registry.register_factory(Database, Database, ping=lambda: True)
        registry.register_factory(Database, Database, ping=check)
        registry.register_factory(Database, Database, ping=check_two)
    """
}


def test_svc006_flags_ping_callables_with_wrong_arity(tmp_path: Path) -> None:
    """Lambdas and functions taking no argument, or two required ones, are reported at `ping=`."""
    assert findings(tmp_path, SVC006_BAD) == {
        ("SVC006", "svc.py", 17),
        ("SVC006", "svc.py", 18),
        ("SVC006", "svc.py", 19),
    }


def test_svc006_is_quiet_on_one_argument_pings(tmp_path: Path) -> None:
    """One parameter, one plus defaults, `*args`, and methods are accepted."""
    files = {
        "svc.py": """
            import svcs


            class Database:
                def ping(self) -> None: ...


            def check(db, timeout=1.0):
                return True


            registry = svcs.Registry()
            registry.register_factory(Database, Database, ping=lambda db: db.ping())
            registry.register_factory(Database, Database, ping=check)
            registry.register_factory(Database, Database, ping=lambda *args: True)
            registry.register_factory(Database, Database, ping=Database.ping)
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc006_fix_adds_a_parameter_named_after_the_service(tmp_path: Path) -> None:
    """Parameterless pings get one parameter; the two-parameter function stays for a human."""
    text = fixed_partial(tmp_path, SVC006_BAD, "svc.py", "SVC006")
    assert text == dedent("""
        import svcs


        class Database:
            def execute(self, sql: str) -> None: ...


        def check(database) -> bool:
            return True


        def check_two(db, timeout):
            return True


        registry = svcs.Registry()
        registry.register_factory(Database, Database, ping=lambda database: True)
        registry.register_factory(Database, Database, ping=check)
        registry.register_factory(Database, Database, ping=check_two)
    """)
    assert findings(tmp_path, {}) == {("SVC006", "svc.py", 19)}


# -- SVC007 ------------------------------------------------------------------------------------------------


def test_svc007_flags_factories_that_leak_or_close_too_early(tmp_path: Path) -> None:
    """Returns from inside `with`, sqlite3 connections and `enter=False` resources are reported."""
    files = {
        "svc.py": """
            import sqlite3

            import httpx
            import svcs


            class Engine:
                def connect(self): ...


            engine = Engine()


            def make_connection():
                with engine.connect() as conn:
                    return conn


            def make_sqlite():
                return sqlite3.connect("app.db")


            def make_client():
                return httpx.Client()


            registry = svcs.Registry()
            registry.register_factory(Engine, make_connection)
            registry.register_factory(sqlite3.Connection, make_sqlite)
            registry.register_factory(httpx.Client, make_client, enter=False)
        """
    }
    assert findings(tmp_path, files) == {
        ("SVC007", "svc.py", 16),
        ("SVC007", "svc.py", 20),
        ("SVC007", "svc.py", 24),
    }


def test_svc007_is_quiet_on_generators_and_entered_context_managers(tmp_path: Path) -> None:
    """Generator factories, and context managers returned with the default `enter=True`, clean up."""
    files = {
        "svc.py": """
            import sqlite3

            import httpx
            import svcs


            def make_sqlite():
                conn = sqlite3.connect("app.db")
                try:
                    yield conn
                finally:
                    conn.close()


            def make_client():
                return httpx.Client()


            def not_a_factory():
                return sqlite3.connect("other.db")


            registry = svcs.Registry()
            registry.register_factory(sqlite3.Connection, make_sqlite)
            registry.register_factory(httpx.Client, make_client)
        """
    }
    assert findings(tmp_path, files) == set()


# -- SVC008 ------------------------------------------------------------------------------------------------

SVC008_BAD = {
    "services.py": """
        from svcs_hopscotch.injectors import injectable


        class Greeting:
            def __init__(self, text: str) -> None:
                self.text = text


        class Resource: ...


        @injectable
        def make_greeting() -> Greeting:
            return Greeting("Hello")


        @injectable(resource=Resource)
        def make_resource_greeting() -> Greeting:
            return Greeting("Hi")


        @injectable()
        def make_unknown():
            return Greeting("?")
    """
}


def test_svc008_flags_injectable_functions_without_for(tmp_path: Path) -> None:
    """`@injectable` on a function needs `for_=`, bare, with other keywords, or with empty parentheses."""
    assert findings(tmp_path, SVC008_BAD) == {
        ("SVC008", "services.py", 12),
        ("SVC008", "services.py", 17),
        ("SVC008", "services.py", 22),
    }


def test_svc008_is_quiet_on_classes_for_and_legacy_hopscotch(tmp_path: Path) -> None:
    """Classes, functions with `for_=`, and legacy `hopscotch` decorators are not reported."""
    files = {
        "services.py": """
            from dataclasses import dataclass

            from svcs_di.injectors import injectable


            @injectable
            @dataclass
            class Greeting:
                text: str = "Hello"


            @injectable(for_=Greeting)
            def make_greeting() -> Greeting:
                return Greeting("Hi")
        """,
    }
    assert findings(tmp_path / "current", files) == set()
    legacy = {
        "legacy.py": """
            from hopscotch import injectable


            class Greeter: ...


            @injectable(kind=Greeter)
            def make_greeter() -> Greeter:
                return Greeter()
        """,
    }
    assert findings(tmp_path / "legacy", legacy) == set()


def test_svc008_fix_takes_for_from_the_return_annotation(tmp_path: Path) -> None:
    """`for_=` comes from the return annotation; a function without one is left to a human."""
    text = fixed_partial(tmp_path, SVC008_BAD, "services.py", "SVC008")
    expected = dedent(SVC008_BAD["services.py"])
    expected = expected.replace(
        "@injectable\ndef make_greeting", "@injectable(for_=Greeting)\ndef make_greeting"
    )
    expected = expected.replace(
        "@injectable(resource=Resource)", "@injectable(for_=Greeting, resource=Resource)"
    )
    assert text == expected
    assert findings(tmp_path, {}) == {("SVC008", "services.py", 22)}


# -- SVC009 ------------------------------------------------------------------------------------------------

SVC009_BAD = {
    "components.py": """
        from dataclasses import dataclass

        from svcs_di.injectors import injectable
        from tdom_svcs import hookable, middleware


        @dataclass
        @injectable
        class Greeting:
            text: str = "Hello"


        # logs every component
        @dataclass(frozen=True)
        @middleware
        class Logging:
            priority: int = -10


        @hookable(middleware={"before": [Logging]})
        @dataclass
        class Button:
            label: str = "OK"
    """
}


def test_svc009_flags_di_decorators_below_dataclass(tmp_path: Path) -> None:
    """`@injectable` / `@middleware` under `@dataclass` are reported; the correct order is not."""
    assert findings(tmp_path, SVC009_BAD) == {
        ("SVC009", "components.py", 8),
        ("SVC009", "components.py", 15),
    }


def test_svc009_is_quiet_on_correct_order_and_other_decorators(tmp_path: Path) -> None:
    """DI decorators outermost, and unrelated decorators in any order, are fine."""
    files = {
        "components.py": """
            import functools
            from dataclasses import dataclass

            from svcs_hopscotch.injectors import injectable


            @injectable
            @dataclass
            class Greeting:
                text: str = "Hello"


            @dataclass
            @functools.total_ordering
            class Plain:
                n: int = 0
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc009_fix_moves_di_decorators_outermost(tmp_path: Path) -> None:
    """The fix swaps the decorators and keeps the comment above the first one in place."""
    text = fixed(tmp_path, SVC009_BAD, "components.py", "SVC009")
    assert text == dedent("""
        from dataclasses import dataclass

        from svcs_di.injectors import injectable
        from tdom_svcs import hookable, middleware


        @injectable
        @dataclass
        class Greeting:
            text: str = "Hello"


        # logs every component
        @middleware
        @dataclass(frozen=True)
        class Logging:
            priority: int = -10


        @hookable(middleware={"before": [Logging]})
        @dataclass
        class Button:
            label: str = "OK"
    """)


# -- SVC010 ------------------------------------------------------------------------------------------------

SVC010_BAD = {
    "site.py": """
        from svcs_hopscotch.injectors import HopscotchContainer, HopscotchRegistry, injectable


        class Greeting: ...


        @injectable(for_=Greeting, location="/fr")
        class FrenchGreeting(Greeting): ...


        registry = HopscotchRegistry()
        registry.register_implementation(Greeting, FrenchGreeting, location="/fr/ca")


        def handle() -> None:
            with HopscotchContainer(registry, location="/fr/users") as container:
                container.get(Greeting)
    """
}


def test_svc010_flags_string_locations(tmp_path: Path) -> None:
    """String `location=` in `@injectable`, `register_implementation` and `HopscotchContainer` is reported."""
    assert findings(tmp_path, SVC010_BAD) == {
        ("SVC010", "site.py", 7),
        ("SVC010", "site.py", 12),
        ("SVC010", "site.py", 16),
    }


def test_svc010_is_quiet_on_purepath_and_unrelated_location_keywords(tmp_path: Path) -> None:
    """`PurePath` locations, and `location=` of unrelated APIs, are fine."""
    files = {
        "site.py": """
            from pathlib import PurePath

            from svcs_di.injectors import injectable


            class Greeting: ...


            @injectable(for_=Greeting, location=PurePath("/fr"))
            class FrenchGreeting(Greeting): ...


            def redirect(location: str) -> dict[str, str]:
                return dict(location="/login")
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc010_fix_wraps_in_purepath_and_imports_it(tmp_path: Path) -> None:
    """Every string location becomes `PurePath("…")` and `PurePath` is imported once."""
    text = fixed(tmp_path, SVC010_BAD, "site.py", "SVC010")
    assert text == dedent("""
        from pathlib import PurePath

        from svcs_hopscotch.injectors import HopscotchContainer, HopscotchRegistry, injectable


        class Greeting: ...


        @injectable(for_=Greeting, location=PurePath("/fr"))
        class FrenchGreeting(Greeting): ...


        registry = HopscotchRegistry()
        registry.register_implementation(Greeting, FrenchGreeting, location=PurePath("/fr/ca"))


        def handle() -> None:
            with HopscotchContainer(registry, location=PurePath("/fr/users")) as container:
                container.get(Greeting)
    """)


# -- SVC011 ------------------------------------------------------------------------------------------------

SVC011_BAD = {
    "app/__init__.py": "",
    "app/site/__init__.py": """
        from svcs_hopscotch.injectors import HopscotchRegistry


        def svcs_registry(registry: HopscotchRegistry) -> None:
            registry.register_value(str, "site")
    """,
    "app/main.py": """
        import svcs
        from svcs_hopscotch.injectors import scan


        class Greeting: ...


        registry = svcs.Registry()
        scan(registry, "app.site")
        registry.register_implementation(Greeting, Greeting)
    """,
    "app/hooks.py": """
        import svcs


        def svcs_container(container, extra):
            container.register_local_value(str, extra)
    """,
}


def test_svc011_flags_hopscotch_features_on_a_plain_registry(tmp_path: Path) -> None:
    """Scanned conventions and `register_implementation` need HopscotchRegistry; hooks take one argument."""
    assert findings(tmp_path, SVC011_BAD) == {
        ("SVC011", "app/main.py", 9),
        ("SVC011", "app/main.py", 10),
        ("SVC011", "app/hooks.py", 4),
    }


def test_svc011_is_quiet_with_hopscotch_registry(tmp_path: Path) -> None:
    """A HopscotchRegistry scanning convention modules, and a plain registry scanning plain ones, are fine."""
    files = {
        "app/__init__.py": "",
        "app/site/__init__.py": """
            def svcs_registry(registry):
                registry.register_value(str, "site")
        """,
        "app/plain.py": """
            from dataclasses import dataclass
            from svcs_di.injectors import injectable


            @injectable
            @dataclass
            class Clock:
                tz: str = "UTC"
        """,
        "app/main.py": """
            import svcs
            from svcs_di.injectors import HopscotchRegistry, scan

            registry = HopscotchRegistry()
            scan(registry, "app.site")
            plain = svcs.Registry()
            scan(plain, "app.plain")
        """,
    }
    assert findings(tmp_path, files) == set()


def test_svc011_fix_builds_a_hopscotch_registry(tmp_path: Path) -> None:
    """The fix replaces `svcs.Registry()` by `HopscotchRegistry()` imported from the family in use."""
    text = fixed_partial(tmp_path, SVC011_BAD, "app/main.py", "SVC011")
    assert text == dedent("""
        import svcs
        from svcs_hopscotch.injectors import HopscotchRegistry, scan


        class Greeting: ...


        registry = HopscotchRegistry()
        scan(registry, "app.site")
        registry.register_implementation(Greeting, Greeting)
    """)
    assert findings(tmp_path, {}) == {("SVC011", "app/hooks.py", 4)}


# -- SVC012 ------------------------------------------------------------------------------------------------

SVC012_BAD = {
    "app/__init__.py": "",
    "app/legacy.py": """
        from dataclasses import dataclass

        from hopscotch import Inject, injectable


        class Database: ...


        @dataclass
        class Users:
            db: Inject[Database]
    """,
    "app/shapes.py": """
        from dataclasses import dataclass

        from svcs_di import Inject


        class Database: ...


        @dataclass
        class Users:
            db: Inject
            both: Inject[Database, Database]
            later: Inject["Cache"]
            fine: Inject["Database"]
    """,
    "app/missing.py": """
        from dataclasses import dataclass


        class Database: ...


        @dataclass
        class Users:
            db: Inject[Database]
    """,
}


def test_svc012_flags_malformed_and_misimported_inject(tmp_path: Path) -> None:
    """Wrong import source, bare Inject, two arguments, unresolvable forward refs and a missing import."""
    assert findings(tmp_path, SVC012_BAD) == {
        ("SVC012", "app/legacy.py", 3),
        ("SVC012", "app/shapes.py", 11),
        ("SVC012", "app/shapes.py", 12),
        ("SVC012", "app/shapes.py", 13),
        ("SVC012", "app/missing.py", 9),
    }


def test_svc012_is_quiet_on_single_resolvable_types(tmp_path: Path) -> None:
    """`Inject[T]`, `Inject["T"]` for a module name, `InitVar[Inject[T]]` and svcs_hopscotch are fine."""
    files = {
        "app.py": """
            from dataclasses import InitVar, dataclass

            from svcs_di import Inject as Injected


            class Database: ...


            @dataclass
            class Users:
                db: Injected[Database]
                lazy: Injected["Database"]
                seed: InitVar[Injected[Database]]


            def view(users: Injected[Users]) -> None: ...
        """,
        "other.py": """
            from injector import Inject


            class Thing: ...


            def build(thing: Inject[Thing]) -> None: ...
        """,
    }
    assert findings(tmp_path, files) == set()


def test_svc012_fix_imports_inject_from_svcs_di(tmp_path: Path) -> None:
    """A wrong source is split off to `from svcs_di import Inject`; a missing import is added."""
    legacy = fixed(tmp_path, SVC012_BAD, "app/legacy.py", "SVC012")
    assert legacy == dedent("""
        from dataclasses import dataclass

        from hopscotch import injectable
        from svcs_di import Inject


        class Database: ...


        @dataclass
        class Users:
            db: Inject[Database]
    """)
    missing = fixed(tmp_path, {}, "app/missing.py", "SVC012")
    assert missing == dedent("""
        from dataclasses import dataclass

        from svcs_di import Inject


        class Database: ...


        @dataclass
        class Users:
            db: Inject[Database]
    """)


# -- SVC013 ------------------------------------------------------------------------------------------------

SVC013_BAD = {
    "app/__init__.py": "",
    "app/registry.py": """
        from svcs_hopscotch.injectors import HopscotchRegistry, scan

        registry = HopscotchRegistry()
        scan(registry, "app")
    """,
    "app/components.py": """
        from dataclasses import dataclass

        from svcs_hopscotch.injectors import injectable


        @injectable
        @dataclass
        class Greeting:
            text: str = "Hello"
    """,
    "app/site.py": """
        from dataclasses import dataclass

        from svcs_di.injectors.decorators import injectable

        from app.components import Greeting


        @injectable(kind=Greeting)
        @dataclass
        class FrenchGreeting(Greeting):
            text: str = "Bonjour"
    """,
}


def test_svc013_flags_minority_family_and_legacy_keywords(tmp_path: Path) -> None:
    """An `svcs_di.injectors` import in an `svcs_hopscotch` project and `kind=` are reported."""
    assert findings(tmp_path, SVC013_BAD) == {
        ("SVC013", "app/site.py", 3),
        ("SVC013", "app/site.py", 8),
    }


def test_svc013_is_quiet_in_one_family_and_in_legacy_projects(tmp_path: Path) -> None:
    """A single family, and pure legacy `hopscotch` code with `kind=`/`context=`, are not reported."""
    files = {
        "legacy.py": """
            from dataclasses import dataclass

            from hopscotch import Registry, injectable


            class Greeter: ...


            @injectable(kind=Greeter)
            @dataclass
            class FrenchGreeter(Greeter):
                text: str = "Bonjour"


            registry = Registry(context=object())
            registry.scan()
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc013_fix_moves_the_import_and_renames_kind(tmp_path: Path) -> None:
    """The import moves to `svcs_hopscotch` and `kind=` becomes `for_=`."""
    text = fixed(tmp_path, SVC013_BAD, "app/site.py", "SVC013")
    assert text == dedent("""
        from dataclasses import dataclass

        from svcs_hopscotch.injectors.decorators import injectable

        from app.components import Greeting


        @injectable(for_=Greeting)
        @dataclass
        class FrenchGreeting(Greeting):
            text: str = "Bonjour"
    """)


def test_svc013_moves_to_svcs_di_when_that_family_dominates(tmp_path: Path) -> None:
    """When most imports use `svcs_di.injectors`, the lone `svcs_hopscotch` import is moved back."""
    files = {
        "a.py": "from svcs_di.injectors import HopscotchRegistry\n",
        "b.py": "from svcs_di.injectors import injectable\n",
        "c.py": "from svcs_hopscotch.injectors.scanning import scan\n",
    }
    assert findings(tmp_path, files) == {("SVC013", "c.py", 1)}
    assert fixed(tmp_path, {}, "c.py", "SVC013") == "from svcs_di.injectors.scanning import scan\n"


# -- SVC014 ------------------------------------------------------------------------------------------------


def test_svc014_flags_types_nobody_registers(tmp_path: Path) -> None:
    """Unregistered `Inject[T]`, `container.get(T)`, and an @injectable no scan covers are reported."""
    files = {
        "app/__init__.py": "",
        "app/models.py": MODELS,
        "app/hidden.py": """
            from dataclasses import dataclass
            from svcs_di.injectors import injectable


            @injectable
            @dataclass
            class Clock:
                tz: str = "UTC"
        """,
        "app/views.py": """
            from dataclasses import dataclass

            import svcs
            from svcs_di import Inject, auto

            from app.hidden import Clock
            from app.models import Database, Settings, Users


            @dataclass
            class Dashboard:
                users: Inject[Users]
                db: Inject[Database]
                clock: Inject[Clock]
                container: Inject[svcs.Container]


            registry = svcs.Registry()
            registry.register_factory(Database, Database)
            registry.register_factory(Dashboard, auto(Dashboard))


            def view(container: svcs.Container) -> Settings:
                return container.get(Settings)
        """,
    }
    assert findings(tmp_path, files) == {
        ("SVC014", "app/views.py", 12),
        ("SVC014", "app/views.py", 14),
        ("SVC014", "app/views.py", 24),
    }


def test_svc014_is_quiet_when_everything_is_registered(tmp_path: Path) -> None:
    """Registrations anywhere, local values, scanned @injectables, defaults and re-exports all count."""
    files = {
        "app/__init__.py": "",
        "app/models.py": MODELS,
        "app/reexport.py": "from app.models import Settings as Settings\n",
        "app/services/__init__.py": "",
        "app/services/clock.py": """
            from dataclasses import dataclass
            from svcs_hopscotch.injectors import injectable


            @injectable
            @dataclass
            class Clock:
                tz: str = "UTC"
        """,
        "app/views.py": """
            from dataclasses import dataclass

            from svcs_di import Inject
            from svcs_hopscotch.injectors import HopscotchContainer, HopscotchRegistry, scan

            from app.models import Database, Users
            from app.reexport import Settings
            from app.services.clock import Clock


            @dataclass
            class Dashboard:
                users: Inject[Users]
                db: Inject[Database]
                clock: Inject[Clock]
                settings: Inject[Settings] | None = None


            registry = HopscotchRegistry()
            scan(registry, "app.services")
            registry.register_factory(Database, Database)


            def view(request: object) -> Dashboard:
                with HopscotchContainer(registry) as container:
                    container.register_local_value(Users, Users())
                    container.get(Settings)
                    return container.inject(Dashboard)
        """,
        "app/settings.py": """
            from app.views import registry
            from app.models import Settings

            registry.register_value(Settings, Settings())
        """,
    }
    assert findings(tmp_path, files) == set()


def test_svc014_ignores_constants_and_builtins_as_keys(tmp_path: Path) -> None:
    """`get(SETTINGS_KEY)` and `Inject[str]` are not service types to look for."""
    files = {
        "svc.py": """
            from dataclasses import dataclass

            import svcs
            from svcs_di import Inject

            SETTINGS_KEY = object()


            @dataclass
            class Page:
                title: Inject[str]


            registry = svcs.Registry()
            registry.register_value(int, 1)


            def view(container: svcs.Container) -> object:
                return container.get(SETTINGS_KEY)
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc014_is_quiet_for_libraries_and_computed_keys(tmp_path: Path) -> None:
    """A project that registers nothing, or registers computed keys, cannot be judged."""
    library = {
        "lib.py": """
            from dataclasses import dataclass
            from svcs_di import Inject


            class Database: ...


            @dataclass
            class Users:
                db: Inject[Database]
        """
    }
    assert findings(tmp_path / "lib", library) == set()
    computed = {
        **library,
        "wiring.py": """
            import svcs

            registry = svcs.Registry()
            for service in (object, int):
                registry.register_factory(service, service)
        """,
    }
    assert findings(tmp_path / "computed", computed) == set()


# -- SVC015 ------------------------------------------------------------------------------------------------

SVC015_BAD = {
    "svc.py": """
        from typing import Protocol

        import svcs


        class Repository(Protocol):
            def all(self) -> list[str]: ...


        class MemoryRepository:
            def all(self) -> list[str]:
                return []


        registry = svcs.Registry()
        registry.register_factory(Repository, MemoryRepository)


        async def view(container: svcs.Container) -> None:
            repo = container.get_abstract(Repository)
            other = await container.aget_abstract(Repository)
    """
}


def test_svc015_flags_deprecated_abstract_getters(tmp_path: Path) -> None:
    """`get_abstract` and `aget_abstract` on a container are reported."""
    assert findings(tmp_path, SVC015_BAD) == {("SVC015", "svc.py", 20), ("SVC015", "svc.py", 21)}


def test_svc015_is_quiet_on_get_and_unrelated_get_abstract(tmp_path: Path) -> None:
    """`get`/`aget` on containers and `get_abstract` on non-containers are fine."""
    files = {
        "svc.py": """
            from typing import Protocol

            import svcs


            class Repository(Protocol): ...


            class Catalog:
                def get_abstract(self, name: str) -> str:
                    return name


            registry = svcs.Registry()
            registry.register_value(Repository, object())


            async def view(container: svcs.Container) -> None:
                repo = container.get(Repository)
                other = await container.aget(Repository)
                Catalog().get_abstract("x")
        """
    }
    assert findings(tmp_path, files) == set()


def test_svc015_fix_renames_to_get_and_aget(tmp_path: Path) -> None:
    """`get_abstract` → `get`, `aget_abstract` → `aget`, nothing else changes."""
    text = fixed(tmp_path, SVC015_BAD, "svc.py", "SVC015")
    assert text == dedent(SVC015_BAD["svc.py"]).replace("get_abstract", "get")


# -- cross-cutting -----------------------------------------------------------------------------------------


def test_non_svcs_register_methods_are_ignored(tmp_path: Path) -> None:
    """`register_factory` on objects of modules that never touch svcs is someone else's API."""
    files = {
        "plugins.py": """
            class Plugins:
                def register_factory(self, key, factory): ...
                def register_value(self, key, value): ...


            plugins = Plugins()
            plugins.register_factory("x", 1)
            plugins.register_value(Plugins, Plugins)
        """
    }
    assert findings(tmp_path, files) == set()


def test_fixes_are_idempotent(tmp_path: Path) -> None:
    """Running the fixer loop again over fixed code changes nothing."""
    _write(tmp_path, SVC001_BAD)
    ctx = ToolContext.for_root(tmp_path)
    first = apply_fixes(ctx, ["app/services.py"])
    assert first.changed
    second = apply_fixes(ctx, ["app/services.py"])
    assert not second.changed
