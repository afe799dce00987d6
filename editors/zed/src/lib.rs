//! Zed extension that starts Punie's language server (`punie lsp`) for Python files.
//!
//! The binary comes from `lsp.punie.binary.path` in Zed's settings, else `punie` on the worktree's PATH
//! (a project's `.venv/bin` is on it when Zed inherits the shell environment). Initialization options and
//! workspace configuration come from `lsp.punie.initialization_options` and `lsp.punie.settings`.

use zed_extension_api::{self as zed, serde_json, settings::LspSettings, LanguageServerId, Result};

const SERVER: &str = "punie";

struct PunieExtension;

impl zed::Extension for PunieExtension {
    fn new() -> Self {
        PunieExtension
    }

    fn language_server_command(
        &mut self,
        _language_server_id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(SERVER, worktree)
            .ok()
            .and_then(|settings| settings.binary);
        let configured = binary.as_ref().and_then(|b| b.path.clone());
        let command = configured
            .or_else(|| worktree.which("punie"))
            .ok_or_else(|| {
                "`punie` was not found on PATH; install Punie in the project's environment or set \
                 `lsp.punie.binary.path` in Zed's settings"
                    .to_string()
            })?;
        let args = binary
            .as_ref()
            .and_then(|b| b.arguments.clone())
            .unwrap_or_else(|| vec!["lsp".to_string()]);
        Ok(zed::Command {
            command,
            args,
            env: worktree.shell_env(),
        })
    }

    fn language_server_initialization_options(
        &mut self,
        _language_server_id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        Ok(LspSettings::for_worktree(SERVER, worktree)
            .ok()
            .and_then(|settings| settings.initialization_options))
    }

    fn language_server_workspace_configuration(
        &mut self,
        _language_server_id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        Ok(LspSettings::for_worktree(SERVER, worktree)
            .ok()
            .and_then(|settings| settings.settings))
    }
}

zed::register_extension!(PunieExtension);
