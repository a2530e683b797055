//! The logos lexer, and the token stream the lalrpop parser reads.
//!
//! The stream does three things beyond tokenising: it sets comments aside
//! for the formatter, it turns bad characters into syntax errors without
//! stopping, and it bounds nesting (`(`, `[` and runs of `not`), replacing an
//! over-deep region by one `Error` token so that no later pass can overflow
//! its stack.

use logos::{Lexer, Logos};

use crate::ast::{Comment, CommentKind, Span};
use crate::{SyntaxError, SyntaxErrorKind};

/// Deepest nesting of brackets, and longest run of `not`, accepted.
pub const MAX_NESTING: usize = 64;

#[derive(Clone, Debug, PartialEq, Default)]
pub enum LexError {
    #[default]
    InvalidCharacter,
    UnterminatedString,
    UnterminatedComment,
    InvalidEscape(String),
    IntegerTooLarge,
    SingleQuoted,
}

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(error = LexError)]
pub enum Tok {
    #[token("import")]
    Import,
    #[token("as")]
    As,
    #[token("let")]
    Let,
    #[token("param")]
    Param,
    #[token("policy")]
    Policy,
    #[token("extends")]
    Extends,
    #[token("within")]
    Within,
    #[token("allow")]
    Allow,
    #[token("unsafe")]
    Unsafe,
    #[token("deny")]
    Deny,
    #[token("readonly")]
    Readonly,
    #[token("identity")]
    Identity,
    #[token("local")]
    Local,
    #[token("entra")]
    Entra,
    #[token("isolation")]
    Isolation,
    #[token("timeout")]
    Timeout,
    #[token("proxy")]
    Proxy,
    #[token("assert")]
    Assert,
    #[token("because")]
    Because,
    #[token("can")]
    Can,
    #[token("never")]
    Never,
    #[token("only")]
    Only,
    #[token("not")]
    Not,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("implies")]
    Implies,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("under")]
    Under,
    #[token("connect")]
    Connect,
    #[token("bind")]
    Bind,
    #[token("from")]
    From,
    #[token("tcp")]
    Tcp,
    #[token("udp")]
    Udp,
    #[token("read")]
    Read,
    #[token("list")]
    List,
    #[token("write")]
    Write,
    #[token("create")]
    Create,
    #[token("delete")]
    Delete,
    #[token("exec")]
    Exec,
    #[token("clipboard")]
    Clipboard,
    #[token("screen")]
    Screen,
    #[token("input")]
    Input,
    #[token("windows")]
    Windows,
    #[token("camera")]
    Camera,
    #[token("microphone")]
    Microphone,
    #[token("location")]
    Location,
    #[token("browser")]
    Browser,

    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("|")]
    Pipe,
    #[token("&")]
    Amp,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("=")]
    Eq,
    #[token(">=")]
    Ge,
    #[token("<=")]
    Le,
    #[token("==")]
    EqEq,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_owned())]
    Ident(String),
    #[regex(r"[0-9]+", parse_int)]
    Int(u64),
    #[regex(r"[0-9]+(ms|s|m|h|d)", |lex| lex.slice().to_owned())]
    Duration(String),
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, unescape)]
    Str(String),
    #[regex(r#""([^"\\\n]|\\[^\n])*"#, unterminated_string)]
    UnterminatedStr,

    #[regex(r"'[^'\n]*'", single_quoted)]
    SingleQuotedStr,

    #[regex(r"//[^\n]*", |lex| lex.slice().to_owned(), allow_greedy = true)]
    LineComment(String),
    #[token("/*", block_comment)]
    BlockComment(String),

    /// Stands for a region the lexer dropped (over-deep nesting); the
    /// grammar accepts it wherever an expression or formula may stand.
    Error,
}

fn parse_int(lex: &mut Lexer<Tok>) -> Result<u64, LexError> {
    lex.slice().parse().map_err(|_| LexError::IntegerTooLarge)
}

fn single_quoted(_: &mut Lexer<Tok>) -> Result<(), LexError> {
    Err(LexError::SingleQuoted)
}

fn unterminated_string(_: &mut Lexer<Tok>) -> Result<(), LexError> {
    Err(LexError::UnterminatedString)
}

fn block_comment(lex: &mut Lexer<Tok>) -> Result<String, LexError> {
    let rest = lex.remainder();
    match rest.find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            Ok(lex.slice().to_owned())
        }
        None => {
            lex.bump(rest.len());
            Err(LexError::UnterminatedComment)
        }
    }
}

