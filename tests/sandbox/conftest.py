"""Fixtures for the Code Mode sandbox tests: a copy of `fixtures/sandbox_project` and sandboxes on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from punie_lsp.sandbox import CodeSandbox, PermissionDecision, PermissionRequest, SandboxEvent, SandboxLimits
from punie_lsp.tools import ToolContext

FAST_LIMITS = SandboxLimits(
    cpu_time_s=0.5,
    wall_time_s=20.0,
    memory_bytes=32 * 1024 * 1024,
    recursion_depth=100,
    max_output_chars=2_000,
    max_result_chars=5_000,
    max_argument_chars=100_000,
)
"""Tight limits so the hostile tests end quickly."""


@pytest.fixture
def project(copy_fixture: Callable[[str], Path], tmp_path: Path) -> Path:
    """A fresh copy of the sandbox fixture project, next to an `outside/` directory holding a secret."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-HOST-DATA\n")
    return copy_fixture("sandbox_project")


@pytest.fixture
def ctx(project: Path) -> ToolContext:
    """A tool context on the project copy."""
    return ToolContext.for_root(project)


class Recorder:
    """Collects events and permission requests, answering requests with a fixed decision."""

    def __init__(self, decision: PermissionDecision = "deny") -> None:
        self.decision: PermissionDecision = decision
        self.events: list[SandboxEvent] = []
        self.requests: list[PermissionRequest] = []

    async def on_event(self, event: SandboxEvent) -> None:
        """Record an event."""
        self.events.append(event)

    async def policy(self, request: PermissionRequest) -> PermissionDecision:
        """Record a request and answer it."""
        self.requests.append(request)
        return self.decision


@pytest.fixture
def recorder() -> Recorder:
    """A recorder that denies every gated call."""
    return Recorder()


@pytest.fixture
async def sandbox(ctx: ToolContext, recorder: Recorder) -> AsyncIterator[CodeSandbox]:
    """A sandbox on the project copy with fast limits, recording events and permission requests."""
    async with CodeSandbox(
        ctx, limits=FAST_LIMITS, policy=recorder.policy, on_event=recorder.on_event
    ) as box:
        yield box
