//! `corral lsp`: a client session over stdin and stdout — initialize,
//! diagnostics on open and save (the compiler's at once, then the
//! verifier's) and on change (the compiler's, positions in UTF-16), hover,
//! go to definition, completion, the outline, formatting, shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start(extra: &[&str]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(["lsp", "--home", "/home/u"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                stdout.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client { child, stdin, messages, next_id: 1 }
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its result, skipping notifications.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.next();
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{message}");
                return message["result"].clone();
            }
        }
    }

    fn next(&self) -> Value {
        self.messages.recv_timeout(Duration::from_secs(120)).expect("the server answers within two minutes")
    }

    /// The next diagnostics published, skipping other messages.
    fn diagnostics(&self) -> Vec<Value> {
        loop {
            let message = self.next();
            if message["method"] == "textDocument/publishDiagnostics" {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    /// The first diagnostics published with a finding of `code`: the
    /// verifier's, which follow the compiler's.
    fn diagnostics_with(&self, code: &str) -> Vec<Value> {
        loop {
            let diags = self.diagnostics();
            if diags.iter().any(|d| d["code"] == code) {
                return diags;
            }
        }
    }
}

const POLICY: &str = r#"import std.secrets

/// Where the agent keeps notes.
let notes: paths = under "~/notes"

policy p {
    identity local "a"
    allow read under "~"
    allow read, write notes
    deny read secrets.all
    assert never read under "/home/u/.cache"
}
"#;

#[test]
fn a_session_gets_diagnostics_hovers_definitions_completions_symbols_and_formatting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.corral");
    std::fs::write(&path, POLICY).unwrap();
    let uri = format!("file://{}", path.display());
    let mut client = Client::start(&[]);

    let init =
        client.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
    let caps = &init["capabilities"];
    for cap in ["hoverProvider", "definitionProvider", "documentSymbolProvider", "documentFormattingProvider"]
    {
        assert_eq!(caps[cap], true, "{init}");
    }
    assert_eq!(init["serverInfo"]["name"], "corral");
    client.notify("initialized", json!({}));

    // On open the compiler's diagnostics come at once (none here), then the
    // verifier's: the assertion fails, with a counterexample.
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "corral", "version": 1, "text": POLICY } }),
    );
    assert_eq!(client.diagnostics(), Vec::<Value>::new());
    let diags = client.diagnostics_with("C2001");
    let failed = diags.iter().find(|d| d["code"] == "C2001").unwrap_or_else(|| panic!("{diags:?}"));
    assert_eq!(failed["severity"], 1);
    assert_eq!(failed["source"], "corral");
    assert_eq!(failed["range"]["start"], json!({ "line": 10, "character": 4 }));
    assert!(failed["message"].as_str().unwrap().contains("counterexample: read /home/u/.cache"), "{failed}");
    assert!(failed["codeDescription"]["href"].as_str().unwrap().ends_with("/docs/diagnostics/C2001.md"));

    // On change the compiler runs: an unknown name after a non-ASCII
    // string, its column counted in UTF-16 units.
    let changed =
        POLICY.replace("    allow read, write notes\n", "    allow read, write [\"/tmp/é😀\", note]\n");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": changed }] }),
    );
    let diags = client.diagnostics();
    let unknown = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("`note`"))
        .unwrap_or_else(|| panic!("{diags:?}"));
    // `    allow read, write ["/tmp/é😀", ` is 35 UTF-16 units (`😀` is two).
    assert_eq!(unknown["range"]["start"], json!({ "line": 8, "character": 35 }), "{unknown}");
    assert_eq!(unknown["range"]["end"], json!({ "line": 8, "character": 39 }), "{unknown}");
    assert!(diags.iter().all(|d| d["code"] != "C2001"), "no proof runs on a change: {diags:?}");

    // Back to the saved text, and saved: the proof runs again.
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [{ "text": POLICY }] }),
    );
    assert_eq!(client.diagnostics(), Vec::<Value>::new());
    client.notify("textDocument/didSave", json!({ "textDocument": { "uri": uri } }));
    assert_eq!(client.diagnostics(), Vec::<Value>::new());
    client.diagnostics_with("C2001");

    let at = |needle: &str, delta: u32| {
        let offset = POLICY.find(needle).unwrap();
        let line = POLICY[..offset].matches('\n').count() as u32;
        let column = (offset - POLICY[..offset].rfind('\n').map_or(0, |i| i + 1)) as u32;
        json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": column + delta } })
    };
    // Hover on a standard set: its declaration, module and docs.
    let hover = client.request("textDocument/hover", at("secrets.all", 9));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("let all: paths"), "{value}");
    assert!(value.contains("from `std.secrets`"), "{value}");
    // Hover on a local let: its doc comment.
    let hover = client.request("textDocument/hover", at("read, write notes", 13));
    assert!(hover["contents"]["value"].as_str().unwrap().contains("Where the agent keeps notes."), "{hover}");

    // Definition of the local let: its name on line 3.
    let def = client.request("textDocument/definition", at("read, write notes", 13));
    assert_eq!(def["uri"], uri);
    assert_eq!(
        def["range"],
        json!({ "start": { "line": 3, "character": 4 }, "end": { "line": 3, "character": 9 } })
    );
    // A standard module has no file: no location.
    assert_eq!(client.request("textDocument/definition", at("secrets.all", 9)), Value::Null);

    // Completion after `secrets.`: the module's sets, with their declarations.
    let items = client.request("textDocument/completion", at("secrets.all", 8));
    let labels = |items: &Value| -> Vec<String> {
        items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_owned()).collect()
    };
    assert!(labels(&items).contains(&"all".to_owned()), "{items}");
    let all = items.as_array().unwrap().iter().find(|i| i["label"] == "all").unwrap();
    assert_eq!(all["detail"], "let all: paths");
    assert!(!labels(&items).contains(&"allow".to_owned()), "only the module's names after a dot");
    // Elsewhere: the document's names, its imports, keywords, types, tiers.
    let items = labels(&client.request("textDocument/completion", at("allow read under", 0)));
    for expected in ["notes", "p", "secrets", "allow", "readonly", "paths", "container"] {
        assert!(items.contains(&expected.to_owned()), "`{expected}` missing from {items:?}");
    }

    let symbols = client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    let names: Vec<&str> = symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["std.secrets", "notes", "p"]);

    // Formatting: one edit to what `corral fmt` writes.
    let messy = POLICY.replace("    allow read under \"~\"", "allow    read under \"~\"");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 4 }, "contentChanges": [{ "text": messy }] }),
    );
    client.diagnostics();
    let edits = client.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["newText"], POLICY);

    assert_eq!(client.request("shutdown", Value::Null), Value::Null);
    client.notify("exit", Value::Null);
    let status = client.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// `import a.b` is looked up as the compiler looks it up: next to the
