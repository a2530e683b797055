//! Syntax errors from the parser, as coded diagnostics.

use corral_grammar::{SyntaxError, SyntaxErrorKind};

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{FileId, SourceSpan};

/// Keywords a user may well have meant as a name: the rights, the devices,
/// and the identity kinds.
fn meant_as_name(found: &str) -> bool {
    RIGHTS.contains(&found) || DEVICES.contains(&found) || ["`local`", "`entra`"].contains(&found)
}

pub fn syntax_diagnostic(err: &SyntaxError, file: FileId) -> Diagnostic {
    let span = SourceSpan::new(file, err.span);
    match &err.kind {
        SyntaxErrorKind::UnexpectedToken { found, expected } => {
            let mut d = Diagnostic::error(Code::UnexpectedToken, format!("unexpected {found}"))
                .primary(span, expected_label(expected));
            if expected.iter().any(|e| e == "a name") && meant_as_name(found) {
                d = d.help(format!("{found} is a keyword and cannot be used as a name"));
            } else if found == "`}`" && expected.is_empty() {
                d = d.help("this `}` closes no `{`");
            }
            d
        }
        SyntaxErrorKind::UnexpectedEof { expected } => {
            Diagnostic::error(Code::UnexpectedEof, "unexpected end of file")
                .primary(span, expected_label(expected))
        }
        SyntaxErrorKind::InvalidCharacter(c) => {
            let shown = if c.is_control() { format!("{:?}", c) } else { format!("`{c}`") };
            let mut d = Diagnostic::error(Code::InvalidCharacter, format!("invalid character {shown}"))
                .primary(span, "no token starts with this character");
            if *c == '\'' {
                d = d.help("strings are written in double quotes");
            } else if *c == ';' {
                d = d.help("statements need no `;`: one per line");
            }
            d
        }
        SyntaxErrorKind::SingleQuoted => Diagnostic::error(Code::InvalidCharacter, "single-quoted string")
            .primary(span, "strings are written in double quotes")
            .help("write `\"…\"` instead of `'…'`"),
        SyntaxErrorKind::UnterminatedString => {
            Diagnostic::error(Code::UnterminatedString, "unterminated string")
                .primary(span, "this string has no closing `\"`")
                .help("strings end on the line they start; close it with `\"`")
        }
        SyntaxErrorKind::UnterminatedComment => {
            Diagnostic::error(Code::UnterminatedComment, "unterminated block comment")
                .primary(span, "this comment has no closing `*/`")
        }
        SyntaxErrorKind::InvalidEscape(esc) => {
            Diagnostic::error(Code::InvalidEscape, format!("invalid escape `{esc}`"))
                .primary(span, "in this string")
                .help("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\0` and `\\u{HEX}`")
        }
        SyntaxErrorKind::IntegerTooLarge => Diagnostic::error(Code::IntegerTooLarge, "number too large")
            .primary(span, "does not fit in 64 bits"),
        SyntaxErrorKind::TooDeep => Diagnostic::error(Code::NestingTooDeep, "nesting too deep")
            .primary(span, format!("more than {} levels", corral_grammar::lexer::MAX_NESTING))
            .help("name inner parts with `let` to flatten the expression"),
    }
}

const RIGHTS: [&str; 6] = ["`read`", "`list`", "`write`", "`create`", "`delete`", "`exec`"];
const DEVICES: [&str; 8] = [
    "`clipboard`",
    "`screen`",
    "`input`",
    "`windows`",
    "`camera`",
    "`microphone`",
    "`location`",
    "`browser`",
];

/// "expected …", with the rights and the devices each folded into one word.
fn expected_label(expected: &[String]) -> String {
    let has = |set: &[&str]| set.iter().all(|k| expected.iter().any(|e| e == k));
    let (fold_rights, fold_devices) = (has(&RIGHTS), has(&DEVICES));
    let mut items: Vec<String> = Vec::new();
    if fold_rights {
        items.push("a right".into());
    }
    if fold_devices {
        items.push("a device".into());
    }
    items.extend(
        expected
            .iter()
            .filter(|e| {
                let folded = (fold_rights && RIGHTS.contains(&e.as_str()))
                    || (fold_devices && DEVICES.contains(&e.as_str()));
                !folded
            })
            .cloned(),
    );
    let starts_stmt = expected.iter().any(|e| e == "`allow`") && expected.iter().any(|e| e == "`}`");
    let starts_item = expected.iter().any(|e| e == "`policy`") && expected.iter().any(|e| e == "`import`");
    match items.len() {
        0 => "not expected here".to_owned(),
        _ if starts_stmt => "expected a rule, a setting, an assertion or `}`".to_owned(),
        _ if starts_item => "expected `import`, `let`, `param` or `policy`".to_owned(),
        1..=7 => format!("expected {}", join_or(&items)),
        _ if expected.iter().any(|e| e == "a string") && expected.iter().any(|e| e == "a name") => {
            "expected a set expression".to_owned()
        }
        _ => format!("expected {}, …", items[..6].join(", ")),
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
