"""LC001–LC012: each rule fires on a violation, stays quiet on correct code; A rules fix to golden text."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import punie_lsp.domain
from punie_lsp.domain import RULES
from punie_lsp.domain.lifecycle import module_lifecycles
from punie_lsp.domain.validate import apply_fixes, build_index, validate_sync
from punie_lsp.tools.context import ToolContext

assert punie_lsp.domain  # importing the package registers every rule family


def dedent(text: str) -> str:
    """The text as written in the test (dedented, without the leading newline)."""
    return textwrap.dedent(text).lstrip("\n")


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")


def findings(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    """Write `files` under `root` and return the LC findings as (rule, file, line)."""
    _write(root, files)
    result = validate_sync(ToolContext.for_root(root), families=["LC"])
    assert result.tool_error is None
    return {(i.rule, i.file, i.line) for i in result.issues}


def fixed(root: Path, files: dict[str, str], target: str, rule: str) -> str:
    """Write `files`, apply `rule`'s fix to `target`, check nothing of `rule` remains, return the new text."""
    _write(root, files)
    ctx = ToolContext.for_root(root)
    apply_fixes(ctx, [target], rule_ids=[rule])
    remaining = validate_sync(ctx, families=["LC"]).issues
    assert not [i for i in remaining if i.rule == rule and i.file == target], remaining
    return (root / target).read_text(encoding="utf-8")


def test_all_twelve_rules_are_registered_with_docs() -> None:
    """LC001–LC012 exist with documentation and a fixer exactly for the rules marked A."""
    ids = sorted(r for r in RULES if r.startswith("LC"))
    assert ids == [f"LC{n:03}" for n in range(1, 13)]
    for rule_id in ids:
        found = RULES[rule_id]
        assert found.why and found.bad.strip() and found.good.strip() and found.static_note
        assert (found.fixer is not None) == (found.fix == "A"), rule_id
        assert found.validator == "check_state_transitions"


def test_unrelated_module_is_skipped(tmp_path: Path) -> None:
    """A module that never mentions the ecosystem yields nothing and no lifecycles."""
    assert findings(tmp_path, {"plain.py": "def f(x):\n    return x.close()\n"}) == set()
    index, _ = build_index(ToolContext.for_root(tmp_path))
    assert module_lifecycles(index.modules["plain.py"], index) == []


# ---------------------------------------------------------------------------------------------------
# LC001
# ---------------------------------------------------------------------------------------------------

LC001_BAD = """
import svcs

registry = svcs.Registry()


def never_closed(request):
    container = svcs.Container(registry)
    db = container.get(Database)
    return db.fetch(request.user_id)


def closed_on_success_only(request):
    container = svcs.Container(registry)
    db = container.get(Database)
    rows = db.fetch(request.user_id)
    container.close()
    return rows


def inline(request):
    return svcs.Container(registry).get(Database)


def passed_to_a_helper(request):
    container = svcs.Container(registry)
    return render(container, request)
"""


def test_lc001_reports_unclosed_containers(tmp_path: Path) -> None:
    """Never closed, closed outside `finally`, inline, and passed to a helper are all reported."""
    assert findings(tmp_path, {"app.py": LC001_BAD}) == {
        ("LC001", "app.py", 7),
        ("LC001", "app.py", 13),
        ("LC001", "app.py", 21),
        ("LC001", "app.py", 25),
    }


def test_lc001_quiet_when_closed_or_handed_over(tmp_path: Path) -> None:
    """with/async with, finally, returned, stored, ExitStack, a closure and pytest fixtures are fine."""
    source = """
    import contextlib

    import pytest
    import svcs
    from svcs import Container as C

    registry = svcs.Registry()


    def with_block(request):
        with svcs.Container(registry) as container:
            return container.get(Database)


    async def async_with_block(request):
        async with C(registry) as container:
            return await container.aget(Database)


    def in_finally(request):
        container = svcs.Container(registry)
        try:
            return container.get(Database)
        finally:
            container.close()


    def factory():
        container = svcs.Container(registry)
        return container


    def stored(request):
        container = svcs.Container(registry)
        request.state.container = container


    def exit_stack(stack):
        container = stack.enter_context(svcs.Container(registry))
        other = svcs.Container(registry)
        stack.callback(other.close)
        return container.get(Database), other


    def closure(app):
        container = svcs.Container(registry)

        def shutdown():
            container.close()

        app.on_shutdown(shutdown)


    def entered_later():
        container = svcs.Container(registry)
        with container:
            container.get(Database)


    @pytest.fixture
    def container_fixture():
        container = svcs.Container(registry)
        yield container
        container.close()


    def test_closes_at_the_end():
        container = svcs.Container(registry)
        assert container.get(Database)
        container.close()


    def not_svcs(path):
        f = open(path)
        return f.read()
    """
    assert findings(tmp_path, {"app.py": source}) == set()