/// document, then under each `--lib` root.
#[test]
fn definitions_reach_modules_found_through_lib() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(lib.join("team")).unwrap();
    let module = "/// What every team may read.\nlet readable: paths = under \"/srv/shared\"\n";
    std::fs::write(lib.join("team/base.corral"), module).unwrap();
    let text = "import team.base\n\npolicy p {\n    allow read base.readable\n}\n";
    let path = dir.path().join("p.corral");
    std::fs::write(&path, text).unwrap();
    let uri = format!("file://{}", path.display());
    let mut client = Client::start(&["--lib", lib.to_str().unwrap()]);
    client.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
    client.notify("initialized", json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "corral", "version": 1, "text": text } }),
    );
    let position = json!({ "line": 3, "character": 20 });
    let def = client
        .request("textDocument/definition", json!({ "textDocument": { "uri": uri }, "position": position }));
    assert_eq!(def["uri"], format!("file://{}", lib.join("team/base.corral").display()), "{def}");
    assert_eq!(def["range"]["start"], json!({ "line": 1, "character": 4 }));
    let hover =
        client.request("textDocument/hover", json!({ "textDocument": { "uri": uri }, "position": position }));
    assert!(hover["contents"]["value"].as_str().unwrap().contains("What every team may read."), "{hover}");
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert_eq!(client.child.wait().unwrap().code(), Some(0));
}
