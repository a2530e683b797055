//! The syntax tree of one `.corral` file.
//!
//! Every node carries the byte span it was parsed from. Chains of binary
//! operators are stored flat (`Chain`, `And`, `Or`, `Implies`) so that no
//! input, however long, builds a tree deeper than the lexer's nesting limit:
//! every pass over the tree may recurse safely.

use serde::Serialize;

/// A byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start: clamp_u32(start), end: clamp_u32(end) }
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

/// A parsed file: its items in source order and every comment, kept aside
/// for the formatter.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Module {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentKind {
    /// `// …`
    Line,
    /// `/* … */`
    Block,
    /// `/// …`, attached to the next item or statement.
    Doc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub kind: CommentKind,
    /// The comment exactly as written, delimiters included.
    pub text: String,
    pub span: Span,
}

/// An identifier as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `a`, `net.github`, `team.base`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QualName {
    pub parts: Vec<Ident>,
    pub span: Span,
}

impl QualName {
    /// The dotted form, `net.github`.
    pub fn dotted(&self) -> String {
        let names: Vec<&str> = self.parts.iter().map(|p| p.name.as_str()).collect();
        names.join(".")
    }
}

/// A string literal: its value with escapes resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    /// The text of the `///` comments right before the item, without `///`.
    pub docs: Vec<String>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ItemKind {
    Import(Import),
    Let(Let),
    Param(Param),
    Policy(Policy),
    /// A region the parser skipped after a syntax error.
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ImportSource {
    /// `import std.secrets`
    Module(QualName),
    /// `import "./team.corral"`
    File(StrLit),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Import {
    pub source: ImportSource,
    pub alias: Option<Ident>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Let {
    pub name: Ident,
    pub ty: Option<Ident>,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    pub name: Ident,
    pub ty: Ident,
    pub default: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    pub name: Ident,
    pub extends: Vec<QualName>,
    /// `within PARENT`: a sub-agent bound to check.
    pub within: Option<QualName>,
    pub body: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stmt {
    pub docs: Vec<String>,
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StmtKind {
    /// `allow|deny TARGET`; boxed to keep statements small, since a large
    /// policy holds hundreds of thousands of them.
    Rule { effect: Spanned<Effect>, target: Box<Target> },
    /// `readonly PATHS`
    Readonly(Expr),
    /// `identity local "NAME"` / `identity entra "TENANT/APP-ID"`
    Identity { kind: Spanned<IdentityKind>, value: StrLit },
    /// `isolation TIER`
    Isolation(Ident),
    /// `timeout 30s`
    Timeout(Duration),
    /// `proxy "http://127.0.0.1:8080"`
    Proxy(StrLit),
    /// Boxed, like rules: assertions are large and few.
    Assert(Box<Assert>),
    /// `allow unsafe CHECK because "REASON"`: opts out of one built-in
    /// safety check.
    AllowUnsafe { check: Ident, because: StrLit },
    /// A region the parser skipped after a syntax error.
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    Local,
    Entra,
}

/// A duration literal such as `30s`, kept as written; the compiler checks
/// its range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Duration {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Right {
    Read,
    List,
    Write,
    Create,
    Delete,
    Exec,
}

impl Right {
    pub const ALL: [Right; 6] =
        [Right::Read, Right::List, Right::Write, Right::Create, Right::Delete, Right::Exec];

    pub fn keyword(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::List => "list",
            Right::Write => "write",
            Right::Create => "create",
            Right::Delete => "delete",
            Right::Exec => "exec",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Clipboard,
    Screen,
    Input,
    Windows,
    Camera,
    Microphone,
    Location,
    Browser,
}

impl Device {
    pub const ALL: [Device; 8] = [
        Device::Clipboard,
        Device::Screen,
        Device::Input,
        Device::Windows,
        Device::Camera,
        Device::Microphone,
        Device::Location,
        Device::Browser,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            Device::Clipboard => "clipboard",
            Device::Screen => "screen",
            Device::Input => "input",
            Device::Windows => "windows",
            Device::Camera => "camera",
            Device::Microphone => "microphone",
            Device::Location => "location",
            Device::Browser => "browser",
        }
    }
}

/// What a rule or an assertion speaks about: the part after `allow`, `deny`,
/// `can`, `never` or `only`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Target {
    /// `read, write PATHS`
    Files { rights: Vec<Spanned<Right>>, set: Expr },
    /// `connect [tcp|udp] ENDPOINTS`
    Connect { proto: Option<Spanned<Proto>>, set: Expr },
    /// `bind [tcp|udp] PORTS [from HOSTS]`
    Bind { proto: Option<Spanned<Proto>>, ports: Expr, from: Option<Expr> },
    /// `clipboard write`, `camera`
    Device { device: Spanned<Device>, mode: Option<Ident> },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assert {
    pub name: Option<Ident>,
    pub formula: Formula,
    pub because: Option<StrLit>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantifier {
    Can,
    Never,
    Only,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CmpOp {
    Ge,
    Le,
    Eq,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Formula {
    pub kind: FormulaKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum FormulaKind {
    Access {
        quantifier: Spanned<Quantifier>,
        target: Target,
    },
    Isolation {
        op: Spanned<CmpOp>,
        tier: Ident,
    },
    Not(Box<Formula>),
    /// Two or more conjuncts.
    And(Vec<Formula>),
    /// Two or more disjuncts.
    Or(Vec<Formula>),
    /// `a implies b implies c`, right-associative: `a implies (b implies c)`.
    Implies(Vec<Formula>),
    Paren(Box<Formula>),
    Bool(bool),
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SetOp {
    /// `|`
    Union,
    /// `-`
    Diff,
    /// `&`
    Inter,
}

impl SetOp {
    pub fn symbol(self) -> &'static str {
        match self {
            SetOp::Union => "|",
            SetOp::Diff => "-",
            SetOp::Inter => "&",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    /// `"/usr/**"`, `"github.com"`: typed by context.
    Str(String),
    /// `443`; range-checked by the compiler.
    Int(u64),
    /// `8000..8999`
    Range(u64, u64),
    /// `*`, every port.
    Wildcard,
    /// `workspace`, `net.github`.
    Name(QualName),
    /// `[a, b, c]`: the union of the elements.
    List(Vec<Expr>),
    Paren(Box<Expr>),
    /// `under PATHS`
    Under(Box<Expr>),
    /// `HOSTS:PORTS`
    Endpoint(Box<Expr>, Box<Expr>),
    /// A left-associative chain of operators of one precedence level:
    /// `|` and `-`, or `&` alone.
    Chain {
        first: Box<Expr>,
        rest: Vec<(Spanned<SetOp>, Expr)>,
    },
    /// A region the parser skipped after a syntax error.
    Error,
}
