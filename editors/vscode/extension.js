// Starts `ecrules lsp` for .ecp files. Highlighting comes from syntaxes/ecp.tmLanguage.json;
// everything else (diagnostics, hover, definition, completion, formatting) from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("ecrules");
  const server = {
    command: config.get("server.command", "ecrules"),
    args: config.get("server.args", ["lsp"]),
  };
  client = new LanguageClient(
    "ecrules",
    "ecrules language server",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "ecp" },
        { scheme: "untitled", language: "ecp" },
      ],
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
