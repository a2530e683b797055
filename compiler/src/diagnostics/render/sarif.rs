//! The SARIF 2.1.0 renderer, for code-scanning services (GitHub code
//! scanning, Azure DevOps, …): one run of the tool `corral` whose rules are
//! every diagnostic code, and one result per diagnostic. Columns are
//! counted in Unicode code points (`columnKind`), as everywhere in Corral.

use serde_json::{Value, json};

use super::super::{Code, Diagnostic, Severity};
use super::json::{JsonLocation, location};
use crate::source::SourceMap;

/// Where a code's documentation page lives: `{docs_base}/C2001.md`.
#[derive(Clone, Copy, Debug)]
pub struct SarifTool<'a> {
    pub version: &'a str,
    pub information_uri: &'a str,
    pub docs_base: &'a str,
}

/// A SARIF log for the diagnostics of several files, each with its own
/// source map.
pub fn render_sarif<'a>(
    tool: SarifTool<'_>,
    files: impl IntoIterator<Item = (&'a [Diagnostic], &'a SourceMap)>,
) -> Value {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|code| {
            json!({
                "id": code.as_str(),
                "name": code.slug(),
                "shortDescription": { "text": code.summary() },
                "helpUri": format!("{}/{}.md", tool.docs_base, code.as_str()),
            })
        })
        .collect();
    let mut results = Vec::new();
    for (diagnostics, sources) in files {
        results.extend(diagnostics.iter().map(|d| result(d, sources)));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "corral",
                "version": tool.version,
                "informationUri": tool.information_uri,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn physical(loc: &JsonLocation) -> Value {
    json!({
        "artifactLocation": { "uri": uri(&loc.file) },
        "region": {
            "startLine": loc.line,
            "startColumn": loc.column,
            "endLine": loc.end_line,
            "endColumn": loc.end_column,
        },
    })
}

/// A file name as a URI reference: relative paths stay relative (to where
/// corral ran, normally the repository root), absolute ones become
/// `file://` URIs; characters a URI cannot hold are percent-encoded.
fn uri(file: &str) -> String {
    let mut out = String::new();
    if file.starts_with('/') {
        out.push_str("file://");
    }
    for b in file.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn result(d: &Diagnostic, sources: &SourceMap) -> Value {
    let index = Code::ALL.iter().position(|c| *c == d.code).unwrap_or_default();
    let mut r = json!({
        "ruleId": d.code.as_str(),
        "ruleIndex": index,
        "level": level(d.severity),
        "message": { "text": d.full_text() },
    });
    if let Some(span) = d.primary_span() {
        let text = d.labels.iter().find(|l| l.primary).map(|l| l.message.as_str()).unwrap_or_default();
        let mut loc = json!({ "physicalLocation": physical(&location(sources, span)) });
        if !text.is_empty() {
            loc["message"] = json!({ "text": text });
        }
        r["locations"] = json!([loc]);
    }
    // The primary label is the first one marked primary, else the first.
    let primary = d.labels.iter().position(|l| l.primary).unwrap_or(0);
    let related: Vec<Value> = d
        .labels
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != primary)
        .map(|(_, l)| l)
        .enumerate()
        .map(|(i, l)| {
            json!({
                "id": i + 1,
                "physicalLocation": physical(&location(sources, l.span)),
                "message": { "text": l.message },
            })
        })
        .collect();
    if !related.is_empty() {
        r["relatedLocations"] = Value::Array(related);
    }
    if !d.counterexamples.is_empty() {
        r["properties"] = json!({ "counterexamples": d.counterexamples });
    }
    r
}