def test_lc001_fix_wraps_the_rest_of_the_block(tmp_path: Path) -> None:
    """The fix turns the assignment into `with` (`async with` in async def) and drops the redundant close."""
    source = """
    import svcs

    registry = svcs.Registry()


    def never_closed(request):
        # the request's container
        container = svcs.Container(registry)  # per request
        db = container.get(Database)
        return db.fetch(request.user_id)


    async def closed_on_success_only(request):
        container = svcs.Container(registry)
        db = await container.aget(Database)
        rows = await db.fetch(request.user_id)
        await container.aclose()
        return rows
    """
    assert fixed(tmp_path, {"app.py": source}, "app.py", "LC001") == dedent("""
    import svcs

    registry = svcs.Registry()


    def never_closed(request):
        # the request's container
        with svcs.Container(registry) as container:  # per request
            db = container.get(Database)
            return db.fetch(request.user_id)


    async def closed_on_success_only(request):
        async with svcs.Container(registry) as container:
            db = await container.aget(Database)
            rows = await db.fetch(request.user_id)
            return rows
    """)


def test_lc001_fix_leaves_containers_used_outside_the_block(tmp_path: Path) -> None:
    """When the container is used after the enclosing block, the fixer changes nothing (suggestion only)."""
    source = """
    import svcs


    def handler(request, flag):
        if flag:
            container = svcs.Container(registry)
            container.get(Database)
        return container.get(Users)
    """
    _write(tmp_path, {"app.py": source})
    outcome = apply_fixes(ToolContext.for_root(tmp_path), ["app.py"], rule_ids=["LC001"])
    assert outcome.changed == {}
    assert findings(tmp_path, {}) == {("LC001", "app.py", 6)}


# ---------------------------------------------------------------------------------------------------
# LC002
# ---------------------------------------------------------------------------------------------------

LC002_SOURCE = """
import svcs

registry = svcs.Registry()


async def sync_with(request):
    with svcs.Container(registry) as container:
        return await container.aget(AsyncDatabase)


async def sync_close(request):
    container = svcs.Container(registry)
    try:
        return await container.aget(AsyncDatabase)
    finally:
        container.close()


async def fine(request):
    async with svcs.Container(registry) as container:
        return await container.aget(AsyncDatabase)


async def no_async_services(request):
    with svcs.Container(registry) as container:
        return container.get(Settings)


def sync_code(request):
    with svcs.Container(registry) as container:
        return container.get(Settings)
"""


def test_lc002_reports_sync_cleanup_of_async_services(tmp_path: Path) -> None:
    """Sync `with` / `close()` in async code resolving async services are reported; the rest is quiet."""
    assert findings(tmp_path, {"app.py": LC002_SOURCE}) == {("LC002", "app.py", 7), ("LC002", "app.py", 16)}


def test_lc002_project_async_factory_is_evidence(tmp_path: Path) -> None:
    """An async generator factory registered anywhere makes every sync `with` in async def suspect."""
    files = {
        "services.py": """
        import svcs

        registry = svcs.Registry()


        async def connect():
            conn = await open_connection()
            yield conn
            await conn.close()


        registry.register_factory(Connection, connect)
        """,
        "views.py": """
        import svcs
        from services import registry


        async def page(request):
            with svcs.Container(registry) as container:
                return await render(container)
        """,
    }
    assert findings(tmp_path, files) == {("LC002", "views.py", 6)}


def test_lc002_registry_with_async_close_callbacks(tmp_path: Path) -> None:
    """A registry whose `on_registry_close` callback is async must be closed with `aclose()`."""
    source = """
    import svcs

    registry = svcs.Registry()


    async def dispose():
        await engine.dispose()


    registry.register_value(Engine, engine, on_registry_close=dispose)


    async def lifespan(app):
        yield
        registry.close()
    """
    assert findings(tmp_path, {"app.py": source}) == {("LC002", "app.py", 15)}
    assert fixed(tmp_path, {"app.py": source}, "app.py", "LC002").endswith(
        "    yield\n    await registry.aclose()\n"
    )