fn unescape(lex: &mut Lexer<Tok>) -> Result<String, LexError> {
    let raw = lex.slice();
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let rest = chars.as_str();
                let parsed =
                    rest.strip_prefix('{').and_then(|r| r.split_once('}')).and_then(|(hex, after)| {
                        let v = u32::from_str_radix(hex, 16).ok()?;
                        Some((char::from_u32(v)?, after))
                    });
                match parsed {
                    Some((ch, after)) => {
                        out.push(ch);
                        chars = after.chars();
                    }
                    None => return Err(LexError::InvalidEscape("\\u".into())),
                }
            }
            Some(other) => return Err(LexError::InvalidEscape(format!("\\{other}"))),
            None => return Err(LexError::InvalidEscape("\\".into())),
        }
    }
    Ok(out)
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(describe(self))
    }
}

/// How a token is named in "expected …" messages.
pub fn describe(tok: &Tok) -> &'static str {
    match tok {
        Tok::Ident(_) => "a name",
        Tok::Int(_) => "a number",
        Tok::Duration(_) => "a duration",
        Tok::Str(_) | Tok::UnterminatedStr | Tok::SingleQuotedStr => "a string",
        Tok::LineComment(_) | Tok::BlockComment(_) => "a comment",
        Tok::Error => "an over-deep region",
        other => keyword_text(other).unwrap_or("a token"),
    }
}

/// The exact text of a keyword or punctuation token.
pub fn keyword_text(tok: &Tok) -> Option<&'static str> {
    Some(match tok {
        Tok::Import => "import",
        Tok::As => "as",
        Tok::Let => "let",
        Tok::Param => "param",
        Tok::Policy => "policy",
        Tok::Extends => "extends",
        Tok::Within => "within",
        Tok::Allow => "allow",
        Tok::Unsafe => "unsafe",
        Tok::Deny => "deny",
        Tok::Readonly => "readonly",
        Tok::Identity => "identity",
        Tok::Local => "local",
        Tok::Entra => "entra",
        Tok::Isolation => "isolation",
        Tok::Timeout => "timeout",
        Tok::Proxy => "proxy",
        Tok::Assert => "assert",
        Tok::Because => "because",
        Tok::Can => "can",
        Tok::Never => "never",
        Tok::Only => "only",
        Tok::Not => "not",
        Tok::And => "and",
        Tok::Or => "or",
        Tok::Implies => "implies",
        Tok::True => "true",
        Tok::False => "false",
        Tok::Under => "under",
        Tok::Connect => "connect",
        Tok::Bind => "bind",
        Tok::From => "from",
        Tok::Tcp => "tcp",
        Tok::Udp => "udp",
        Tok::Read => "read",
        Tok::List => "list",
        Tok::Write => "write",
        Tok::Create => "create",
        Tok::Delete => "delete",
        Tok::Exec => "exec",
        Tok::Clipboard => "clipboard",
        Tok::Screen => "screen",
        Tok::Input => "input",
        Tok::Windows => "windows",
        Tok::Camera => "camera",
        Tok::Microphone => "microphone",
        Tok::Location => "location",
        Tok::Browser => "browser",
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::Comma => ",",
        Tok::Colon => ":",
        Tok::Dot => ".",
        Tok::DotDot => "..",
        Tok::Pipe => "|",
        Tok::Amp => "&",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Eq => "=",
        Tok::Ge => ">=",
        Tok::Le => "<=",
        Tok::EqEq => "==",
        _ => return None,
    })
}

/// Every keyword (the words of [`keyword_text`]), for editors.
pub const KEYWORDS: [&str; 48] = [
    "import",
    "as",
    "let",
    "param",
    "policy",
    "extends",
    "within",
    "allow",
    "unsafe",
    "deny",
    "readonly",
    "identity",
    "local",
    "entra",
    "isolation",
    "timeout",
    "proxy",
    "assert",
    "because",
    "can",
    "never",
    "only",
    "not",
    "and",
    "or",
    "implies",
    "true",
    "false",
    "under",
    "connect",
    "bind",
    "from",
    "tcp",
    "udp",
    "read",
    "list",
    "write",
    "create",
    "delete",
    "exec",
    "clipboard",
    "screen",
    "input",
    "windows",
    "camera",
    "microphone",
    "location",
    "browser",
];

/// Is `word` reserved (a keyword that cannot name anything)?
pub fn is_keyword(word: &str) -> bool {
    let mut lex = Tok::lexer(word);
    matches!(lex.next(), Some(Ok(tok)) if keyword_text(&tok).is_some()) && lex.next().is_none()
}

pub type Spanned3 = (usize, Tok, usize);

/// The token stream fed to the parser.
pub struct TokenStream<'src> {
    inner: Lexer<'src, Tok>,
    pub comments: Vec<Comment>,
    pub errors: Vec<SyntaxError>,
    depth: usize,
    not_run: usize,
    /// `{` minus `}` seen so far.
    pub open_braces: usize,
    /// How many `}` to invent at the end of input, to close what a
    /// truncated file left open.
    pub synthetic_closers: usize,
    end: usize,
}

