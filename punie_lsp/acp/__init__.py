"""The Agent Client Protocol front-end: Punie in the chat panel of Zed and JetBrains IDEs.

Ownership: this package maps ACP (the `agent-client-protocol` SDK) onto the agent layer's public API and
nothing deeper: `PunieSession` turns, the event stream, `ModePolicy`. It owns the session records on
disk (`PUNIE_HOME/sessions/`), the permission bridge, the event-to-update mapping, the slash commands and
the editor-backed workspace. `punie acp` runs `run_acp_agent`.
"""

from punie_lsp.acp.agent import DEFAULT_MAX_PROMPT_CHARS, AcpOptions, PunieAcpAgent, run_acp_agent
from punie_lsp.acp.commands import COMMANDS, available_commands, parse_command
from punie_lsp.acp.permissions import PermissionBridge, permission_options
from punie_lsp.acp.store import FeedbackRecord, SessionRecord, SessionStore, TurnRecord
from punie_lsp.acp.updates import UpdateMapper, tool_kind, tool_title
from punie_lsp.acp.workspace import EditorWorkspace

__all__ = (
    "COMMANDS",
    "DEFAULT_MAX_PROMPT_CHARS",
    "AcpOptions",
    "EditorWorkspace",
    "FeedbackRecord",
    "PermissionBridge",
    "PunieAcpAgent",
    "SessionRecord",
    "SessionStore",
    "TurnRecord",
    "UpdateMapper",
    "available_commands",
    "parse_command",
    "permission_options",
    "run_acp_agent",
    "tool_kind",
    "tool_title",
)