def test_lc002_fix_makes_cleanup_async(tmp_path: Path) -> None:
    """The fix rewrites `with` to `async with` and `close()` to `await aclose()`."""
    assert fixed(tmp_path, {"app.py": LC002_SOURCE}, "app.py", "LC002") == dedent("""
    import svcs

    registry = svcs.Registry()


    async def sync_with(request):
        async with svcs.Container(registry) as container:
            return await container.aget(AsyncDatabase)


    async def sync_close(request):
        container = svcs.Container(registry)
        try:
            return await container.aget(AsyncDatabase)
        finally:
            await container.aclose()


    async def fine(request):
        async with svcs.Container(registry) as container:
            return await container.aget(AsyncDatabase)


    async def no_async_services(request):
        with svcs.Container(registry) as container:
            return container.get(Settings)


    def sync_code(request):
        with svcs.Container(registry) as container:
            return container.get(Settings)
    """)


# ---------------------------------------------------------------------------------------------------
# LC003
# ---------------------------------------------------------------------------------------------------

SERVICES = """
from dataclasses import dataclass

from svcs_di import Inject


class Request: ...


class Database: ...


class Settings: ...


@dataclass
class Users:
    request: Inject[Request]
    db: Inject[Database]


@dataclass
class Greeter:
    settings: Inject[Settings]
"""


def test_lc003_reports_locals_registered_after_a_dependent_resolution(tmp_path: Path) -> None:
    """A local value the earlier `get` (or a render) may depend on is reported at the late registration."""
    files = {
        "services.py": SERVICES,
        "views.py": """
        import svcs
        from tdom_svcs import html

        from services import Database, Request, Users


        def handler(request, registry):
            with svcs.Container(registry) as container:
                users = container.get(Users)
                container.register_local_value(Request, request)
                return users


        def render_then_register(request, registry, page):
            with svcs.Container(registry) as container:
                body = html(page, container=container)
                container.register_local_value(Database, make_db())
                return body


        def param(svcs_container, request):
            svcs_container.get(Users)
            svcs_container.register_local_value(Request, request)
        """,
    }
    assert findings(tmp_path, files) == {
        ("LC003", "views.py", 10),
        ("LC003", "views.py", 17),
        ("LC003", "views.py", 23),
    }


def test_lc003_quiet_when_order_is_right_or_independent(tmp_path: Path) -> None:
    """Locals first, unrelated types, and resolutions only in a branch are not reported."""
    files = {
        "services.py": SERVICES,
        "views.py": """
        import svcs

        from services import Greeter, Request, Users


        def handler(request, registry):
            with svcs.Container(registry) as container:
                container.register_local_value(Request, request)
                return container.get(Users)


        def unrelated(request, registry):
            with svcs.Container(registry) as container:
                greeter = container.get(Greeter)
                container.register_local_value(Request, request)
                return greeter


        def branch(request, registry, preview):
            with svcs.Container(registry) as container:
                if preview:
                    container.get(Users)
                container.register_local_value(Request, request)
                return container.get(Users)


        def reset(request, registry):
            with svcs.Container(registry) as container:
                container.get(Users)
                container.close()
                container.register_local_value(Request, request)
                first = container.get(Users)
                container.register_local_value(Request, request)
                container.close()
                return first, container.get(Users)
        """,
    }
    assert findings(tmp_path, files) == set()


def test_lc003_fix_moves_the_registration_up(tmp_path: Path) -> None:
    """The registration moves before the first dependent resolution; one computed in between stays put."""
    files = {
        "services.py": SERVICES,
        "views.py": """
        import svcs

        from services import Database, Request, Users


        def handler(request, registry):
            with svcs.Container(registry) as container:
                settings = load_settings()
                users = container.get(Users)
                # the current request
                container.register_local_value(Request, request)
                return users
        """,
    }
    assert fixed(tmp_path, files, "views.py", "LC003") == dedent("""
    import svcs

    from services import Database, Request, Users


    def handler(request, registry):
        with svcs.Container(registry) as container:
            settings = load_settings()
            # the current request
            container.register_local_value(Request, request)
            users = container.get(Users)
            return users
    """)