impl<'src> TokenStream<'src> {
    pub fn new(source: &'src str) -> Self {
        TokenStream {
            inner: Tok::lexer(source),
            comments: Vec::new(),
            errors: Vec::new(),
            depth: 0,
            not_run: 0,
            open_braces: 0,
            synthetic_closers: 0,
            end: source.len(),
        }
    }

    fn error(&mut self, kind: SyntaxErrorKind, start: usize, end: usize) {
        self.errors.push(SyntaxError { kind, span: Span::new(start, end) });
    }

    /// Drops tokens up to and including the bracket that closes the one just
    /// read, and returns the end of the dropped region.
    fn skip_over_deep(&mut self, mut end: usize) -> usize {
        let mut depth = 1usize;
        while depth > 0 {
            match self.inner.next() {
                None => break,
                Some(tok) => {
                    end = self.inner.span().end;
                    match tok {
                        Ok(Tok::LParen | Tok::LBracket) => depth += 1,
                        Ok(Tok::RParen | Tok::RBracket) => depth -= 1,
                        _ => {}
                    }
                }
            }
        }
        end
    }
}

impl Iterator for TokenStream<'_> {
    type Item = Spanned3;

    fn next(&mut self) -> Option<Spanned3> {
        loop {
            let Some(tok) = self.inner.next() else {
                if self.synthetic_closers > 0 {
                    self.synthetic_closers -= 1;
                    return Some((self.end, Tok::RBrace, self.end));
                }
                return None;
            };
            let range = self.inner.span();
            let (start, end) = (range.start, range.end);
            let tok = match tok {
                Ok(tok) => tok,
                Err(e) => {
                    // A malformed literal still stands for one operand, so
                    // the parser goes on without a second, confusing error.
                    let (kind, stands_for_operand) = match e {
                        LexError::InvalidCharacter => (
                            SyntaxErrorKind::InvalidCharacter(
                                self.inner.slice().chars().next().unwrap_or('\0'),
                            ),
                            false,
                        ),
                        LexError::UnterminatedString => (SyntaxErrorKind::UnterminatedString, true),
                        LexError::UnterminatedComment => (SyntaxErrorKind::UnterminatedComment, false),
                        LexError::InvalidEscape(esc) => (SyntaxErrorKind::InvalidEscape(esc), true),
                        LexError::IntegerTooLarge => (SyntaxErrorKind::IntegerTooLarge, true),
                        LexError::SingleQuoted => (SyntaxErrorKind::SingleQuoted, true),
                    };
                    self.error(kind, start, end);
                    if stands_for_operand {
                        self.not_run = 0;
                        return Some((start, Tok::Error, end));
                    }
                    continue;
                }
            };
            match tok {
                Tok::LineComment(text) => {
                    let kind = if text.starts_with("///") && !text.starts_with("////") {
                        CommentKind::Doc
                    } else {
                        CommentKind::Line
                    };
                    self.comments.push(Comment { kind, text, span: Span::new(start, end) });
                    continue;
                }
                Tok::BlockComment(text) => {
                    self.comments.push(Comment {
                        kind: CommentKind::Block,
                        text,
                        span: Span::new(start, end),
                    });
                    continue;
                }
                _ => {}
            }
            if tok == Tok::Not {
                self.not_run += 1;
                if self.not_run > MAX_NESTING {
                    if self.not_run == MAX_NESTING + 1 {
                        self.error(SyntaxErrorKind::TooDeep, start, end);
                    }
                    continue;
                }
            } else {
                self.not_run = 0;
            }
            match tok {
                Tok::LParen | Tok::LBracket => {
                    if self.depth >= MAX_NESTING {
                        let end = self.skip_over_deep(end);
                        self.error(SyntaxErrorKind::TooDeep, start, end);
                        return Some((start, Tok::Error, end));
                    }
                    self.depth += 1;
                }
                Tok::RParen | Tok::RBracket => self.depth = self.depth.saturating_sub(1),
                Tok::LBrace => self.open_braces += 1,
                Tok::RBrace => self.open_braces = self.open_braces.saturating_sub(1),
                _ => {}
            }
            return Some((start, tok, end));
        }
    }
}

#[cfg(test)]
mod tests {
    use logos::Logos;

    use super::{KEYWORDS, Tok, is_keyword, keyword_text};

    #[test]
    fn every_listed_keyword_lexes_as_its_own_keyword() {
        for word in KEYWORDS {
            assert!(is_keyword(word), "`{word}`");
            let tok = Tok::lexer(word).next();
            assert!(matches!(&tok, Some(Ok(t)) if keyword_text(t) == Some(word)), "`{word}`: {tok:?}");
        }
        assert!(!is_keyword("paths") && !is_keyword("github"));
    }
}
