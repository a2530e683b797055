//! Diagnostics of an open document: the compiler's on every change, and
//! with the verifier's (assertions, safety checks, analyses) when the
//! document is opened or saved — proofs take longer than a keystroke.

use std::path::Path;

use corral_compiler::diagnostics::{Diagnostic, Severity};
use corral_compiler::source::{SourceMap, SourceSpan};
use corral_compiler::{Compilation, Options, compile_source};
use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Url,
};

use super::text::LineIndex;
use crate::check::{self, VerifyArgs};

/// The documentation page of a code, as a diagnostic's link.
const DOCS: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/diagnostics");

/// How long the verifier may take in the editor: per query, and for the
/// analyses of one policy.
pub const EDITOR_TIMEOUT_MS: u32 = 5_000;
pub const EDITOR_ANALYSIS_BUDGET_MS: u64 = 2_000;

/// Compiles `text` (the document at `path`) and, with `verify`, runs the
/// verifier; returns the LSP diagnostics of the document.
pub fn diagnostics(path: &Path, text: &str, options: &Options, verify: bool) -> Vec<lsp_types::Diagnostic> {
    let name = path.to_string_lossy();
    let mut compilation: Compilation = compile_source(&name, text, path.parent(), options);
    if verify {
        let args = VerifyArgs {
            deny_warnings: false,
            timeout_ms: EDITOR_TIMEOUT_MS,
            no_analyses: false,
            analysis_budget_ms: EDITOR_ANALYSIS_BUDGET_MS,
        };
        check::verify(&mut compilation, &args);
    }
    let sources = compilation.sources();
    let index = LineIndex::new(text);
    compilation.diagnostics.iter().map(|d| to_lsp(d, sources, &name, text, &index)).collect()
}

fn to_lsp(
    d: &Diagnostic,
    sources: &SourceMap,
    name: &str,
    text: &str,
    index: &LineIndex,
) -> lsp_types::Diagnostic {
    let here = |span: SourceSpan| sources.name(span.file) == name;
    let range = |span: SourceSpan| index.range(text, span.start as usize, span.end as usize);
    let mut message = d.full_text();
    // A diagnostic located in another file (an imported module) is shown
    // at the top of this one, naming where it is.
    let primary = match d.primary_span() {
        Some(span) if here(span) => range(span),
        Some(span) => {
            message = format!("in {}: {message}", sources.location(span));
            Range::default()
        }
        None => Range::default(),
    };
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary && !l.message.is_empty())
        .filter_map(|l| {
            let uri = Url::from_file_path(sources.name(l.span.file)).ok()?;
            let range = if here(l.span) { range(l.span) } else { Range::default() };
            Some(DiagnosticRelatedInformation {
                location: Location { uri, range },
                message: l.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: primary,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_owned())),
        code_description: Url::parse(&format!("{DOCS}/{}.md", d.code.as_str()))
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("corral".to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}