def test_lc003_fix_keeps_registrations_that_need_later_values(tmp_path: Path) -> None:
    """A registration whose value is computed after the resolution is not moved (it stays reported)."""
    files = {
        "services.py": SERVICES,
        "views.py": """
        import svcs

        from services import Database, Request, Users


        def handler(request, registry):
            with svcs.Container(registry) as container:
                db = container.get(Users)
                container.register_local_value(Request, db.wrap(request))
        """,
    }
    _write(tmp_path, files)
    outcome = apply_fixes(ToolContext.for_root(tmp_path), ["views.py"], rule_ids=["LC003"])
    assert outcome.changed == {}
    assert findings(tmp_path, {}) == {("LC003", "views.py", 9)}


# ---------------------------------------------------------------------------------------------------
# LC004
# ---------------------------------------------------------------------------------------------------

LC004_SOURCE = """
import svcs

registry = svcs.Registry()


def before_with(request):
    registry.register_value(Request, request)
    with svcs.Container(registry) as container:
        return container.get(View).render()


def inside_with(request):
    with svcs.Container(registry) as container:
        user = load_user(request.session)
        registry.register_value(User, user)
        return container.get(View).render()


@app.get("/items")
def route(q: str):
    registry.register_factory(Request, lambda: current())
    return q
"""


def test_lc004_reports_request_data_in_the_registry(tmp_path: Path) -> None:
    """The request, data derived from it, and Request keys put on a registry in handlers are reported."""
    assert findings(tmp_path, {"app.py": LC004_SOURCE}) == {
        ("LC004", "app.py", 7),
        ("LC004", "app.py", 15),
        ("LC004", "app.py", 21),
    }


def test_lc004_quiet_at_startup_and_in_tests(tmp_path: Path) -> None:
    """Start-up registrations, tests with a `request` fixture, and app-wide values in handlers are fine."""
    files = {
        "app.py": """
        import svcs


        def create_app(settings):
            registry = svcs.Registry()
            registry.register_value(Settings, settings)
            return registry


        def handler(request, registry):
            registry.register_value(Clock, Clock())
            with svcs.Container(registry) as container:
                container.register_local_value(Request, request)
                return container.get(View)
        """,
        "tests/test_app.py": """
        import svcs


        def test_something(request):
            registry = svcs.Registry()
            registry.register_value(Request, request)
        """,
    }
    assert findings(tmp_path, files) == set()


def test_lc004_fix_registers_on_the_container(tmp_path: Path) -> None:
    """The registration moves into the next `with` block or is renamed in place; no container, no fix."""
    _write(tmp_path, {"app.py": LC004_SOURCE})
    apply_fixes(ToolContext.for_root(tmp_path), ["app.py"], rule_ids=["LC004"])
    assert findings(tmp_path, {}) == {("LC004", "app.py", 21)}
    assert (tmp_path / "app.py").read_text() == dedent("""
    import svcs

    registry = svcs.Registry()


    def before_with(request):
        with svcs.Container(registry) as container:
            container.register_local_value(Request, request)
            return container.get(View).render()


    def inside_with(request):
        with svcs.Container(registry) as container:
            user = load_user(request.session)
            container.register_local_value(User, user)
            return container.get(View).render()


    @app.get("/items")
    def route(q: str):
        registry.register_factory(Request, lambda: current())
        return q
    """)


# ---------------------------------------------------------------------------------------------------
# LC005
# ---------------------------------------------------------------------------------------------------


def test_lc005_reports_registries_per_request(tmp_path: Path) -> None:
    """A registry or scan in a handler, and a registry per loop iteration with containers, are reported."""
    source = """
    import svcs
    from svcs_hopscotch.injectors import HopscotchRegistry, scan


    def handler(request):
        registry = HopscotchRegistry()
        scan(registry, "app.components")
        with svcs.Container(registry) as container:
            return container.get(View)


    def batch(jobs):
        for job in jobs:
            registry = svcs.Registry()
            with svcs.Container(registry) as container:
                container.get(Worker).run(job)
    """
    assert findings(tmp_path, {"app.py": source}) == {
        ("LC005", "app.py", 6),
        ("LC005", "app.py", 7),
        ("LC005", "app.py", 14),
    }


