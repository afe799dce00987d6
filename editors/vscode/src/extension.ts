// Starts Punie's language server (`punie lsp`) for Python files and forwards the `punie.*` settings.
//
// The server reads them twice: as `initializationOptions` at start-up, and through
// `workspace/configuration` (section `punie`, per workspace folder) whenever they change.
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function createClient(): LanguageClient {
  const config = vscode.workspace.getConfiguration("punie");
  const command = config.get<string>("path") || "punie";
  const serverOptions: ServerOptions = {
    command,
    args: ["lsp"],
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "python" }],
    initializationOptions: { punie: settingsSection(config) },
    synchronize: { configurationSection: "punie" },
    outputChannelName: "Punie",
  };
  return new LanguageClient("punie", "Punie", serverOptions, clientOptions);
}

function settingsSection(config: vscode.WorkspaceConfiguration): Record<string, unknown> {
  return {
    enabled: config.get("enabled"),
    disabled: config.get("disabled"),
    severity: config.get("severity"),
    model: config.get("model"),
    debounceMs: config.get("debounceMs"),
    agentActions: config.get("agentActions"),
    ty: { enabled: config.get("ty.enabled") },
  };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  client = createClient();
  context.subscriptions.push(
    vscode.commands.registerCommand("punie.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      client = createClient();
      await client.start();
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
    client = undefined;
  }
}
