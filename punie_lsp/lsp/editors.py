"""Editor configuration for `punie lsp`: the files and snippets `punie init --editor …` writes or prints.

`lsp_editor_config(editor)` returns what one editor needs to start Punie's language server. The Neovim
Lua file and the JetBrains template are the same text as `editors/neovim/punie.lua` and
`editors/jetbrains/lsp4ij.md` (a test keeps them in step); the VS Code and Zed extensions live as source
under `editors/vscode/` and `editors/zed/` and are installed from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, assert_never

__all__ = ("EDITORS", "NEOVIM_LUA", "Editor", "EditorFile", "EditorLspConfig", "lsp_editor_config")

Editor = Literal["vscode", "zed", "jetbrains", "neovim"]
EDITORS: tuple[Editor, ...] = ("vscode", "zed", "jetbrains", "neovim")

SETTINGS_EXAMPLE: dict[str, object] = {
    "enabled": ["TDOM", "SVC", "MW", "LC"],
    "severity": {},
    "debounceMs": 150,
    "model": None,
}
"""The `punie` settings section with its defaults (`model: null` uses the project's model)."""


@dataclass(frozen=True, kw_only=True)
class EditorFile:
    """One file to create, or a JSON snippet to merge into an existing settings file."""

    path: str
    """Where it goes: relative to the project for `scope="project"`, `~`-prefixed for `scope="user"`."""
    content: str
    """The text (for `merge`, a JSON object whose keys are merged into the file's)."""
    scope: Literal["project", "user"]
    """Project-level or user-level configuration."""
    merge: bool = False
    """A snippet to deep-merge into an existing JSON/JSONC file rather than a whole file."""


@dataclass(frozen=True, kw_only=True)
class EditorLspConfig:
    """Everything one editor needs for `punie lsp`."""

    editor: Editor
    files: tuple[EditorFile, ...]
    """Files to write (or merge)."""
    instructions: str
    """Markdown: the steps that cannot be written as a file (installing an extension, enabling a plugin)."""


NEOVIM_LUA = """\
-- Punie's language server for Neovim: domain diagnostics, hover, quick fixes and agent actions.
-- Neovim 0.11+ uses vim.lsp.config / vim.lsp.enable; 0.7-0.10 start one client per project root.
-- Put this file in ~/.config/nvim/plugin/punie.lua (or source it from init.lua).
local punie = {
  name = "punie",
  cmd = { "punie", "lsp" },
  filetypes = { "python" },
  root_markers = { "pyproject.toml", ".punie", ".git" },
  -- Options Punie reads at start-up; the same keys work under `settings.punie`.
  init_options = { punie = { debounceMs = 150 } },
  settings = { punie = {} },
}

if vim.lsp.config and vim.lsp.enable then
  vim.lsp.config("punie", punie)
  vim.lsp.enable("punie")
  return
end

local clients = {}

local function project_root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  for _, marker in ipairs(punie.root_markers) do
    local found = vim.fn.finddir(marker, dir .. ";")
    if found == "" then
      found = vim.fn.findfile(marker, dir .. ";")
    end
    if found ~= "" then
      return vim.fn.fnamemodify(found, ":p:h:h")
    end
  end
  return vim.fn.getcwd()
end

vim.api.nvim_create_autocmd("FileType", {
  pattern = punie.filetypes,
  callback = function(args)
    local root = project_root(vim.api.nvim_buf_get_name(args.buf))
    if not clients[root] then
      clients[root] = vim.lsp.start_client({
        name = punie.name,
        cmd = punie.cmd,
        root_dir = root,
        workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
        init_options = punie.init_options,
        settings = punie.settings,
      })
    end
    if clients[root] then
      vim.lsp.buf_attach_client(args.buf, clients[root])
    end
  end,
})
"""
"""The Neovim configuration (also `editors/neovim/punie.lua`)."""


def _json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def lsp_editor_config(editor: Editor) -> EditorLspConfig:
    """The files and steps that make `editor` start `punie lsp` for Python files."""
    match editor:
        case "vscode":
            return EditorLspConfig(
                editor=editor,
                files=(
                    EditorFile(
                        path=".vscode/settings.json",
                        content=_json({f"punie.{key}": value for key, value in SETTINGS_EXAMPLE.items()}),
                        scope="project",
                        merge=True,
                    ),
                ),
                instructions=(
                    "Install the Punie extension from `editors/vscode/`: `npm ci && npm run package` there "
                    "builds `punie-lsp.vsix`; install it with `code --install-extension punie-lsp.vsix`. "
                    "It starts `punie lsp` (set `punie.path` when `punie` is not on PATH)."
                ),
            )
        case "zed":
            return EditorLspConfig(
                editor=editor,
                files=(
                    EditorFile(
                        path=".zed/settings.json",
                        content=_json(
                            {
                                "languages": {"Python": {"language_servers": ["ty", "ruff", "punie", "..."]}},
                                "lsp": {
                                    "punie": {
                                        "initialization_options": {"punie": SETTINGS_EXAMPLE},
                                        "settings": {"punie": {}},
                                    }
                                },
                            }
                        ),
                        scope="project",
                        merge=True,
                    ),
                ),
                instructions=(
                    "Zed starts a new language server only through an extension: in Zed run "
                    "`zed: install dev extension` and pick `editors/zed/` (it needs Rust with the "
                    "`wasm32-wasip2` target). The extension runs `punie lsp` from PATH; see "
                    "`editors/zed/lsp-README.md`."
                ),
            )
        case "jetbrains":
            return EditorLspConfig(
                editor=editor,
                files=(
                    EditorFile(
                        path="~/.punie/editors/jetbrains-lsp4ij.json",
                        content=_json(
                            {
                                "name": "Punie",
                                "command": "punie lsp",
                                "mappings": [{"language": "Python", "fileType": "Python", "pattern": "*.py"}],
                                "initializationOptions": {"punie": SETTINGS_EXAMPLE},
                                "configuration": {"punie": {}},
                            }
                        ),
                        scope="user",
                    ),
                ),
                instructions=(
                    "With the LSP4IJ plugin: Settings | Languages & Frameworks | Language Servers | `+` "
                    "New Language Server; Server tab: name `Punie`, command `punie lsp`; Mappings tab: "
                    "language `Python` (file name pattern `*.py`); Configuration tab: paste "
                    "`initializationOptions` and `configuration` from the JSON. JetBrains 2026.3's own "
                    "Settings | Languages & Frameworks | Language Servers takes the same command and "
                    "mapping. Details: `editors/jetbrains/lsp4ij.md`."
                ),
            )
        case "neovim":
            return EditorLspConfig(
                editor=editor,
                files=(EditorFile(path="~/.config/nvim/plugin/punie.lua", content=NEOVIM_LUA, scope="user"),),
                instructions=(
                    "The Lua file starts `punie lsp` for Python buffers (Neovim 0.7+). With "
                    "nvim-lspconfig, the same table works as a custom server config."
                ),
            )
        case _:
            assert_never(editor)