def test_lc005_quiet_for_startup_registries(tmp_path: Path) -> None:
    """Module-level and app-factory registries, scans at start-up and test registries are fine."""
    files = {
        "app.py": """
        import svcs
        from svcs_hopscotch.injectors import HopscotchRegistry, scan

        registry = HopscotchRegistry()
        scan(registry, "app.components")


        def create_app():
            registries = []
            for site in ("en", "fr"):
                registries.append(svcs.Registry())
            return registries
        """,
        "tests/test_app.py": """
        import svcs


        def test_view(request):
            registry = svcs.Registry()
        """,
    }
    assert findings(tmp_path, files) == set()


# ---------------------------------------------------------------------------------------------------
# LC006
# ---------------------------------------------------------------------------------------------------


def test_lc006_reports_long_lived_containers(tmp_path: Path) -> None:
    """Module, class body, parameter default, global and cached-function containers are reported."""
    source = """
    import functools

    import svcs

    registry = svcs.Registry()
    container = svcs.Container(registry)


    class Views:
        container = svcs.Container(registry)


    def handler(request, container=svcs.Container(registry)):
        return container.get(View)


    def setup():
        global shared
        shared = svcs.Container(registry)


    @functools.cache
    def get_container():
        return svcs.Container(registry)
    """
    assert findings(tmp_path, {"app.py": source}) == {
        ("LC006", "app.py", 6),
        ("LC006", "app.py", 10),
        ("LC006", "app.py", 13),
        ("LC006", "app.py", 19),
        ("LC006", "app.py", 24),
    }


def test_lc006_quiet_for_scripts_and_requests(tmp_path: Path) -> None:
    """A `__main__` block, a module-level `with` and per-request containers are fine."""
    source = """
    import svcs

    registry = svcs.Registry()

    with svcs.Container(registry) as container:
        container.get(Migrations).run()


    def handler(request):
        with svcs.Container(registry) as container:
            return container.get(View)


    if __name__ == "__main__":
        container = svcs.Container(registry)
        container.get(Cli).main()
        container.close()
    """
    assert findings(tmp_path, {"app.py": source}) == set()


# ---------------------------------------------------------------------------------------------------
# LC007
# ---------------------------------------------------------------------------------------------------


def test_lc007_reports_registries_never_closed(tmp_path: Path) -> None:
    """A registry with `on_registry_close` callbacks that nothing closes is reported at its creation."""
    source = """
    import svcs

    registry = svcs.Registry()
    registry.register_value(Engine, engine, on_registry_close=engine.dispose)


    def build():
        local = svcs.Registry()
        local.register_factory(Client, make_client, on_registry_close=close_clients)
        with svcs.Container(local) as container:
            container.get(Client).ping()
    """
    assert findings(tmp_path, {"app.py": source}) == {("LC007", "app.py", 3), ("LC007", "app.py", 8)}


def test_lc007_quiet_when_closed_somewhere(tmp_path: Path) -> None:
    """Closed in another module's lifespan, created with `with`, or returned to the caller: all fine."""
    files = {
        "services.py": """
        import svcs

        registry = svcs.Registry()
        registry.register_value(Engine, engine, on_registry_close=engine.dispose)


        def make_registry():
            other = svcs.Registry()
            other.register_value(Engine, engine, on_registry_close=engine.dispose)
            return other


        def script():
            with svcs.Registry() as scoped:
                scoped.register_value(Engine, engine, on_registry_close=engine.dispose)
        """,
        "main.py": """
        import contextlib

        from services import registry


        @contextlib.asynccontextmanager
        async def lifespan(app):
            yield
            await registry.aclose()
        """,
    }
    assert findings(tmp_path, files) == set()


# ---------------------------------------------------------------------------------------------------
# LC008
# ---------------------------------------------------------------------------------------------------

LC008_TEST = """
import svcs

from services import Database, FakeDatabase, Users


def test_fake_db(registry, container):
    assert container.get(Users)
    registry.register_value(Database, FakeDatabase())
    assert isinstance(container.get(Users).db, FakeDatabase)


async def test_async(registry: svcs.Registry, container: svcs.Container):
    await container.aget(Database)
    registry.register_value(Database, FakeDatabase())
    assert await container.aget(Database)


def test_closed(registry, container):
    container.get(Database)
    registry.register_value(Database, FakeDatabase())
    container.close()
    assert container.get(Database)


def test_unrelated(registry, container):
    container.get(Users)
    registry.register_value(Settings, Settings())
    assert container.get(Users)
"""

