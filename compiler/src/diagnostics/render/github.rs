//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice`
//! line per diagnostic, which the runner turns into an annotation on the
//! file and line of the pull request.

use super::super::{Diagnostic, Severity};
use super::json::location;
use crate::source::SourceMap;

/// The workflow commands for `diagnostics`, one line each.
pub fn render_github(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut properties = Vec::new();
        if let Some(span) = d.primary_span() {
            let loc = location(sources, span);
            properties.push(format!("file={}", escape_property(&loc.file)));
            properties.push(format!("line={}", loc.line));
            properties.push(format!("col={}", loc.column));
            properties.push(format!("endLine={}", loc.end_line));
            properties.push(format!("endColumn={}", loc.end_column));
        }
        properties
            .push(format!("title={}", escape_property(&format!("{} {}", d.code.as_str(), d.code.slug()))));
        out.push_str(&format!("::{command} {}::{}\n", properties.join(","), escape_data(&d.full_text())));
    }
    out
}

/// The escaping of a command's message (`@actions/core`'s `escapeData`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// The escaping of a property value (`escapeProperty`): also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::{escape_data, escape_property};

    #[test]
    fn messages_and_properties_are_escaped_as_the_runner_expects() {
        assert_eq!(escape_data("50% of\nlines\r"), "50%25 of%0Alines%0D");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
