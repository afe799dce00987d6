"""The recipes of the seed set: quality triad, files, git, domain validators, fields, plain answers, fixes.

Every answer function reads the real outcome of its block. The fixtures named here are the *training*
fixtures; the evaluation uses other ones (`evaluate.EVAL_FIXTURES`), and a test keeps them apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from punie_lsp.flywheel._workspace import FixtureCopy, python_files
from punie_lsp.flywheel.recipes import Answer, Outcome, Recipe, as_dict, as_int, as_list, bullets, count

__all__ = ("DOMAIN_SEED_FIXTURES", "MAIN_FIXTURES", "SEED_FIXTURES", "seed_recipes")

MAIN_FIXTURES = ("webapp", "webapp_planted", "sandbox_project")
"""The small web projects."""

DOMAIN_SEED_FIXTURES = tuple(
    f"domain/{name}"
    for name in (
        "lc_app_lifetime",
        "lc_hopscotch_ok",
        "lc_leaky_handlers",
        "mw_app_ok",
        "mw_chain_bugs",
        "mw_fixable",
        "svc_hopscotch_site_bugs",
        "svc_registration_bugs",
        "svc_svcs_app_ok",
        "tdom_class_components_ok",
        "tdom_markup_reports",
        "tdom_node_api_on_current",
        "tdom_render_fixes",
        "tdom_svcs_di_bugs",
        "tdom_tag_fixes",
    )
)
"""Domain cases used for training (the others are held out for the evaluation)."""

SEED_FIXTURES = MAIN_FIXTURES + DOMAIN_SEED_FIXTURES
"""Every fixture the seed set uses."""

ALL = SEED_FIXTURES
WITH_TESTS = ("webapp", "webapp_planted", "domain/lc_leaky_handlers")
FIXABLE_DOMAIN = tuple(
    f"domain/{name}"
    for name in (
        "mw_fixable",
        "tdom_tag_fixes",
        "tdom_render_fixes",
        "svc_hopscotch_site_bugs",
        "tdom_svcs_di_bugs",
    )
)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


# -- quality -------------------------------------------------------------------------------------------------

RUFF_CODE = """\
r = ruff_check(".")
found = [[v.code, v.file, v.line, v.message] for v in r.violations]
{"count": r.violation_count, "fixable": r.fixable_count, "violations": found}"""


def _ruff_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    total, fixable = int(value["count"]), int(value["fixable"])
    if total == 0:
        return "ruff reports no violations: the project is lint-clean."
    items = [f"{code} in {file} line {line}: {message}" for code, file, line, message in value["violations"]]
    fix = (
        f"{fixable} of them can be fixed automatically with `ruff_fix`."
        if fixable
        else "None of them has a safe automatic fix."
    )
    return f"ruff found {count(total, 'violation')}:\n{bullets(items)}\n\n{fix}"


def _ruff_count_answer(outcome: Outcome) -> str:
    total = as_int(outcome.value)
    if total == 0:
        return "There are no ruff violations."
    return f"There {'is' if total == 1 else 'are'} {count(total, 'ruff violation')}."


TYPECHECK_CODE = """\
r = typecheck(".")
details = [[e.file, e.line, e.code, e.message] for e in r.errors]
{"errors": r.error_count, "warnings": r.warning_count, "details": details}"""


def _typecheck_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    errors, warnings = int(value["errors"]), int(value["warnings"])
    tail = f" ty also reports {count(warnings, 'warning')}." if warnings else ""
    if errors == 0:
        return f"ty finds no type errors.{tail}"
    items = [f"{file} line {line} [{code}]: {message}" for file, line, code, message in value["details"]]
    return (
        f"ty reports {count(errors, 'type error')}:\n{bullets(items)}{chr(10) + tail.strip() if tail else ''}"
    )


TYPECHECK_FILES_CODE = """\
r = typecheck(".")
sorted({e.file for e in r.errors})"""


def _typecheck_files_answer(outcome: Outcome) -> str:
    files = [str(f) for f in as_list(outcome.value)]
    if not files:
        return "No file has type errors."
    if len(files) == 1:
        return f"Only {files[0]} has type errors."
    return f"Type errors are in {', '.join(files[:-1])} and {files[-1]}."


PYTEST_CODE = """\
r = pytest_run(".")
failing = [[t.node_id, (t.message or "").split("\\n")[0]] for t in r.tests if t.outcome != "passed"]
{"passed": r.passed, "failed": r.failed, "errors": r.errors, "failing": failing}"""


def _pytest_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    passed, failed, errors = int(value["passed"]), int(value["failed"]), int(value["errors"])
    if passed + failed + errors == 0:
        return "pytest ran no tests: none were collected."
    summary = f"{passed} passed, {failed} failed" + (f", {errors} errored" if errors else "")
    if not value["failing"]:
        return f"All tests pass ({summary})."
    items = [f"{node}: {message}" if message else node for node, message in value["failing"]]
    return f"Tests: {summary}.\n{bullets(items)}"


TRIAD_CODE = """\
t = typecheck(".")
r = ruff_check(".")
p = pytest_run(".")
tests = {"passed": p.passed, "failed": p.failed, "errors": p.errors}
{"type_errors": t.error_count, "lint": r.violation_count, **tests}"""


def _triad_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    types_, lint = int(value["type_errors"]), int(value["lint"])
    passed, failed, errors = int(value["passed"]), int(value["failed"]), int(value["errors"])
    tests = (
        "no tests were collected"
        if passed + failed + errors == 0
        else f"{passed} tests passed and {failed} failed" + (f" ({errors} errored)" if errors else "")
    )
    parts = [
        f"typecheck: {count(types_, 'error')}" if types_ else "typecheck: clean",
        f"ruff: {count(lint, 'violation')}" if lint else "ruff: clean",
        f"pytest: {tests}",
    ]
    verdict = (
        "Everything passes."
        if types_ == lint == failed == errors == 0
        else "Not clean yet: fix the type errors first, then lint, then the tests."
    )
    return "Quality triad:\n" + "\n".join(f"- {p}" for p in parts) + f"\n\n{verdict}"


FORMAT_CODE = """\
f = ruff_format(".")
{"count": f.file_count, "files": f.files}"""


def _format_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    number = int(value["count"])
    if number == 0:
        return "Every file is already formatted."
    return (
        f"{count(number, 'file')} would be reformatted by ruff: {', '.join(value['files'])}. "
        'Run `ruff_format(".", check=False)` to apply it.'
    )


# -- files ---------------------------------------------------------------------------------------------------

LIST_CODE = """\
r = file_list(".", "*.py")
{"count": r.file_count, "files": r.files}"""


def _list_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    files = [str(f) for f in value["files"]]
    return f"The project has {count(int(value['count']), 'Python file')}:\n{bullets(files, limit=12)}"


def _source_files(copy: FixtureCopy) -> Sequence[Mapping[str, str]]:
    return [{"file": f} for f in python_files(copy.root) if not f.endswith("__init__.py")]


READ_CODE = """\
r = file_read("$file")
{"lines": r.line_count, "first": r.content.split("\\n")[0]}"""


def _read_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    return (
        f"{outcome.params['file']} has {count(int(value['lines']), 'line')}. It starts with: {value['first']}"
    )


_DEF = re.compile(r"^\s*(?:async\s+)?def ([A-Za-z]\w*)\(", re.MULTILINE)


def _defined_names(copy: FixtureCopy) -> Sequence[Mapping[str, str]]:
    names: list[str] = []
    for file in python_files(copy.root):
        for name in _DEF.findall((copy.root / file).read_text(encoding="utf-8")):
            if name not in names and not name.startswith("test_"):
                names.append(name)
    return [{"name": name} for name in names]


SEARCH_DEF_CODE = """\
r = file_search("def $name(")
[[m.file, m.line] for m in r.matches]"""


def _search_def_answer(outcome: Outcome) -> str:
    matches = as_list(outcome.value)
    name = outcome.params["name"]
    if not matches:
        return f"`{name}` is not defined anywhere in the Python files."
    places = [f"{file} line {line}" for file, line in matches]
    if len(places) == 1:
        return f"`{name}` is defined in {places[0]}."
    return f"`{name}` is defined in several places: {'; '.join(places)}."


TODO_CODE = """\
r = file_search("TODO")
{"count": r.match_count, "matches": [[m.file, m.line, m.text.strip()] for m in r.matches]}"""


def _todo_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    number = int(value["count"])
    if number == 0:
        return "There are no TODO comments in the Python files."
    items = [f"{file} line {line}: {text}" for file, line, text in value["matches"]]
    return f"I found {count(number, 'TODO comment')}:\n{bullets(items)}"


def _missing_paths(copy: FixtureCopy) -> Sequence[Mapping[str, str]]:
    packages = sorted(
        {f.split("/")[0] for f in python_files(copy.root) if "/" in f and not f.startswith("tests/")}
    )
    found = []
    for package in packages:
        for stem in ("settings", "config"):
            path = f"{package}/{stem}.py"
            if not (copy.root / path).exists():
                found.append({"file": path})
    return found


MISSING_CODE = """\
r = file_read("$file")
{"found": r.success, "error": r.tool_error}"""


def _missing_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    if value["found"]:
        raise ValueError("the file exists")
    return f"There is no {outcome.params['file']} in this project (file_read says: {value['error']})."


# -- git -----------------------------------------------------------------------------------------------------

STATUS_CODE = """\
s = git_status()
{"branch": s.branch, "count": s.change_count, "changes": [[c.path, c.status, c.staged] for c in s.changes]}"""


def _status_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    number = int(value["count"])
    if number == 0:
        return f"The work tree on `{value['branch']}` is clean."
    items = [
        f"{path}: {status}" + ("" if status == "untracked" else (" (staged)" if staged else " (not staged)"))
        for path, status, staged in value["changes"]
    ]
    return f"On branch `{value['branch']}` there are {count(number, 'change')}:\n{bullets(items)}"


DIFF_CODE = """\
d = git_diff()
files = [[f.path, f.additions, f.deletions] for f in d.files]
{"additions": d.additions, "deletions": d.deletions, "files": files}"""

DIFF_STAGED_CODE = """\
d = git_diff(staged=True)
files = [[f.path, f.additions, f.deletions] for f in d.files]
{"additions": d.additions, "deletions": d.deletions, "files": files}"""


def _diff_answer(staged: bool) -> Answer:
    def answer(outcome: Outcome) -> str:
        value = as_dict(outcome.value)
        what = "staged" if staged else "unstaged"
        if not value["files"]:
            return f"There are no {what} changes."
        items = [f"{path}: +{added} -{removed}" for path, added, removed in value["files"]]
        return (
            f"The {what} diff adds {count(int(value['additions']), 'line')} and removes "
            f"{int(value['deletions'])}:\n{bullets(items)}"
        )

    return answer


LOG_CODE = """\
g = git_log(5)
{"count": g.commit_count, "commits": [[c.sha[:8], c.subject, c.author] for c in g.commits]}"""


def _log_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    items = [f"{sha} {subject} ({author})" for sha, subject, author in value["commits"]]
    return f"The history has {count(int(value['count']), 'commit')}, newest first:\n{bullets(items)}"


# -- domain --------------------------------------------------------------------------------------------------

PROJECT_CODE = """\
r = validate_project(".")
issues = [[i.rule, i.file, i.line, i.message] for i in r.issues]
{"count": r.issue_count, "errors": r.error_count, "warnings": r.warning_count, "issues": issues}"""


def _project_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    total = int(value["count"])
    if total == 0:
        return "validate_project finds no domain issues."
    errors, warnings = int(value["errors"]), int(value["warnings"])
    items = [f"{rule} {file} line {line}: {message}" for rule, file, line, message in value["issues"]]
    return (
        f"validate_project reports {count(total, 'issue')} ({count(errors, 'error')}, "
        f"{count(warnings, 'warning')}):\n{bullets(items, limit=6)}"
    )


_FAMILIES = {
    "tdom": ("validate_component", "tdom component"),
    "svc": ("validate_service_registration", "service registration"),
    "mw": ("validate_middleware_chain", "middleware"),
    "lc": ("check_state_transitions", "lifecycle"),
}


def _family(copy: FixtureCopy) -> Sequence[Mapping[str, str]]:
    prefix = copy.name.removeprefix("domain/").split("_")[0]
    if prefix not in _FAMILIES:
        return ()
    tool, topic = _FAMILIES[prefix]
    return ({"tool": tool, "topic": topic},)


FAMILY_CODE = """\
r = $tool(".")
{"count": r.issue_count, "issues": [[i.rule, i.severity, i.file, i.line] for i in r.issues]}"""


def _family_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    tool, total = outcome.params["tool"], int(value["count"])
    if total == 0:
        return f"{tool} reports no problems with the {outcome.params['topic']} rules."
    items = [f"{rule} ({severity}) in {file} line {line}" for rule, severity, file, line in value["issues"]]
    return f"{tool} reports {count(total, 'issue')}:\n{bullets(items)}"


RULES_CODE = """\
r = validate_project(".")
sorted({i.rule for i in r.issues})"""


def _rules_answer(outcome: Outcome) -> str:
    rules = [str(r) for r in as_list(outcome.value)]
    if not rules:
        return "No domain rule fires on this project."
    return f"These rules fire: {', '.join(rules)}."


FIXABLE_CODE = """\
r = validate_project(".")
fixable = [[i.rule, i.file, i.line] for i in r.issues if i.fixable]
{"fixable": len(fixable), "total": r.issue_count, "issues": fixable}"""


def _fixable_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    number, total = int(value["fixable"]), int(value["total"])
    if total == 0:
        return "There are no domain issues, so nothing to fix."
    if number == 0:
        return f"None of the {count(total, 'issue')} has an automatic fix; they need manual changes."
    items = [f"{rule} in {file} line {line}" for rule, file, line in value["issues"]]
    return f"{number} of the {count(total, 'issue')} can be fixed with `domain_fix`:\n{bullets(items)}"


FIX_DRY_CODE = """\
f = domain_fix(".", dry_run=True)
{"files": f.changed_files, "rules": f.fixed_rules, "remaining": len(f.remaining)}"""


def _fix_dry_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    if not value["files"]:
        return "domain_fix has nothing to change here."
    return (
        f"A dry run of domain_fix would change {', '.join(value['files'])}, "
        f"fixing {', '.join(value['rules'])}; "
        f"{count(int(value['remaining']), 'issue')} would remain. Nothing was written."
    )


# -- fields (printing and aggregating typed results) ------------------------------------------------------

PRINT_TYPES_CODE = """\
r = typecheck(".")
print("errors:", r.error_count)
for e in r.errors:
    print(f"{e.file}:{e.line}: {e.message}")"""


def _print_types_answer(outcome: Outcome) -> str:
    lines = outcome.stdout.strip().splitlines()
    total = int(lines[0].split(":")[1])
    if total == 0:
        return "ty reports no errors."
    return f"ty reports {count(total, 'error')}:\n{bullets(lines[1:])}"


PER_FILE_CODE = """\
r = ruff_check(".")
by_file = {}
for v in r.violations:
    by_file[v.file] = by_file.get(v.file, 0) + 1
