"""The permission gate as ACP `session/request_permission`: allow once / always, reject once / always.

The bridge is the `ask` callback of the session's `ModePolicy`: the mode decides first (plan refuses,
accept-edits lets writes through, trust allows everything), and only the calls the mode leaves open reach
the editor. The answer is read strictly: only a *selected* allow option allows; a selected reject option,
a `cancelled` outcome, an unknown option id, an error, a closed connection or no answer within the
timeout all deny, and the turn goes on (the model is told the call did not run).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from acp import RequestError
from acp.interfaces import Client
from acp.schema import AllowedOutcome, PermissionOption, ToolCallUpdate

from punie_lsp.agent.permissions import ModePolicy
from punie_lsp.sandbox import PermissionDecision, PermissionRequest

__all__ = (
    "ALLOW_ALWAYS",
    "ALLOW_ONCE",
    "REJECT_ALWAYS",
    "REJECT_ONCE",
    "PermissionBridge",
    "permission_options",
)

logger = logging.getLogger(__name__)

ALLOW_ONCE = "allow-once"
ALLOW_ALWAYS = "allow-always"
REJECT_ONCE = "reject-once"
REJECT_ALWAYS = "reject-always"

DEFAULT_PERMISSION_TIMEOUT = 300.0
"""Seconds to wait for the user's answer before the call is denied."""


def permission_options(tool: str) -> list[PermissionOption]:
    """The four choices offered for a call of `tool`."""
    return [
        PermissionOption(option_id=ALLOW_ONCE, name="Allow once", kind="allow_once"),
        PermissionOption(option_id=ALLOW_ALWAYS, name=f"Always allow `{tool}`", kind="allow_always"),
        PermissionOption(option_id=REJECT_ONCE, name="Reject", kind="reject_once"),
        PermissionOption(option_id=REJECT_ALWAYS, name=f"Always reject `{tool}`", kind="reject_always"),
    ]


ToolCallDescriber = Callable[[PermissionRequest], Awaitable[ToolCallUpdate]]
"""Builds the tool call shown with the question (title, kind, a diff preview for edits)."""


class PermissionBridge:
    """Asks the editor about one gated call at a time.

    Args:
        client: the connection to the editor.
        session_id: the session asking.
        policy: the session's policy (its "always" sets are updated from the answers).
        describe: builds the tool call shown with the question.
        timeout: seconds to wait for an answer before denying.
        on_disconnect: called when the connection is gone (the turn should stop).
    """

    def __init__(
        self,
        *,
        client: Client,
        session_id: str,
        policy: ModePolicy,
        describe: ToolCallDescriber,
        timeout: float = DEFAULT_PERMISSION_TIMEOUT,
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.policy = policy
        self.describe = describe
        self.timeout = timeout
        self.on_disconnect = on_disconnect
        self.last_outcome: str | None = None
        """How the latest question ended (an option id, `cancelled`, `timeout`, `error`), for the record."""

    async def __call__(self, request: PermissionRequest) -> PermissionDecision:
        """Ask the editor; every answer but a selected allow option denies."""
        tool_call = await self.describe(request)
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.request_permission(
                    session_id=self.session_id, tool_call=tool_call, options=permission_options(request.tool)
                )
        except TimeoutError:
            logger.warning(
                "no answer to the permission request for %s within %gs", request.tool, self.timeout
            )
            self.last_outcome = "timeout"
            return "deny"
        except ConnectionError:
            self.last_outcome = "disconnected"
            if self.on_disconnect is not None:
                self.on_disconnect()
            return "deny"
        except RequestError as exc:
            logger.warning("the client failed the permission request: %s", exc)
            self.last_outcome = "error"
            return "deny"
        return self._decide(request.tool, response.outcome)

    def _decide(self, tool: str, outcome: object) -> PermissionDecision:
        if not isinstance(outcome, AllowedOutcome):
            self.last_outcome = "cancelled"
            return "deny"
        option = outcome.option_id
        self.last_outcome = option
        match option:
            case "allow-once":
                return "allow"
            case "allow-always":
                self.policy.always_allow.add(tool)
                self.policy.always_deny.discard(tool)
                return "allow"
            case "reject-always":
                self.policy.always_deny.add(tool)
                self.policy.always_allow.discard(tool)
                return "deny"
            case _:
                return "deny"
