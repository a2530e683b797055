//! The JSON renderer: a stable, documented schema (`docs/cli.md`).

use serde::Serialize;

use super::super::{Diagnostic, Severity};
use crate::source::{SourceMap, SourceSpan};

#[derive(Clone, Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The primary location, when there is one.
    pub location: Option<JsonLocation>,
    pub labels: Vec<JsonLabel>,
    pub help: Option<String>,
    pub notes: Vec<String>,
    /// Concrete accesses that show the problem, for verifier findings.
    pub counterexamples: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct JsonLocation {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// Byte offsets.
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct JsonLabel {
    pub location: JsonLocation,
    pub message: String,
    pub primary: bool,
}

pub fn location(sources: &SourceMap, span: SourceSpan) -> JsonLocation {
    let (line, column) = sources.line_col(span.file, span.start);
    let (end_line, end_column) = sources.line_col(span.file, span.end);
    JsonLocation {
        file: sources.name(span.file).to_owned(),
        line,
        column,
        end_line,
        end_column,
        start: span.start,
        end: span.end,
    }
}

pub fn to_json(diag: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
    JsonDiagnostic {
        code: diag.code.as_str(),
        slug: diag.code.slug(),
        severity: diag.severity,
        message: diag.message.clone(),
        location: diag.primary_span().map(|s| location(sources, s)),
        labels: diag
            .labels
            .iter()
            .map(|l| JsonLabel {
                location: location(sources, l.span),
                message: l.message.clone(),
                primary: l.primary,
            })
            .collect(),
        help: diag.help.clone(),
        notes: diag.notes.clone(),
        counterexamples: diag.counterexamples.clone(),
    }
}

/// A JSON array of diagnostics.
pub fn render_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    serde_json::Value::Array(
        diagnostics.iter().map(|d| serde_json::to_value(to_json(d, sources)).unwrap_or_default()).collect(),
    )
}
