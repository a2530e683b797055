//! `corral lsp`: the language server, on stdin and stdout (JSON-RPC with
//! `lsp-server`, the protocol types of `lsp-types`). The only module that
//! knows LSP.
//!
//! What it does: diagnostics (the compiler's on every change, with the
//! verifier's on open and save), formatting (`corral fmt`), hover and go
//! to definition on names, completion, and the document outline. Documents are synced
//! whole. `~` is `$HOME`, as for the other commands.
//!
//! Proofs run on a thread of their own, so that the editor keeps its
//! answers while z3 works: the compiler's diagnostics go out at once, the
//! verifier's when they are ready, unless the document changed meanwhile
//! (each document has a revision; a stale result is dropped).

mod completion;
mod diagnostics;
mod navigation;
mod text;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use corral_compiler::Options;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, Request as _,
};
use lsp_types::{
    CompletionOptions, CompletionResponse, DocumentSymbolResponse, GotoDefinitionResponse,
    HoverProviderCapability, InitializeResult, OneOf, PublishDiagnosticsParams, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, TextEdit, Url,
};
use serde_json::Value;

use crate::common::{self, CompileArgs, EXIT_FAIL, EXIT_OK};
use text::LineIndex;

#[derive(Args, Debug)]
pub struct LspArgs {
    #[command(flatten)]
    compile: CompileArgs,
}

/// An open document.
struct Document {
    path: PathBuf,
    text: String,
}

struct Server {
    connection: Connection,
    options: Options,
    documents: HashMap<Url, Document>,
    /// Each document's revision, bumped on every open, change, save and
    /// close; a proof publishes only if its revision is still current.
    revisions: Arc<Mutex<HashMap<Url, u64>>>,
}

pub fn run(args: &LspArgs) -> u8 {
    let options = match args.compile.options() {
        Ok(o) => o,
        Err(e) => return common::usage_error(&e),
    };
    let (connection, io_threads) = Connection::stdio();
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::FULL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
            ..TextDocumentSyncOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_owned()]),
            ..CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    };
    let result = InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "corral".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
    };
    let initialized = connection.initialize_start().map_err(|e| e.to_string()).and_then(|(id, _params)| {
        let result = serde_json::to_value(result).map_err(|e| e.to_string())?;
        connection.initialize_finish(id, result).map_err(|e| e.to_string())
    });
    if let Err(e) = initialized {
        eprintln!("error: the language client did not initialize: {e}");
        return EXIT_FAIL;
    }
    let mut server = Server {
        connection,
        options,
        documents: HashMap::new(),
        revisions: Arc::new(Mutex::new(HashMap::new())),
    };
    let outcome = server.main_loop();
    drop(server);
    // The writer thread ends when every sender is gone, and a proof still
    // running holds one: it is not waited for. The client has had the
    // answer to `shutdown` before it sent `exit`.
    drop(io_threads);
    match outcome {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAIL
        }
    }
}