LC008_SERVICES = """
from dataclasses import dataclass

from svcs_di import Inject


@dataclass
class Users:
    db: Inject[Database]
"""


def test_lc008_reports_overrides_of_cached_services(tmp_path: Path) -> None:
    """Overriding a cached service (or one it depends on) before resolving again is reported in tests."""
    files = {"services.py": LC008_SERVICES, "tests/test_views.py": LC008_TEST}
    assert findings(tmp_path, files) == {
        ("LC008", "tests/test_views.py", 8),
        ("LC008", "tests/test_views.py", 14),
    }


def test_lc008_not_applied_outside_tests(tmp_path: Path) -> None:
    """The same sequence in application code is not a test override and is not reported."""
    source = """
    def reload(registry, svcs_container):
        svcs_container.get(Database)
        registry.register_value(Database, Database())
        svcs_container.get(Database)
    """
    assert findings(tmp_path, {"app.py": source}) == set()


def test_lc008_fix_closes_after_the_override(tmp_path: Path) -> None:
    """The fix inserts `container.close()` (or `await container.aclose()`) right after the override."""
    files = {"services.py": LC008_SERVICES, "tests/test_views.py": LC008_TEST}
    result = fixed(tmp_path, files, "tests/test_views.py", "LC008")
    assert result == dedent("""
    import svcs

    from services import Database, FakeDatabase, Users


    def test_fake_db(registry, container):
        assert container.get(Users)
        registry.register_value(Database, FakeDatabase())
        container.close()
        assert isinstance(container.get(Users).db, FakeDatabase)


    async def test_async(registry: svcs.Registry, container: svcs.Container):
        await container.aget(Database)
        registry.register_value(Database, FakeDatabase())
        await container.aclose()
        assert await container.aget(Database)


    def test_closed(registry, container):
        container.get(Database)
        registry.register_value(Database, FakeDatabase())
        container.close()
        assert container.get(Database)


    def test_unrelated(registry, container):
        container.get(Users)
        registry.register_value(Settings, Settings())
        assert container.get(Users)
    """)


# ---------------------------------------------------------------------------------------------------
# LC009
# ---------------------------------------------------------------------------------------------------

LC009_SOURCE = """
from pathlib import PurePath

from svcs_hopscotch.injectors import HopscotchContainer


def french(registry, customer):
    with HopscotchContainer(registry) as container:
        container.location = PurePath("/fr")
        container.resource = customer
        return container.inject(Greeting)


def assigned(registry):
    container = HopscotchContainer(registry, resource=Employee())
    try:
        setattr(container, "location", PurePath("/admin"))
        return container.inject(Greeting)
    finally:
        container.close()


def fine(registry, customer):
    with HopscotchContainer(registry, resource=customer, location=PurePath("/fr")) as container:
        container.note = "not a lifecycle attribute"
        return container.inject(Greeting)


def assigned_attribute(registry, region):
    container = HopscotchContainer(registry)
    container.location = PurePath(region)
    try:
        return container.inject(Greeting)
    finally:
        container.close()


def computed_after(registry):
    with HopscotchContainer(registry) as container:
        region = container.inject(Region)
        container.location = PurePath(region.path)
        return container.inject(Greeting)
"""


def test_lc009_reports_late_resource_and_location(tmp_path: Path) -> None:
    """Setting `resource` / `location` after construction is reported; other attributes are not."""
    assert findings(tmp_path, {"app.py": LC009_SOURCE}) == {
        ("LC009", "app.py", 8),
        ("LC009", "app.py", 9),
        ("LC009", "app.py", 16),
        ("LC009", "app.py", 30),
        ("LC009", "app.py", 40),
    }


