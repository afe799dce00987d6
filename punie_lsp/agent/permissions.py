"""Permission modes: who decides write and high-risk tool calls, switchable mid-session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from punie_lsp.sandbox import PermissionDecision, PermissionPolicy, PermissionRequest, deny_all

__all__ = ("MODES", "Mode", "ModePolicy")

Mode = Literal["ask", "accept-edits", "plan", "trust"]
"""`ask`: ask before every write or high-risk call. `accept-edits`: file edits run, high-risk asks.
`plan`: read-only, every write is refused. `trust`: everything runs (`punie ask --yes`)."""

MODES: dict[Mode, str] = {
    "ask": "Ask before edits",
    "accept-edits": "Accept edits",
    "plan": "Plan (read-only)",
    "trust": "Trust (no questions)",
}
"""Human names of the modes, as editors show them."""


@dataclass
class ModePolicy:
    """A permission policy that follows the current mode and remembers "always" answers.

    Args:
        mode: the starting mode.
        ask: how to ask the user (a terminal prompt, an ACP `session/request_permission`); by default the
            question is answered "no", so nothing writes without a decision.
    """

    mode: Mode = "ask"
    ask: PermissionPolicy = deny_all
    always_allow: set[str] = field(default_factory=set)
    """Tools the user allowed for the rest of the session."""
    always_deny: set[str] = field(default_factory=set)
    """Tools the user refused for the rest of the session."""

    def preset(self, request: PermissionRequest) -> PermissionDecision | None:
        """The decision the mode or an earlier "always" answer already gives; None when the user must say."""
        if request.tool in self.always_deny:
            return "deny"
        match self.mode:
            case "plan":
                return "deny"
            case "trust":
                return "allow"
            case "accept-edits" if request.risk == "write":
                return "allow"
            case "ask" | "accept-edits":
                pass
        if request.tool in self.always_allow:
            return "allow"
        return None

    async def __call__(self, request: PermissionRequest) -> PermissionDecision:
        """Decide one gated call, asking the user only when the mode leaves it open."""
        decision = self.preset(request)
        return decision if decision is not None else await self.ask(request)