impl Server {
    fn main_loop(&mut self) -> Result<(), String> {
        while let Ok(message) = self.connection.receiver.recv() {
            match message {
                Message::Request(request) => {
                    if self.connection.handle_shutdown(&request).map_err(|e| e.to_string())? {
                        return Ok(());
                    }
                    let response = self.request(request);
                    self.send(Message::Response(response))?;
                }
                Message::Notification(notification) => self.notification(notification)?,
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    fn send(&self, message: Message) -> Result<(), String> {
        self.connection.sender.send(message).map_err(|e| format!("cannot write to the client: {e}"))
    }

    fn request(&self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            HoverRequest::METHOD => self.at_position(&request, navigation::hover),
            GotoDefinition::METHOD => self.at_position(&request, |place, text, offset| {
                navigation::definition(place, text, offset).map(GotoDefinitionResponse::Scalar)
            }),
            Completion::METHOD => self.at_position(&request, |place, text, offset| {
                Some(CompletionResponse::Array(completion::completion(place, text, offset)))
            }),
            DocumentSymbolRequest::METHOD => self.document(&request).map(|doc| {
                serde_json::to_value(DocumentSymbolResponse::Nested(navigation::symbols(&doc.text)))
                    .unwrap_or(Value::Null)
            }),
            Formatting::METHOD => self.document(&request).map(|doc| format_edits(&doc.text)),
            _ => {
                return Response::new_err(
                    id,
                    ErrorCode::MethodNotFound as i32,
                    format!("`{}` is not supported", request.method),
                );
            }
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(message) => Response::new_err(id, ErrorCode::InvalidParams as i32, message),
        }
    }

    /// The open document a request names in `textDocument.uri`.
    fn document(&self, request: &Request) -> Result<&Document, String> {
        let uri: Url = serde_json::from_value(request.params["textDocument"]["uri"].clone())
            .map_err(|e| format!("no document in the request: {e}"))?;
        self.documents.get(&uri).ok_or_else(|| format!("`{uri}` is not open"))
    }

    /// Answers a request about `textDocument` at `position`.
    fn at_position<T: serde::Serialize>(
        &self,
        request: &Request,
        answer: impl Fn(navigation::Place<'_>, &str, usize) -> Option<T>,
    ) -> Result<Value, String> {
        let doc = self.document(request)?;
        let position: lsp_types::Position = serde_json::from_value(request.params["position"].clone())
            .map_err(|e| format!("no position in the request: {e}"))?;
        let offset = LineIndex::new(&doc.text).offset(&doc.text, position);
        let place = navigation::Place { path: &doc.path, lib_dirs: &self.options.lib_dirs };
        Ok(answer(place, &doc.text, offset)
            .map_or(Value::Null, |v| serde_json::to_value(v).unwrap_or(Value::Null)))
    }

    fn notification(&mut self, notification: Notification) -> Result<(), String> {
        let params = notification.params;
        let uri = || serde_json::from_value::<Url>(params["textDocument"]["uri"].clone()).ok();
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let (Some(uri), Some(text)) = (uri(), params["textDocument"]["text"].as_str()) else {
                    return Ok(());
                };
                let path = uri.to_file_path().unwrap_or_else(|()| PathBuf::from(uri.path()));
                self.documents.insert(uri.clone(), Document { path, text: text.to_owned() });
                self.publish(&uri, true)
            }
            DidChangeTextDocument::METHOD => {
                let Some(uri) = uri() else { return Ok(()) };
                // Full sync: the last change holds the whole text.
                let text = params["contentChanges"]
                    .as_array()
                    .and_then(|c| c.last())
                    .and_then(|c| c["text"].as_str());
                match (self.documents.get_mut(&uri), text) {
                    (Some(doc), Some(text)) => doc.text = text.to_owned(),
                    _ => return Ok(()),
                }
                self.publish(&uri, false)
            }
            DidSaveTextDocument::METHOD => match uri() {
                Some(uri) if self.documents.contains_key(&uri) => self.publish(&uri, true),
                _ => Ok(()),
            },
            DidCloseTextDocument::METHOD => {
                let Some(uri) = uri() else { return Ok(()) };
                self.documents.remove(&uri);
                self.bump(&uri);
                self.send_diagnostics(uri, Vec::new())
            }
            _ => Ok(()),
        }
    }

    /// A new revision of `uri`.
    fn bump(&self, uri: &Url) -> u64 {
        let mut revisions = self.revisions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let revision = revisions.entry(uri.clone()).or_insert(0);
        *revision += 1;
        *revision
    }

    /// Publishes the compiler's diagnostics of `uri` now and, with
    /// `verify`, the verifier's too when a thread has them.
    fn publish(&self, uri: &Url, verify: bool) -> Result<(), String> {
        let Some(doc) = self.documents.get(uri) else { return Ok(()) };
        let revision = self.bump(uri);
        let found = diagnostics::diagnostics(&doc.path, &doc.text, &self.options, false);
        self.send_diagnostics(uri.clone(), found)?;
        if !verify {
            return Ok(());
        }
        let (path, text, options) = (doc.path.clone(), doc.text.clone(), self.options.clone());
        let (uri, sender, revisions) =
            (uri.clone(), self.connection.sender.clone(), Arc::clone(&self.revisions));
        std::thread::spawn(move || {
            let found = diagnostics::diagnostics(&path, &text, &options, true);
            // Checked and sent under the lock, so that a newer revision's
            // diagnostics are never followed by these.
            let revisions = revisions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if revisions.get(&uri) == Some(&revision) {
                let _ = sender.send(publish_message(uri, found));
            }
        });
        Ok(())
    }

    fn send_diagnostics(&self, uri: Url, diagnostics: Vec<lsp_types::Diagnostic>) -> Result<(), String> {
        // Under the revision lock: see `publish`.
        let _revisions = self.revisions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.send(publish_message(uri, diagnostics))
    }
}

fn publish_message(uri: Url, diagnostics: Vec<lsp_types::Diagnostic>) -> Message {
    let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
    Message::Notification(Notification::new(PublishDiagnostics::METHOD.to_owned(), params))
}

/// `corral fmt` as one edit replacing the whole document; none when it is
/// already formatted or does not parse.
fn format_edits(text: &str) -> Value {
    let Some(formatted) = corral_grammar::fmt::format_source(text) else { return Value::Null };
    if formatted == text {
        return Value::Array(Vec::new());
    }
    let index = LineIndex::new(text);
    let edit = TextEdit { range: index.range(text, 0, text.len()), new_text: formatted };
    serde_json::to_value(vec![edit]).unwrap_or(Value::Null)
}
