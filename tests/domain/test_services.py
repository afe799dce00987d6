"""`ServiceRegistration` extraction: one module's registrations, and the project-wide registration index."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst

import punie_lsp.domain
from punie_lsp.domain.context import ModuleContext
from punie_lsp.domain.services import (
    ServiceRegistration,
    extract_registrations,
    import_family,
    module_name,
    registration_index,
)
from punie_lsp.domain.validate import build_index
from punie_lsp.tools.context import ToolContext

assert punie_lsp.domain  # importing the package registers every rule family


def module(source: str, relative: str = "app/services.py") -> ModuleContext:
    """A parsed module at `relative` (nothing is written to disk)."""
    text = textwrap.dedent(source).lstrip("\n")
    return ModuleContext(
        path=Path("/project") / relative, relative=relative, source=text, module=cst.parse_module(text)
    )


def project(root: Path, files: dict[str, str]) -> list[ServiceRegistration]:
    """Write `files` under `root` and return the project's registration index."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    index, _ = build_index(ToolContext.for_root(root))
    return registration_index(index)


def test_module_name_follows_packages_and_src_layout() -> None:
    """Relative paths map to dotted module names (`__init__` is the package, `src/` is dropped)."""
    assert module_name("app/services.py") == "app.services"
    assert module_name("app/__init__.py") == "app"
    assert module_name("src/app/site/components.py") == "app.site.components"
    assert module_name("main.py") == "main"


def test_factories_values_and_their_options_are_extracted() -> None:
    """Provider kind, key and factory text, resolved names, ping, cleanup and async are read per call."""
    mod = module("""
        import svcs

        from .models import Database, Settings


        def connect():
            conn = Database()
            yield conn


        async def make_settings() -> Settings:
            return Settings()


        registry = svcs.Registry()
        registry.register_factory(Database, connect, ping=lambda db: db.ping())
        registry.register_factory(Settings, make_settings, on_registry_close=lambda: None)
        registry.register_value(str, "sqlite://", enter=True)
    """)
    found = extract_registrations(mod)
    assert [(r.service_type, r.provider, r.expression, r.line, r.column) for r in found] == [
        ("Database", "factory", "connect", 16, 1),
        ("Settings", "factory", "make_settings", 17, 1),
        ("str", "value", '"sqlite://"', 18, 1),
    ]
    database, settings, value = found
    assert database.service_qualified == "app.models.Database"
    assert database.provider_qualified == "app.services.connect"
    assert database.ping == "lambda db: db.ping()"
    assert (database.cleanup, database.is_async, database.lifecycle) == (True, False, "app")
    assert (settings.cleanup, settings.is_async) == (True, True)
    assert (value.cleanup, value.is_async, value.ping) == (True, False, None)
    assert database.file == "app/services.py"


def test_lifecycles_are_app_local_and_container() -> None:
    """Registry calls are app-scoped, `register_local_*` local, `svcs_container` hooks container-scoped."""
    mod = module("""
        import svcs

        from app.models import Request, Settings

        registry = svcs.Registry()
        registry.register_value(Settings, Settings())


        def handle(request: Request) -> None:
            with svcs.Container(registry) as container:
                container.register_local_value(Request, request)


        def svcs_container(container) -> None:
            container.register_local_factory(Request, Request)
    """)
    assert [(r.service_type, r.lifecycle) for r in extract_registrations(mod)] == [
        ("Settings", "app"),
        ("Request", "local"),
        ("Request", "container"),
    ]


def test_injectables_implementations_and_integrations_are_registrations() -> None:
    """`@injectable` (class, `for_=`), `register_implementation` and `svcs.flask.register_*` are extracted."""
    mod = module("""
        from dataclasses import dataclass

        import svcs
        from svcs_hopscotch.injectors import HopscotchRegistry, injectable


        @injectable
        @dataclass
        class Greeting:
            text: str = "Hello"


        @injectable(for_=Greeting)
        def make_greeting() -> Greeting:
            return Greeting("Hi")


        registry = HopscotchRegistry()
        registry.register_implementation(Greeting, Greeting)
        svcs.flask.register_factory(app, Greeting, make_greeting)
    """)
    found = [
        (r.service_type, r.provider, r.expression, r.service_qualified) for r in extract_registrations(mod)
    ]
    assert found == [
        ("Greeting", "injectable", "Greeting", "app.services.Greeting"),
        ("Greeting", "injectable", "make_greeting", "app.services.Greeting"),
        ("Greeting", "implementation", "Greeting", "app.services.Greeting"),
        ("Greeting", "factory", "make_greeting", "app.services.Greeting"),
    ]


def test_non_svcs_register_calls_and_legacy_hopscotch_are_not_svcs() -> None:
    """A plugin API's `register_factory` and legacy `hopscotch` registries are not svcs registrations."""
    mod = module("""
        from hopscotch import Registry


        class Plugins:
            def register_factory(self, key, factory): ...


        plugins = Plugins()
        plugins.register_factory("x", dict)
        legacy = Registry()
        legacy.register_value(str, "x")
    """)
    assert extract_registrations(mod) == []


def test_registration_index_joins_modules_and_scanned_injectables(tmp_path: Path) -> None:
    """The index holds every module's registrations, @injectables of scanned modules only, and async info."""
    found = project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/factories.py": """
                async def make_cache():
                    return {}
            """,
            "app/scanned/__init__.py": "",
            "app/scanned/clock.py": """
                from svcs_di.injectors import injectable


                @injectable
                class Clock: ...
            """,
            "app/hidden.py": """
                from svcs_di.injectors import injectable


                @injectable
                class Hidden: ...
            """,
            "app/main.py": """
                import svcs
                from svcs_di.injectors import HopscotchRegistry, scan

                from app.factories import make_cache

                registry = HopscotchRegistry()
                scan(registry, "app.scanned")
                registry.register_factory(dict, make_cache)
            """,
            "app/extra.py": """
                from app.main import registry

                registry.register_value(str, "weak but counted")
            """,
        },
    )
    summary = sorted((r.service_qualified, r.provider, r.is_async, r.file) for r in found)
    assert summary == [
        ("app.scanned.clock.Clock", "injectable", False, "app/scanned/clock.py"),
        ("builtins.dict", "factory", True, "app/main.py"),
        ("builtins.str", "value", False, "app/extra.py"),
    ]


def test_registration_index_is_computed_once_per_index(tmp_path: Path) -> None:
    """The project-wide index is memoised on the `ProjectIndex`."""
    (tmp_path / "svc.py").write_text(
        "import svcs\nregistry = svcs.Registry()\nregistry.register_value(int, 1)\n"
    )
    index, _ = build_index(ToolContext.for_root(tmp_path))
    first = registration_index(index)
    assert registration_index(index) is first
    assert [r.service_type for r in first] == ["int"]


def test_import_families_tell_the_hopscotch_generations_apart() -> None:
    """`svcs_di.injectors`, `svcs_hopscotch` and legacy `hopscotch` are distinct; core svcs-di is neutral."""
    assert import_family("svcs_di.injectors.decorators") == "svcs_di.injectors"
    assert import_family("svcs_di", ["HopscotchRegistry"]) == "svcs_di.injectors"
    assert import_family("svcs_di", ["Inject", "auto"]) is None
    assert import_family("svcs_hopscotch.injectors") == "svcs_hopscotch"
    assert import_family("hopscotch") == "hopscotch"
    assert import_family("svcs") is None
