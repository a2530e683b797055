//! One plain-data diagnostic model for every output: the terminal (miette),
//! JSON, and later SARIF, GitHub annotations and the language server.

mod codes;
pub mod render;

use serde::Serialize;

pub use crate::resolve::syntax_diagnostic;
pub use codes::Code;

use crate::source::SourceSpan;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: SourceSpan,
    pub message: String,
    /// The label that says where the problem is; others add context.
    pub primary: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// One line, lower case, no trailing period; user input in backticks.
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
    /// Concrete accesses that show the problem (verifier findings), in the
    /// access syntax of `corral eval`.
    pub counterexamples: Vec<String>,
}

impl Diagnostic {
    pub fn new(code: Code, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
            counterexamples: Vec::new(),
        }
    }

    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic::new(code, Severity::Error, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic::new(code, Severity::Warning, message)
    }

    /// Adds the primary label.
    pub fn primary(mut self, span: SourceSpan, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into(), primary: true });
        self
    }

    /// Adds a secondary label.
    pub fn secondary(mut self, span: SourceSpan, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into(), primary: false });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds a concrete access that shows the problem.
    pub fn counterexample(mut self, access: impl Into<String>) -> Self {
        self.counterexamples.push(access.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary label's span, or the first label's.
    /// The message, then the counterexamples, the help and the notes, one
    /// per line: for outputs that show only a message (SARIF, GitHub
    /// annotations, an editor's hover).
    pub fn full_text(&self) -> String {
        let mut text = self.message.clone();
        for c in &self.counterexamples {
            text.push_str(&format!("\ncounterexample: {c}"));
        }
        if let Some(help) = &self.help {
            text.push_str(&format!("\nhelp: {help}"));
        }
        for note in &self.notes {
            text.push_str(&format!("\nnote: {note}"));
        }
        text
    }

    pub fn primary_span(&self) -> Option<SourceSpan> {
        self.labels.iter().find(|l| l.primary).or_else(|| self.labels.first()).map(|l| l.span)
    }
}

/// The candidate closest to `name`, if any is close enough to suggest.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for cand in candidates {
        let score = strsim::jaro_winkler(name, cand);
        if score > 0.8 && best.is_none_or(|(s, c)| score > s || (score == s && cand < c)) {
            best = Some((score, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// "did you mean `x`?" for the candidate closest to `name`, if any is close.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// Sorts diagnostics by file and position, keeping the order of equal ones.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start, s.end)));
}