def test_lc009_fix_moves_values_into_the_constructor(tmp_path: Path) -> None:
    """Assignments become constructor keywords; `setattr` and values computed later stay suggestions."""
    _write(tmp_path, {"app.py": LC009_SOURCE})
    apply_fixes(ToolContext.for_root(tmp_path), ["app.py"], rule_ids=["LC009"])
    assert (tmp_path / "app.py").read_text() == dedent("""
    from pathlib import PurePath

    from svcs_hopscotch.injectors import HopscotchContainer


    def french(registry, customer):
        with HopscotchContainer(registry, location=PurePath("/fr"), resource=customer) as container:
            return container.inject(Greeting)


    def assigned(registry):
        container = HopscotchContainer(registry, resource=Employee())
        try:
            setattr(container, "location", PurePath("/admin"))
            return container.inject(Greeting)
        finally:
            container.close()


    def fine(registry, customer):
        with HopscotchContainer(registry, resource=customer, location=PurePath("/fr")) as container:
            container.note = "not a lifecycle attribute"
            return container.inject(Greeting)


    def assigned_attribute(registry, region):
        container = HopscotchContainer(registry, location=PurePath(region))
        try:
            return container.inject(Greeting)
        finally:
            container.close()


    def computed_after(registry):
        with HopscotchContainer(registry) as container:
            region = container.inject(Region)
            container.location = PurePath(region.path)
            return container.inject(Greeting)
    """)
    assert findings(tmp_path, {}) == {("LC009", "app.py", 14), ("LC009", "app.py", 37)}


# ---------------------------------------------------------------------------------------------------
# LC010
# ---------------------------------------------------------------------------------------------------


def test_lc010_reports_context_managers_registered_as_values(tmp_path: Path) -> None:
    """`.connect()`, known clients and project context managers are reported; `enter=True` is not."""
    files = {
        "resources.py": """
        import contextlib


        @contextlib.contextmanager
        def session():
            yield Session()


        class Pool:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.close()
        """,
        "app.py": """
        import httpx
        import svcs

        from resources import Pool, session

        registry = svcs.Registry()
        registry.register_value(Connection, engine.connect())
        registry.register_value(httpx.Client, httpx.Client())
        registry.register_value(Session, session())
        registry.register_value(Pool, Pool())
        registry.register_value(Pool, Pool(), enter=True)
        registry.register_value(Engine, create_engine(URL))
        registry.register_value(Settings, Settings())


        def connection():
            with engine.connect() as conn:
                yield conn


        registry.register_factory(Connection, connection)
        """,
    }
    assert findings(tmp_path, files) == {
        ("LC010", "app.py", 7),
        ("LC010", "app.py", 8),
        ("LC010", "app.py", 9),
        ("LC010", "app.py", 10),
    }


# ---------------------------------------------------------------------------------------------------
# LC011
# ---------------------------------------------------------------------------------------------------

PROVIDERS = """
from contextvars import ContextVar
from string.templatelib import Template

from tdom import Scope, ScopedTemplate

theme: ContextVar[str] = ContextVar("theme", default="auto")


def ThemeProvider(children: Template, value: str) -> ScopedTemplate:
    return ScopedTemplate(Scope(theme, value), children)
"""


def test_lc011_reports_inline_reads_between_provider_tags(tmp_path: Path) -> None:
    """`{theme.get()}` among a provider's children, or inside its own ScopedTemplate, is reported."""
    files = {
        "components/theme.py": PROVIDERS,
        "components/page.py": """
        from tdom import Scope, ScopedTemplate, html

        from components.theme import ThemeProvider, theme


        def Page() -> Template:
            return t'''
                <{ThemeProvider} value="dark">
                    <p class={theme.get()}>{theme.get()}</p>
                </{ThemeProvider}>
            '''


        def Bundled() -> ScopedTemplate:
            return ScopedTemplate(Scope(theme, "dark"), t"<div>{theme.get()}</div>")
        """,
    }
    assert findings(tmp_path, files) == {
        ("LC011", "components/page.py", 9),
        ("LC011", "components/page.py", 15),
    }


def test_lc011_quiet_for_component_bodies(tmp_path: Path) -> None:
    """Reads in a child component's body, outside the provider, or in the provider's attributes are fine."""
    files = {
        "components/theme.py": PROVIDERS,
        "components/page.py": """
        from components.theme import ThemeProvider, theme


        def ThemedText() -> Template:
            return t"<p>{theme.get()}</p>"


        def Page() -> Template:
            return t'''
                <div data-theme={theme.get()}>
                    <{ThemeProvider} value={theme.get()}><{ThemedText} /></{ThemeProvider}>
                    <span>{theme.get()}</span>
                </div>
            '''
        """,
    }
    assert findings(tmp_path, files) == set()


# ---------------------------------------------------------------------------------------------------
# LC012
# ---------------------------------------------------------------------------------------------------


