// The Corral extension: starts `corral lsp` for `.corral` files. Everything
// else (diagnostics, formatting, hover, definitions, completion, outline)
// is the language server's; highlighting is the TextMate grammar.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

/// The server's command line from the `corral.*` settings.
function serverArgs(config) {
  const args = ["lsp"];
  const home = config.get("home");
  if (home) {
    args.push("--home", home);
  }
  for (const dir of config.get("lib") || []) {
    args.push("--lib", dir);
  }
  return args;
}

function start() {
  const config = vscode.workspace.getConfiguration("corral");
  const server = { command: config.get("path") || "corral", args: serverArgs(config) };
  client = new LanguageClient(
    "corral",
    "Corral",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "corral" }] },
  );
  return client.start();
}

function activate(context) {
  // A changed setting restarts the server with its new command line.
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("corral") && client) {
        await client.stop();
        await start();
      }
    }),
  );
  return start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, serverArgs };
