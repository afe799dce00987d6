"""The held-out evaluation tasks: other fixtures, other phrasings, each judged against real tool output.

Every task has a *reference* block that the harness runs itself on a fresh copy of the fixture to get
the truth, and a judge that checks the model's final answer against that truth (the count, the files,
the rule IDs, the commit). The fixtures here are disjoint from the seed set's (`SEED_FIXTURES`); the
prompts are checked against the seed manifest's prompt hashes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from punie_lsp.flywheel._workspace import FIXTURES_DIR, python_files
from punie_lsp.flywheel.recipes import Answer, Outcome, as_dict, as_int, as_list, count

__all__ = ("EVAL_FIXTURES", "EvalTask", "Judge", "eval_tasks")

EVAL_FIXTURES = tuple(
    f"domain/{name}"
    for name in (
        "lc_request_scoped_ok",
        "lc_scope_and_halts",
        "mw_cross_file",
        "mw_hookable_ok",
        "mw_never_run",
        "svc_hopscotch_app_ok",
        "svc_legacy_hopscotch",
        "svc_library_quiet",
        "tdom_function_components_ok",
        "tdom_jinja_own_html",
        "tdom_node_era_legacy",
        "tdom_svcs_di_ok",
    )
)
"""Domain cases held out of the seed set."""

Judge = Callable[[str, Outcome], str | None]
"""Checks a final answer against the truth: `None` when it is true to it, else what is wrong."""


@dataclass(frozen=True, kw_only=True)
class EvalTask:
    """One evaluation task."""

    id: str
    """`kind/fixture`."""
    fixture: str
    """The fixture project (under `fixtures/`)."""
    prompt: str
    """The request."""
    tools: tuple[str, ...]
    """Tools the model must call; empty when no tool is needed (and none should be called)."""
    reference: str | None
    """The block whose real value is the truth; `None` for a plain question."""
    answer: Answer
    """A correct answer written from the truth (the perfect replay uses it)."""
    judge: Judge
    """Whether an answer is true to the truth."""


_ZERO = re.compile(r"\b(?:0|no|none|zero|clean|nothing|not any)\b", re.IGNORECASE)


def _says_number(answer: str, number: int) -> bool:
    if number == 0 and _ZERO.search(answer):
        return True
    return re.search(rf"(?<![\w.]){number}(?![\w]|\.\d)", answer) is not None


def _missing(answer: str, items: Sequence[str]) -> list[str]:
    return [item for item in items if item not in answer]


def _judge_number(key: str | None, what: str) -> Judge:
    def judge(answer: str, truth: Outcome) -> str | None:
        number = as_int(truth.value if key is None else as_dict(truth.value)[key])
        return None if _says_number(answer, number) else f"does not state the {what} ({number})"

    return judge


def _judge_numbers(*keys: str) -> Judge:
    def judge(answer: str, truth: Outcome) -> str | None:
        value = as_dict(truth.value)
        wrong = [f"{key}={value[key]}" for key in keys if not _says_number(answer, as_int(value[key]))]
        return f"does not state {', '.join(wrong)}" if wrong else None

    return judge


def _judge_count_and(items_key: str, what: str) -> Judge:
    def judge(answer: str, truth: Outcome) -> str | None:
        value = as_dict(truth.value)
        number = as_int(value["count"])
        if not _says_number(answer, number):
            return f"does not state the {what} count ({number})"
        missing = _missing(answer, [str(item) for item in value[items_key]])
        return f"does not name {', '.join(missing)}" if missing else None

    return judge


def _judge_items(what: str) -> Judge:
    def judge(answer: str, truth: Outcome) -> str | None:
        items = [str(item) for item in as_list(truth.value)]
        if not items:
            return None if _ZERO.search(answer) else f"does not say there are no {what}"
        missing = _missing(answer, items)
        return f"does not name {', '.join(missing)}" if missing else None

    return judge


def _judge_words(*groups: tuple[str, ...]) -> Judge:
    """Each group must have at least one of its words in the answer (case-insensitive)."""

    def judge(answer: str, truth: Outcome) -> str | None:
        del truth
        lowered = answer.lower()
        missing = [
            " / ".join(group) for group in groups if not any(word.lower() in lowered for word in group)
        ]
        return f"does not mention {'; '.join(missing)}" if missing else None

    return judge


# -- task kinds -------------------------------------------------------------------------------------------


def _lint_count(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        return f"ruff flags {count(as_int(truth.value), 'problem')}."

    return EvalTask(
        id=f"lint-count/{fixture}",
        fixture=fixture,
        prompt="How many problems does ruff flag here?",
        tools=("ruff_check",),
        reference='r = ruff_check(".")\nr.violation_count',
        answer=answer,
        judge=_judge_number(None, "violation count"),
    )


def _type_files(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        value = as_dict(truth.value)
        files = ", ".join(value["files"]) or "no files"
        return f"ty reports {count(as_int(value['count']), 'type error')}, in: {files}."

    return EvalTask(
        id=f"type-files/{fixture}",
        fixture=fixture,
        prompt="Does ty report type errors? Tell me how many and in which files.",
        tools=("typecheck",),
        reference='r = typecheck(".")\n{"count": r.error_count, "files": sorted({e.file for e in r.errors})}',
        answer=answer,
        judge=_judge_count_and("files", "type error"),
    )


def _domain_rules(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        value = as_dict(truth.value)
        rules = ", ".join(value["rules"]) or "none"
        return f"The domain validators report {count(as_int(value['count']), 'finding')}; rules: {rules}."

    return EvalTask(
        id=f"domain-rules/{fixture}",
        fixture=fixture,
        prompt="How many findings do the domain validators report, and under which rule IDs?",
        tools=("validate_project",),
        reference=(
            'r = validate_project(".")\nrules = sorted({i.rule for i in r.issues})\n'
            '{"count": r.issue_count, "rules": rules}'
        ),
        answer=answer,
        judge=_judge_count_and("rules", "finding"),
    )


_FAMILY_TOOLS = {
    "tdom": "validate_component",
    "svc": "validate_service_registration",
    "mw": "validate_middleware_chain",
    "lc": "check_state_transitions",
}


def _family(fixture: str) -> EvalTask:
    tool = _FAMILY_TOOLS[fixture.removeprefix("domain/").split("_")[0]]

    def answer(truth: Outcome) -> str:
        rules = [str(rule) for rule in as_list(truth.value)]
        return f"{tool} reports rules {', '.join(rules)}." if rules else f"{tool} reports no issues."

    return EvalTask(
        id=f"family/{fixture}",
        fixture=fixture,
        prompt=f"Run {tool} and tell me which rules it reports.",
        tools=(tool,),
        reference=f'r = {tool}(".")\nsorted({{i.rule for i in r.issues}})',
        answer=answer,
        judge=_judge_items("issues"),
    )


def _changed_files(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        return "Uncommitted changes: " + ", ".join(str(p) for p in as_list(truth.value)) + "."

    return EvalTask(
        id=f"changed-files/{fixture}",
        fixture=fixture,
        prompt="Which files have uncommitted changes (staged, unstaged or untracked)?",
        tools=("git_status",),
        reference="s = git_status()\n[c.path for c in s.changes]",
        answer=answer,
        judge=_judge_items("changes"),
    )


def _last_commit(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        author, subject = as_list(truth.value)[0]
        return f"The latest commit is by {author}: {subject}."

    def judge(answer_text: str, truth: Outcome) -> str | None:
        author, subject = as_list(truth.value)[0]
        missing = _missing(answer_text, [author, subject])
        return f"does not name {', '.join(missing)}" if missing else None

    return EvalTask(
        id=f"last-commit/{fixture}",
        fixture=fixture,
        prompt="Who made the most recent commit, and what is its subject?",
        tools=("git_log",),
        reference="g = git_log(1)\n[[c.author, c.subject] for c in g.commits]",
        answer=answer,
        judge=judge,
    )


def _py_count(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        return f"The project contains {count(as_int(truth.value), 'Python file')}."

    return EvalTask(
        id=f"py-count/{fixture}",
        fixture=fixture,
        prompt="How many .py files does the project contain?",
        tools=("file_list",),
        reference='r = file_list(".", "*.py")\nr.file_count',
        answer=answer,
        judge=_judge_number(None, "file count"),
    )


_DEF = re.compile(r"^(?:async\s+)?def ([a-z]\w*)\(", re.MULTILINE)


def _defined_function(fixture: str, fixtures_dir: Path) -> str | None:
    root = fixtures_dir / fixture
    for file in python_files(root):
        names = _DEF.findall((root / file).read_text(encoding="utf-8"))
        for name in names:
            if not name.startswith("test_"):
                return name
    return None


def _where_defined(fixture: str, fixtures_dir: Path) -> EvalTask | None:
    name = _defined_function(fixture, fixtures_dir)
    if name is None:
        return None

    def answer(truth: Outcome) -> str:
        return f"`{name}` is defined in {', '.join(str(f) for f in as_list(truth.value))}."

    return EvalTask(
        id=f"where-defined/{fixture}",
        fixture=fixture,
        prompt=f"Which file has the function `{name}`?",
        tools=("file_search",),
        reference=f'r = file_search("def {name}(")\nsorted({{m.file for m in r.matches}})',
        answer=answer,
        judge=_judge_items("definitions"),
    )


def _severity(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        value = as_dict(truth.value)
        return f"{count(as_int(value['errors']), 'error')} and {count(as_int(value['warnings']), 'warning')}."

    return EvalTask(
        id=f"severity/{fixture}",
        fixture=fixture,
        prompt="Give me the number of domain errors and the number of warnings.",
        tools=("validate_project",),
        reference='r = validate_project(".")\n{"errors": r.error_count, "warnings": r.warning_count}',
        answer=answer,
        judge=_judge_numbers("errors", "warnings"),
    )


def _tests(fixture: str) -> EvalTask:
    def answer(truth: Outcome) -> str:
        value = as_dict(truth.value)
        return (
            f"{as_int(value['passed'])} passed, {as_int(value['failed'])} failed and "
            f"{as_int(value['errors'])} errored."
        )

    return EvalTask(
        id=f"tests/{fixture}",
        fixture=fixture,
        prompt="Run the test suite: how many tests pass, fail or error?",
        tools=("pytest_run",),
        reference='r = pytest_run(".")\n{"passed": r.passed, "failed": r.failed, "errors": r.errors}',
        answer=answer,
        judge=_judge_numbers("passed", "failed", "errors"),
    )


def _plain(task_id: str, fixture: str, prompt: str, text: str, *groups: tuple[str, ...]) -> EvalTask:
    def answer(truth: Outcome) -> str:
        del truth
        return text

    return EvalTask(
        id=f"plain-{task_id}/{fixture}",
        fixture=fixture,
        prompt=prompt,
        tools=(),
        reference=None,
        answer=answer,
        judge=_judge_words(*groups),
    )


_PLAN: dict[str, tuple[str, ...]] = {
    "lc_request_scoped_ok": ("tests", "changed-files", "domain-rules"),
    "lc_scope_and_halts": ("family", "lint-count", "last-commit"),
    "mw_cross_file": ("family", "severity", "where-defined"),
    "mw_hookable_ok": ("domain-rules", "py-count", "type-files"),
    "mw_never_run": ("family", "changed-files", "lint-count"),
    "svc_hopscotch_app_ok": ("domain-rules", "where-defined", "last-commit"),
    "svc_legacy_hopscotch": ("family", "type-files", "py-count"),
    "svc_library_quiet": ("domain-rules", "lint-count", "changed-files"),
    "tdom_function_components_ok": ("family", "where-defined", "severity"),
    "tdom_jinja_own_html": ("domain-rules", "type-files", "last-commit"),
    "tdom_node_era_legacy": ("family", "severity", "py-count"),
    "tdom_svcs_di_ok": ("domain-rules", "changed-files", "where-defined"),
}

_KINDS: dict[str, Callable[[str], EvalTask]] = {
    "lint-count": _lint_count,
    "type-files": _type_files,
    "domain-rules": _domain_rules,
    "family": _family,
    "changed-files": _changed_files,
    "last-commit": _last_commit,
    "py-count": _py_count,
    "severity": _severity,
    "tests": _tests,
}


def eval_tasks(fixtures_dir: Path = FIXTURES_DIR) -> list[EvalTask]:
    """Every held-out task, in a fixed order."""
    tasks: list[EvalTask] = []
    for name, kinds in _PLAN.items():
        fixture = f"domain/{name}"
        for kind in kinds:
            task = _where_defined(fixture, fixtures_dir) if kind == "where-defined" else _KINDS[kind](fixture)
            if task is not None:
                tasks.append(task)
    tasks += [
        _plain(
            "container",
            "domain/mw_hookable_ok",
            "What is an svcs Container responsible for?",
            "A container is created per request from the registry: it builds the services you `get`, caches "
            "them for that request and runs their cleanups when it is closed.",
            ("request",),
            ("cache", "close", "clean"),
        ),
        _plain(
            "factory-param",
            "domain/svc_library_quiet",
            "Which parameter name makes svcs hand the container to a factory?",
            "Name the factory's first parameter `svcs_container` (or annotate it `svcs.Container`).",
            ("svcs_container",),
        ),
        _plain(
            "component-type",
            "domain/tdom_function_components_ok",
            "What type should a tdom function component return?",
            "A `string.templatelib.Template`, i.e. a t-string, not a rendered string.",
            ("Template",),
        ),
    ]
    return tasks
