//! The Corral front end: a logos lexer, a lalrpop grammar and the syntax
//! tree. [`parse`] never fails: it returns a [`Module`] (with `Error` nodes
//! where it had to skip) and every syntax error it met.

pub mod ast;
pub mod fmt;
pub mod lexer;

use lalrpop_util::{ErrorRecovery, ParseError, lalrpop_mod};

use ast::{CommentKind, Module, Span};
use lexer::Tok;

lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        unused_qualifications,
        unused_parens
    )]
    grammar
);

/// A syntax error, as plain data; the compiler turns it into a coded
/// diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// A token the grammar does not allow here, with what it expected.
    UnexpectedToken {
        found: String,
        expected: Vec<String>,
    },
    UnexpectedEof {
        expected: Vec<String>,
    },
    InvalidCharacter(char),
    UnterminatedString,
    UnterminatedComment,
    InvalidEscape(String),
    IntegerTooLarge,
    /// `'…'`: strings are double-quoted.
    SingleQuoted,
    /// Nesting deeper than [`lexer::MAX_NESTING`].
    TooDeep,
}

/// The result of parsing one file.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub module: Module,
    pub errors: Vec<SyntaxError>,
}

/// Parses one source file. Never fails and never panics: syntax errors are
/// returned beside a tree in which the parser skipped what it could not read.
pub fn parse(source: &str) -> Parsed {
    let (result, mut errors, comments, open_braces) = parse_with_closers(source, 0);
    if let Err(e) = &result {
        errors.push(convert_error(e.clone(), source.len()));
    }
    let is_eof = |e: &SyntaxError| matches!(e.kind, SyntaxErrorKind::UnexpectedEof { .. });
    // A truncated file: parse again with the missing `}` invented at the
    // end, so that everything before it is still resolved and checked.
    // Recovery may already have closed some of them, so try each count and
    // keep the run with the fewest errors; report the end of file once.
    let retry = if open_braces > 0 && errors.iter().any(is_eof) {
        let len = u32::try_from(source.len()).unwrap_or(u32::MAX);
        (1..=open_braces.min(16))
            .filter_map(|k| match parse_with_closers(source, k) {
                (Ok(items), errs, _, _) => {
                    Some((items, errs.into_iter().filter(|e| e.span.start < len).collect::<Vec<_>>()))
                }
                _ => None,
            })
            .min_by_key(|(_, errs)| errs.len())
    } else {
        None
    };
    let mut module = match (retry, result) {
        (Some((items, retry_errors)), _) => {
            errors.retain(is_eof);
            errors.extend(retry_errors);
            Module { items, comments: Vec::new() }
        }
        (None, Ok(items)) => Module { items, comments: Vec::new() },
        (None, Err(_)) => Module::default(),
    };
    module.comments = comments;
    attach_docs(&mut module, source);
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    errors.dedup();
    Parsed { module, errors }
}

type ParseResult = Result<Vec<ast::Item>, ParseError<usize, Tok, SyntaxError>>;

/// One run of the parser; returns its result, every error it recovered
/// from, the comments and how many `{` were left open.
fn parse_with_closers(
    source: &str,
    closers: usize,
) -> (ParseResult, Vec<SyntaxError>, Vec<ast::Comment>, usize) {
    let mut stream = lexer::TokenStream::new(source);
    stream.synthetic_closers = closers;
    let mut recovered: Vec<ErrorRecovery<usize, Tok, SyntaxError>> = Vec::new();
    let result = grammar::ModuleParser::new().parse(&mut recovered, &mut stream);
    let mut errors = std::mem::take(&mut stream.errors);
    for rec in recovered {
        errors.push(convert_error(rec.error, source.len()));
    }
    let comments = std::mem::take(&mut stream.comments);
    (result, errors, comments, stream.open_braces)
}

fn convert_error(err: ParseError<usize, Tok, SyntaxError>, len: usize) -> SyntaxError {
    match err {
        ParseError::InvalidToken { location } => SyntaxError {
            kind: SyntaxErrorKind::InvalidCharacter('\0'),
            span: Span::new(location, location + 1),
        },
        ParseError::UnrecognizedEof { location, expected } => SyntaxError {
            kind: SyntaxErrorKind::UnexpectedEof { expected: clean_expected(expected) },
            span: Span::new(location.min(len), location.min(len)),
        },
        ParseError::UnrecognizedToken { token: (start, tok, end), expected } => SyntaxError {
            kind: SyntaxErrorKind::UnexpectedToken {
                found: found_text(&tok),
                expected: clean_expected(expected),
            },
            span: Span::new(start, end),
        },
        ParseError::ExtraToken { token: (start, tok, end) } => SyntaxError {
            kind: SyntaxErrorKind::UnexpectedToken { found: found_text(&tok), expected: vec![] },
            span: Span::new(start, end),
        },
        ParseError::User { error } => error,
    }
}

fn found_text(tok: &Tok) -> String {
    match tok {
        Tok::Ident(name) => format!("`{name}`"),
        Tok::Int(n) => format!("`{n}`"),
        Tok::Duration(d) => format!("`{d}`"),
        Tok::Str(_) => "a string".to_owned(),
        other => match lexer::keyword_text(other) {
            Some(kw) => format!("`{kw}`"),
            None => lexer::describe(other).to_owned(),
        },
    }
}

/// lalrpop names terminals by their grammar spelling (`"allow"`, `Ident`);
/// turn them into what a user reads.
fn clean_expected(expected: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = expected
        .into_iter()
        .map(|e| match e.as_str() {
            "Ident" => "a name".to_owned(),
            "Int" => "a number".to_owned(),
            "Str" => "a string".to_owned(),
            "Duration" => "a duration".to_owned(),
            "ErrorTok" => String::new(),
            s => format!("`{}`", s.trim_matches('"')),
        })
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Gives each item and statement the `///` comments that stand right before
/// it, separated only by whitespace.
fn attach_docs(module: &mut Module, source: &str) {
    let docs: Vec<(Span, &str)> = module
        .comments
        .iter()
        .filter(|c| c.kind == CommentKind::Doc)
        .map(|c| (c.span, c.text.as_str()))
        .collect();
    if docs.is_empty() {
        return;
    }
    let docs_before = |start: u32| -> Vec<String> {
        // Index of the first doc comment at or after `start`.
        let idx = docs.partition_point(|(span, _)| span.end <= start);
        let mut out = Vec::new();
        let mut cursor = start as usize;
        for (span, text) in docs[..idx].iter().rev() {
            let gap = source.get(span.end as usize..cursor).unwrap_or("x");
            if !gap.chars().all(char::is_whitespace) {
                break;
            }
            out.push(text.trim_start_matches("///").trim().to_owned());
            cursor = span.start as usize;
        }
        out.reverse();
        out
    };
    for item in &mut module.items {
        item.docs = docs_before(item.span.start);
        if let ast::ItemKind::Policy(policy) = &mut item.kind {
            for stmt in &mut policy.body {
                stmt.docs = docs_before(stmt.span.start);
            }
        }
    }
}