by_file"""


def _per_file_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    if not value:
        return "No file has ruff violations."
    items = [f"{file}: {number}" for file, number in value.items()]
    return f"Ruff violations per file:\n{bullets(items)}"


SEVERITY_CODE = """\
r = validate_project(".")
counts = {"error": 0, "warning": 0, "info": 0}
for i in r.issues:
    counts[i.severity] += 1
counts"""


def _severity_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    if sum(int(v) for v in value.values()) == 0:
        return "There are no domain issues at any severity."
    return ", ".join(f"{count(int(v), k)}" for k, v in value.items()) + "."


PRINT_TESTS_CODE = """\
r = pytest_run(".")
for t in r.tests:
    print(t.outcome, t.node_id)"""


def _print_tests_answer(outcome: Outcome) -> str:
    lines = outcome.stdout.strip().splitlines()
    if not lines:
        return "No tests were collected."
    items = [f"{line.split(' ', 1)[1]}: {line.split(' ', 1)[0]}" for line in lines]
    return f"Test outcomes:\n{bullets(items)}"


# -- fixes (write tools, on fresh copies) -----------------------------------------------------------------

_EDITS: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "webapp_planted": (
        ("webapp/app.py", "import os\n\n", "", "the unused `import os`", "removed the unused `import os`"),
        (
            "webapp/app.py",
            "if greeting == None:",
            "if greeting is None:",
            "the `== None` comparison",
            "rewrote the `== None` comparison as `is None`",
        ),
    ),
    "sandbox_project": (
        ("app/views.py", "import os\n\n", "", "the unused `import os`", "removed the unused `import os`"),
    ),
}
"""Per fixture: file, old text, new text, what to fix (for the prompt), what was done (for the answer)."""


def _edits(copy: FixtureCopy) -> Sequence[Mapping[str, str]]:
    return [
        {"file": file, "old": json.dumps(old), "new": json.dumps(new), "what": what, "done": done}
        for file, old, new, what, done in _EDITS.get(copy.name, ())
    ]


EDIT_CODE = """\
e = file_edit("$file", $old, $new)
r = ruff_check(".")
left = [[v.code, v.file, v.line] for v in r.violations]
{"replacements": e.replacements, "violations": r.violation_count, "left": left}"""


def _edit_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    if as_int(value["replacements"]) != 1:
        raise ValueError("the edit did not apply exactly once")
    done = f"In {outcome.params['file']} I {outcome.params['done']}."
    left = int(value["violations"])
    if left == 0:
        return f"{done} ruff now reports no violations."
    items = [f"{code} in {file} line {line}" for code, file, line in value["left"]]
    return f"{done} ruff still reports {count(left, 'violation')}:\n{bullets(items)}"


RUFF_FIX_CODE = """\
f = ruff_fix(".")
fixed = [[v.code, v.file, v.line] for v in f.fixed]
{"fixed": fixed, "remaining": f.remaining_count, "files": f.changed_files}"""


def _ruff_fix_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    if not value["fixed"]:
        return "ruff had nothing it could fix safely."
    items = [f"{code} in {file} line {line}" for code, file, line in value["fixed"]]
    remaining = int(value["remaining"])
    rest = f"{count(remaining, 'violation')} still need a manual fix." if remaining else "Nothing is left."
    return f"ruff fixed:\n{bullets(items)}\n\nChanged: {', '.join(value['files'])}. {rest}"


DOMAIN_FIX_CODE = """\
f = domain_fix(".")
after = validate_project(".")
{"changed": f.changed_files, "rules": f.fixed_rules, "remaining": after.issue_count}"""


def _domain_fix_answer(outcome: Outcome) -> str:
    value = as_dict(outcome.value)
    if not value["changed"]:
        return "domain_fix found nothing to change."
    remaining = int(value["remaining"])
    rest = (
        f"validate_project still reports {count(remaining, 'issue')}."
        if remaining
        else "No domain issues remain."
    )
    return f"domain_fix fixed {', '.join(value['rules'])} in {', '.join(value['changed'])}. {rest}"


# -- plain answers ----------------------------------------------------------------------------------------

_PLAIN: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "svcs",
        ("What is svcs?", "Explain svcs in a few sentences.", "what's svcs for"),
        "svcs is a service locator for Python. You register how to build each service on one "
        "`svcs.Registry` per application (`register_factory`, `register_value`), and every request gets "
        "its own `svcs.Container(registry)`: `container.get(T)` builds the service lazily, caches it for "
        "that container, and closing the container runs the cleanups.",
    ),
    (
        "registry-container",
        ("What's the difference between a svcs Registry and a Container?", "Registry vs Container in svcs?"),
        "The registry is built once at start-up and says how to make each service. A container is created"
        " per request from the registry; it builds services on `get`, caches them for that request, and "
        "runs their cleanups when it is closed (`close()` or a `with` block).",
    ),
    (
        "registry-per-request",
        ("Should I create a new svcs Registry for every request?", "Is one registry per request ok?"),
        "No. Build one `svcs.Registry` per application at start-up and create one "
        "`svcs.Container(registry)` per request; closing the container cleans up that request's services.",
    ),
    (
        "factory-container",
        (
            "When does a svcs factory get the container passed in?",
            "How does a factory ask svcs for other services?",
        ),
        "A factory receives the container only if its first parameter is named `svcs_container` or "
        "annotated `svcs.Container`; otherwise it is called with no arguments. Inside it, use "
        "`svcs_container.get(OtherService)`.",
    ),
    (
        "register-value",
        ("How do I register a ready-made object with svcs?", "register an existing instance in svcs"),
        "Use `registry.register_value(T, instance)`. For services that must be built per container, use "
        "`registry.register_factory(T, factory)` instead.",
    ),
    (
        "aget",
        ("What's the async version of container.get?", "How do I use async factories with svcs?"),
        "`await container.aget(T)` resolves services with async factories; close such a container with "
        "`await container.aclose()` or use `async with`.",
    ),
    (
        "tdom-return",
        ("What should a tdom component return?", "Does a tdom component return a string?"),
        "A function component returns a `string.templatelib.Template` (a t-string), not a rendered "
        "string; a class component's `__call__(self)` returns one. `html(template)` turns a template into"
        " a `str`.",
    ),
    (
        "tdom-children",
        ("How do I pass children to a tdom component?", "children in tdom components?"),
        'Put them between the tags: `<{Card} title="Hi">...</{Card}>`. The component receives them as the'
        " keyword parameter `children` (a `Template`); never pass `children` as an attribute.",
    ),
    (
        "t-string",
        ("What is a t-string?", "What are template strings in Python 3.14?"),
        'A t-string (`t"Hello {name}"`) looks like an f-string but evaluates to a '
        "`string.templatelib.Template` that keeps the literal parts and the interpolated values apart, so"
        " a library such as tdom can escape the values before rendering.",
    ),
    (
        "html-in-template",
        ("Why shouldn't I interpolate html(...) inside a template?", "is {html(body)} in a t-string ok?"),
        "Because `{html(body)}` inserts HTML that is already rendered, and it gets escaped again. "
        "Interpolate the template itself (`{body}`) and render once at the end.",
    ),
    (
        "middleware-order",
        ("In what order does tdom-svcs run middleware?", "How are middleware priorities ordered?"),
        "By `priority`, ascending: lower numbers run first. Each middleware's `__call__(self, target, "
        "props, context)` returns the props for the next one, or `None` to halt the chain.",
    ),
    (
        "middleware-halt",
        ("How do I stop a middleware chain?", "how to halt middleware"),
        "Return `None` from the middleware's `__call__`: the chain stops there and the later middleware "
        "do not run.",
    ),
    (
        "inject",
        ("What does Inject[T] mean in svcs-di?", "What is Inject for?"),
        "`Inject[T]` marks a field or parameter as a dependency: an injector such as `auto(T)` builds the"
        " object and fills each `Inject[...]` field from the container.",
    ),
    (
        "triad",
        ("What is the quality triad?", "Which checks should run after a change?"),
        "typecheck (ty), ruff_check (lint) and pytest_run (tests), in that order, fixing what each "
        "reports before moving on; then the domain validators.",
    ),
    (
        "f401",
        ("What does ruff's F401 mean?", "what is F401"),
        "F401 is an unused import: a module or name is imported but never used. Remove the import (ruff "
        "can usually do it automatically) or re-export the name explicitly.",
    ),
    (
        "e711",
        ("What does E711 mean?", "ruff says E711, what's that?"),
        "E711 flags a comparison to `None` with `==` or `!=`. Write `x is None` or `x is not None` instead.",
    ),
    (
        "code-mode",
        ("What is Code Mode?", "How do you use your tools?"),
        "I write one short Python block that calls Punie's tools as functions and reads their typed "
        "results by field; the sandbox type-checks and runs it, and I get back what it printed and its "
        "last value.",
    ),
    (
        "hello",
        ("Hi!", "Hello Punie", "hey"),
        "Hello! I'm Punie. I can check this project (types, lint, tests and the tdom/svcs domain rules), "
        "read and search its files, look at git, and make changes with your permission. What would you "
        "like to do?",
    ),
    (
        "thanks",
        ("Thanks, that's all.", "great, thank you"),
        "You're welcome! Ask again any time.",
    ),
)


def _plain_recipes() -> list[Recipe]:
    recipes = []
    for name, prompts, text in _PLAIN:

        def answer(outcome: Outcome, text: str = text) -> str:
            del outcome
            return text

        recipes.append(
            Recipe(
                name=f"plain-{name}", category="plain", prompts=prompts, answer=answer, samples=len(prompts)
            )
        )
    return recipes


# -- the list ----------------------------------------------------------------------------------------------


def seed_recipes() -> list[Recipe]:
    """Every recipe of the seed set, in a fixed order."""
    recipes = [
        Recipe(
            name="ruff-list",
            category="quality",
            prompts=(
                "Run ruff on the project and tell me what it finds.",
                "Are there any lint problems?",
                "Lint the code.",
                "What does ruff report?",
                "Check the project with ruff and list the violations.",
            ),
            code=RUFF_CODE,
            answer=_ruff_answer,
            fixtures=ALL,
            samples=2,
            mistakes=(
                ("r.violation_count", "r.violations_count"),
                ("v.code, v.file", "v.rule, v.file"),
                ("r.fixable_count", "r.fixable"),
            ),
            max_corrections=6,
        ),
        Recipe(
            name="ruff-count",
            category="fields",
            prompts=(
                "How many ruff violations are there?",
                "Count the lint violations.",
                "Number of ruff issues?",
            ),
            code='r = ruff_check(".")\nr.violation_count',
            answer=_ruff_count_answer,
            fixtures=ALL,
            max_fixtures=10,
            mistakes=(("r.violation_count", "r.count"),),
            max_corrections=2,
        ),
        Recipe(
            name="typecheck-list",
            category="quality",
            prompts=(
                "Type-check the project.",
                "Are there type errors?",
                "Run ty and tell me what's wrong.",
                "What does the type checker say?",
                "Check the types in this project.",
            ),
            code=TYPECHECK_CODE,
            answer=_typecheck_answer,
            fixtures=ALL,
            samples=2,
            mistakes=(
                ("r.error_count", "r.errors_count"),
                ("e.line, e.code", "e.lineno, e.code"),
                ("e.file, e.line", "e.path, e.line"),
            ),
            max_corrections=6,
        ),
        Recipe(
            name="typecheck-files",
            category="fields",
            prompts=("Which files have type errors?", "List the files ty complains about."),
            code=TYPECHECK_FILES_CODE,
            answer=_typecheck_files_answer,
            fixtures=ALL,
            max_fixtures=12,
        ),
        Recipe(
            name="pytest-summary",
            category="quality",
            prompts=(
                "Run the tests.",
                "Do the tests pass?",
                "Run pytest and tell me what fails.",
                "Are the tests green?",
            ),
            code=PYTEST_CODE,
            answer=_pytest_answer,
            fixtures=WITH_TESTS,
            samples=3,
            mistakes=(("t.node_id", "t.name"), ("r.failed", "r.failures")),
            max_corrections=2,
        ),
        Recipe(
            name="triad",
            category="quality",
            prompts=(
                "Run the quality triad.",
                "Is the project in good shape? Check types, lint and tests.",
                "Run typecheck, ruff and pytest and summarise.",
            ),
            code=TRIAD_CODE,
            answer=_triad_answer,
            fixtures=MAIN_FIXTURES,
            samples=3,
        ),
        Recipe(
            name="format-check",
            category="quality",
            prompts=("Is the code formatted?", "Which files would ruff format change?"),
            code=FORMAT_CODE,
            answer=_format_answer,
            fixtures=ALL,
            max_fixtures=10,
        ),
        Recipe(
            name="file-list",
            category="files",
            prompts=(
                "Which Python files are in the project?",
                "List the Python files.",
                "What files are there?",
            ),
            code=LIST_CODE,
            answer=_list_answer,
            fixtures=ALL,
            max_fixtures=12,
        ),
        Recipe(
            name="file-read",
            category="files",
            prompts=(
                "How long is $file, and what is its first line?",
                "Open $file: how many lines does it have?",
            ),
            code=READ_CODE,
            answer=_read_answer,
            fixtures=ALL,
            max_fixtures=14,
            params=_source_files,
            mistakes=(("r.line_count", "r.lines"),),
            max_corrections=2,
        ),
        Recipe(
            name="search-def",
            category="files",
            prompts=("Where is `$name` defined?", "Find the definition of $name.", "In which file is $name?"),
            code=SEARCH_DEF_CODE,
            answer=_search_def_answer,
            fixtures=ALL,
            max_fixtures=14,
            params=_defined_names,
            max_params=2,
            mistakes=(("m.file, m.line", "m.path, m.line"),),
            max_corrections=3,
        ),
        Recipe(
            name="todo",
            category="files",
            prompts=("Find the TODO comments.", "Are there any TODOs left?"),
            code=TODO_CODE,
            answer=_todo_answer,
            fixtures=ALL,
            max_fixtures=8,
        ),
        Recipe(
            name="file-missing",
            category="files",
            prompts=("Show me $file.", "What's in $file?"),
            code=MISSING_CODE,
            answer=_missing_answer,
            fixtures=ALL,
            max_fixtures=6,
            params=_missing_paths,
            tool_error_expected=True,
        ),
        Recipe(
            name="git-status",
            category="git",
            prompts=("What's the git status?", "What has changed in the work tree?", "Anything uncommitted?"),
            code=STATUS_CODE,
            answer=_status_answer,
            fixtures=ALL,
            max_fixtures=14,
            mistakes=(("c.path, c.status", "c.file, c.status"), ("s.change_count", "s.count")),
            max_corrections=3,
        ),
        Recipe(
            name="git-diff",
            category="git",
            prompts=("What does the unstaged diff look like?", "Show me what I changed but haven't staged."),
            code=DIFF_CODE,
            answer=_diff_answer(False),
            fixtures=ALL,
            max_fixtures=8,
        ),
        Recipe(
            name="git-diff-staged",
            category="git",
            prompts=("What is staged for the next commit?", "Summarise the staged diff."),
            code=DIFF_STAGED_CODE,
            answer=_diff_answer(True),
            fixtures=ALL,
            max_fixtures=6,
        ),
        Recipe(
            name="git-log",
            category="git",
            prompts=("Show the recent commits.", "What are the last commits?", "git log please"),
            code=LOG_CODE,
            answer=_log_answer,
            fixtures=ALL,
            max_fixtures=8,
            mistakes=(("c.subject", "c.message"),),
            max_corrections=3,
        ),
        Recipe(
            name="validate-project",
            category="domain",
            prompts=(
                "Validate the project against the domain rules.",
                "Are there any tdom or svcs architecture problems?",
                "Run the domain validators.",
                "Check the architecture rules.",
            ),
            code=PROJECT_CODE,
            answer=_project_answer,
            fixtures=ALL,
            samples=2,
            mistakes=(("[i.rule, i.file", "[i.code, i.file"), ("r.issue_count", "r.issues_count")),
            max_corrections=5,
        ),
        Recipe(
            name="validate-family",
            category="domain",
            prompts=("Check the $topic rules.", "Are there $topic problems?"),
            code=FAMILY_CODE,
            answer=_family_answer,
            fixtures=DOMAIN_SEED_FIXTURES,
            samples=2,
            params=_family,
        ),
        Recipe(
            name="domain-rules",
            category="domain",
            prompts=("Which domain rules fire?", "List the rule IDs the validators report."),
            code=RULES_CODE,
            answer=_rules_answer,
            fixtures=DOMAIN_SEED_FIXTURES,
            max_fixtures=8,
        ),
        Recipe(
            name="domain-fixable",
            category="domain",
            prompts=("Which domain issues can be fixed automatically?", "What could domain_fix fix?"),
            code=FIXABLE_CODE,
            answer=_fixable_answer,
            fixtures=DOMAIN_SEED_FIXTURES,
            max_fixtures=8,
        ),
        Recipe(
            name="domain-fix-dry",
            category="domain",
            prompts=("Preview the domain fixes without writing anything.", "Do a dry run of domain_fix."),
            code=FIX_DRY_CODE,
            answer=_fix_dry_answer,
            fixtures=FIXABLE_DOMAIN,
        ),
        Recipe(
            name="print-types",
            category="fields",
            prompts=(
                "Print each type error with its file and line.",
                "Go through the type errors one by one.",
            ),
            code=PRINT_TYPES_CODE,
            answer=_print_types_answer,
            fixtures=ALL,
            max_fixtures=9,
        ),
        Recipe(
            name="ruff-per-file",
            category="fields",
            prompts=("How many ruff violations does each file have?", "Group the lint violations by file."),
            code=PER_FILE_CODE,
            answer=_per_file_answer,
            fixtures=ALL,
            max_fixtures=9,
        ),
        Recipe(
            name="severity-counts",
            category="fields",
            prompts=("Count the domain issues by severity.", "How many domain errors, warnings and infos?"),
            code=SEVERITY_CODE,
            answer=_severity_answer,
            fixtures=DOMAIN_SEED_FIXTURES,
            max_fixtures=9,
        ),
        Recipe(
            name="print-tests",
            category="fields",
            prompts=("List every test with its outcome.", "Print each test's result."),
            code=PRINT_TESTS_CODE,
            answer=_print_tests_answer,
            fixtures=WITH_TESTS,
        ),
        Recipe(
            name="edit",
            category="fix",
            prompts=("Fix $what in $file.", "Please remove or correct $what in $file, then re-run ruff."),
            code=EDIT_CODE,
            answer=_edit_answer,
            fixtures=("webapp_planted", "sandbox_project"),
            samples=2,
            params=_edits,
            max_params=2,
            mutates=True,
        ),
        Recipe(
            name="ruff-fix",
            category="fix",
            prompts=("Apply ruff's safe fixes.", "Let ruff fix what it can."),
            code=RUFF_FIX_CODE,
            answer=_ruff_fix_answer,
            fixtures=("webapp_planted", "sandbox_project"),
            samples=2,
            mutates=True,
        ),
        Recipe(
            name="domain-fix",
            category="fix",
            prompts=(
                "Apply the domain auto-fixes.",
                "Fix the domain issues that can be fixed automatically.",
            ),
            code=DOMAIN_FIX_CODE,
            answer=_domain_fix_answer,
            fixtures=FIXABLE_DOMAIN,
            mutates=True,
        ),
    ]
    recipes.extend(_plain_recipes())
    return recipes
