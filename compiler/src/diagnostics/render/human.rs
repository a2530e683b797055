//! The terminal renderer, on miette. Labels in other files than the primary
//! one are shown as related reports, each with its own source.

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity as MietteSeverity, SourceCode,
};

use super::super::{Diagnostic, Label, Severity};
use crate::source::{FileId, SourceMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HumanStyle {
    /// Colours and unicode, for a terminal.
    Color,
    /// Unicode without colour: files, pipes and snapshots.
    Plain,
}

/// Renders diagnostics for a person, one after another.
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, style: HumanStyle) -> String {
    let theme = match style {
        HumanStyle::Color => GraphicalTheme::unicode(),
        HumanStyle::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false).with_wrap_lines(false);
    let mut out = String::new();
    for diag in diagnostics {
        let report = Report::build(diag, sources);
        let _ = handler.render_report(&mut out, &report);
    }
    out
}

struct Report {
    message: String,
    code: String,
    severity: Option<MietteSeverity>,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn build(diag: &Diagnostic, sources: &SourceMap) -> Report {
        let severity = Some(match diag.severity {
            Severity::Error => MietteSeverity::Error,
            Severity::Warning => MietteSeverity::Warning,
            Severity::Info => MietteSeverity::Advice,
        });
        let mut message = diag.message.clone();
        for access in &diag.counterexamples {
            message.push_str("\n  counterexample: ");
            message.push_str(access);
        }
        for note in &diag.notes {
            message.push_str("\n  note: ");
            message.push_str(note);
        }
        // miette shows one snippet per source and names the location of the
        // first one, so labels far from the primary one (or in other files)
        // go into related reports that follow it.
        let primary = diag.primary_span();
        let line = |l: &Label| sources.line_col(l.span.file, l.span.start).0;
        let near_primary = |l: &Label| {
            primary.is_some_and(|p| {
                let pl = sources.line_col(p.file, p.start).0;
                l.span.file == p.file && line(l).abs_diff(pl) <= 3
            })
        };
        let mut groups_list: Vec<(FileId, Vec<&Label>)> = Vec::new();
        if let Some(p) = primary {
            groups_list.push((p.file, diag.labels.iter().filter(|l| near_primary(l)).collect()));
        }
        for l in diag.labels.iter().filter(|l| !near_primary(l)) {
            match groups_list
                .iter_mut()
                .skip(1)
                .find(|(f, ls)| *f == l.span.file && ls.iter().all(|o| line(o).abs_diff(line(l)) <= 3))
            {
                Some((_, ls)) => ls.push(l),
                None => groups_list.push((l.span.file, vec![l])),
            }
        }
        let mut groups = groups_list.into_iter();
        let (source, labels) = match groups.next() {
            Some((file, labels)) => (Some(named(sources, file)), labeled(&labels, sources, file)),
            None => (None, Vec::new()),
        };
        let related = groups
            .map(|(file, labels)| Report {
                message: if Some(file) == primary.map(|p| p.file) {
                    "see also".to_owned()
                } else {
                    format!("in {}", sources.name(file))
                },
                code: String::new(),
                severity: Some(MietteSeverity::Advice),
                help: None,
                source: Some(named(sources, file)),
                labels: labeled(&labels, sources, file),
                related: Vec::new(),
            })
            .collect();
        Report {
            message,
            code: format!("{}({})", diag.code.as_str(), diag.code.slug()),
            severity,
            help: diag.help.clone(),
            source,
            labels,
            related,
        }
    }
}

fn named(sources: &SourceMap, file: FileId) -> NamedSource<String> {
    NamedSource::new(sources.name(file), sources.text(file).to_owned())
}

fn labeled(labels: &[&Label], sources: &SourceMap, file: FileId) -> Vec<LabeledSpan> {
    let len = sources.text(file).len();
    labels
        .iter()
        .map(|l| {
            let start = (l.span.start as usize).min(len);
            let end = (l.span.end as usize).clamp(start, len);
            let text = (!l.message.is_empty()).then(|| l.message.clone());
            if l.primary {
                LabeledSpan::new_primary_with_span(text, start..end)
            } else {
                LabeledSpan::new_with_span(text, start..end)
            }
        })
        .collect()
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<MietteSeverity> {
        self.severity
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
        }
    }
}