def test_lc012_reports_props_used_after_a_halt(tmp_path: Path) -> None:
    """A `None` branch that falls through, a missing else, and a discarded result are reported."""
    source = """
    from tdom_svcs.middleware import execute_middleware, execute_target_middleware


    def falls_through(container, props):
        result = execute_middleware(Page, props, container)
        if result is None:
            logger.info("halted")
        return render(Page, **result)


    def missing_else(container, props):
        result = execute_target_middleware(Page, props, container, phase="rendering")
        if result is not None:
            result["checked"] = True
        return render(Page, **result)


    def discarded(container, props):
        execute_middleware(Page, props, container)
        return render(Page, **props)


    def inline_check(container, props):
        if execute_middleware(Page, props, container) is None:
            logger.warning("halted")
        props["seen"] = True
        return props
    """
    assert findings(tmp_path, {"app.py": source}) == {
        ("LC012", "app.py", 8),
        ("LC012", "app.py", 15),
        ("LC012", "app.py", 20),
        ("LC012", "app.py", 26),
    }


def test_lc012_quiet_when_the_halt_stops_the_flow(tmp_path: Path) -> None:
    """Returning, raising, falling back to a new value, and the walrus form are all fine."""
    source = """
    from tdom_svcs.middleware import execute_middleware


    def returns(container, props):
        props = execute_middleware(Page, props, container)
        if props is None:
            return forbidden()
        return render(Page, **props)


    def fallback(container, props):
        result = execute_middleware(Page, props, container)
        if result is None:
            result = {}
        return render(Page, **result)


    def walrus(container, props):
        if (result := execute_middleware(Page, props, container)) is not None:
            return render(Page, **result)
        return forbidden()


    def nested_exit(container, props, strict):
        result = execute_middleware(Page, props, container)
        if not result:
            if strict:
                raise PermissionError(Page)
            else:
                return forbidden()
        return render(Page, **result)


    def not_middleware(container, props):
        props = run(Page, props)
        if props is None:
            log("nothing")
        return props["x"]
    """
    assert findings(tmp_path, {"app.py": source}) == set()


# ---------------------------------------------------------------------------------------------------
# The inspect model and speed
# ---------------------------------------------------------------------------------------------------


def test_module_lifecycles_describe_each_object(tmp_path: Path) -> None:
    """`module_lifecycles` lists registries and containers with their management and ordered events."""
    _write(
        tmp_path,
        {
            "app.py": """
            import svcs

            registry = svcs.Registry()
            registry.register_value(Settings, Settings())


            def handler(request):
                container = svcs.Container(registry)
                container.register_local_value(Request, request)
                try:
                    return container.get(View)
                finally:
                    container.close()
            """
        },
    )
    index, _ = build_index(ToolContext.for_root(tmp_path))
    lifecycles = module_lifecycles(index.modules["app.py"], index)
    assert [(lc.kind, lc.name, lc.scope, lc.management) for lc in lifecycles] == [
        ("registry", "registry", "<module>", "unclosed"),
        ("container", "container", "handler", "finally"),
    ]
    events = [(e.kind, e.line, e.always) for e in lifecycles[1].events]
    assert events == [
        ("created", 8, True),
        ("local_registered", 9, True),
        ("resolved", 11, True),
        ("closed", 13, False),
    ]
    assert lifecycles[0].cls == "svcs.Registry"


def test_thousand_line_module_is_checked_quickly(tmp_path: Path) -> None:
    """All LC rules on a generated 1,000-line module finish well within a second."""
    chunk = """
def handler_{n}(request):
    with svcs.Container(registry) as container:
        container.register_local_value(Request, request)
        users = container.get(Users)
        if users:
            for user in users:
                print(user.name, t"<p>{{user}}</p>")
        return users

"""
    body = "import svcs\n\nregistry = svcs.Registry()\n" + "".join(chunk.format(n=n) for n in range(100))
    assert body.count("\n") >= 1000
    (tmp_path / "big.py").write_text(body)
    index, _ = build_index(ToolContext.for_root(tmp_path))
    module = index.modules["big.py"]
    module.qualified_names(module.module)  # metadata is shared with the other families: not timed
    lc_rules = [r for r in RULES.values() if r.family == "LC"]
    started = time.perf_counter()
    issues = [issue for r in lc_rules for issue in r.checker(module, index)]
    elapsed = time.perf_counter() - started
    assert issues == []
    assert elapsed < 1.0, elapsed
