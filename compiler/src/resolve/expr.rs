//! Typing and lowering of set expressions.
//!
//! Typing is bidirectional. [`Ctx::natural`] infers the type an expression
//! has on its own (names have their declared type, numbers are ports, a
//! string literal has none yet); [`Ctx::lower`] then lowers it at the type
//! the context expects, so `"github.com"` becomes a host in `connect` and
//! `"/usr"` a path in `read`. Hosts widen to endpoints on every port.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use corral_grammar::ast::{Expr, ExprKind, QualName, SetOp, Span};

use super::load::LoadedModule;
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::ir::host::{BUILTIN_SETS, builtin_set};
use crate::ir::{
    EndpointAtom, EndpointSet, HostAtom, HostSet, PathPattern, PathSet, PortRange, PortSet, Segment, Set,
};
use crate::source::{FileId, SourceSpan};

/// Most atoms (patterns, hosts, port ranges) one compilation may
/// materialise. References copy a definition's set, so without a bound a
/// chain of definitions would grow quadratically.
pub const MAX_ATOMS: usize = 2_000_000;

/// Most switches between `|` and `-` in one chain of operators.
const MAX_OPERATOR_SWITCHES: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Ty {
    Paths,
    Hosts,
    Ports,
    Endpoints,
}

impl Ty {
    pub const ALL: [Ty; 4] = [Ty::Paths, Ty::Hosts, Ty::Ports, Ty::Endpoints];

    pub fn name(self) -> &'static str {
        match self {
            Ty::Paths => "paths",
            Ty::Hosts => "hosts",
            Ty::Ports => "ports",
            Ty::Endpoints => "endpoints",
        }
    }

    pub fn from_name(name: &str) -> Option<Ty> {
        Ty::ALL.into_iter().find(|t| t.name() == name)
    }

    /// May a value of type `self` stand where `expected` is wanted?
    pub fn fits(self, expected: Ty) -> bool {
        self == expected || (self == Ty::Hosts && expected == Ty::Endpoints)
    }

    /// The common type of two operands, if they have one.
    fn join(self, other: Ty) -> Option<Ty> {
        if self.fits(other) {
            Some(other)
        } else if other.fits(self) {
            Some(self)
        } else {
            None
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A lowered set of one type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Paths(PathSet),
    Hosts(HostSet),
    Ports(PortSet),
    Endpoints(EndpointSet),
}

impl Value {
    pub fn ty(&self) -> Ty {
        match self {
            Value::Paths(_) => Ty::Paths,
            Value::Hosts(_) => Ty::Hosts,
            Value::Ports(_) => Ty::Ports,
            Value::Endpoints(_) => Ty::Endpoints,
        }
    }

    fn empty(ty: Ty) -> Value {
        match ty {
            Ty::Paths => Value::Paths(Set::Empty),
            Ty::Hosts => Value::Hosts(Set::Empty),
            Ty::Ports => Value::Ports(Set::Empty),
            Ty::Endpoints => Value::Endpoints(Set::Empty),
        }
    }

    /// The value at type `ty`, widening hosts to endpoints on every port.
    fn coerce(self, ty: Ty) -> Option<Value> {
        match (self, ty) {
            (Value::Hosts(h), Ty::Endpoints) => {
                Some(Value::Endpoints(Set::Atom(EndpointAtom { hosts: h, ports: Set::Atom(PortRange::ALL) })))
            }
            (v, t) if v.ty() == t => Some(v),
            _ => None,
        }
    }

    /// How many atoms a copy of the value materialises.
    pub fn atom_count(&self) -> usize {
        match self {
            Value::Paths(s) => s.atoms().len(),
            Value::Hosts(s) => s.atoms().len(),
            Value::Ports(s) => s.atoms().len(),
            Value::Endpoints(s) => {
                s.atoms().iter().map(|a| 1 + a.hosts.atoms().len() + a.ports.atoms().len()).sum()
            }
        }
    }

    pub fn depth(&self) -> usize {
        match self {
            Value::Paths(s) => s.depth(),
            Value::Hosts(s) => s.depth(),
            Value::Ports(s) => s.depth(),
            Value::Endpoints(s) => {
                s.depth() + s.atoms().iter().map(|a| a.hosts.depth().max(a.ports.depth())).max().unwrap_or(0)
            }
        }
    }
}

/// What a name in a module stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Def {
    Let(usize),
    Param(usize),
    Policy(usize),
    /// Index into the module's import edges.
    Import(usize),
}

impl Def {
    pub fn kind(self) -> &'static str {
        match self {
            Def::Let(_) => "a `let`",
            Def::Param(_) => "a `param`",
            Def::Policy(_) => "a policy",
            Def::Import(_) => "a module",
        }
    }
}

/// The names a module defines.
#[derive(Default)]
pub(crate) struct Scope {
    pub defs: BTreeMap<String, (Def, Span)>,
    /// Names defined more than once: reported once, then silent.
    pub duplicated: std::collections::BTreeSet<String>,
}

/// What a qualified name resolved to.
pub(crate) enum Resolved<'a> {
    Value(&'a Value),
    /// A definition that failed to lower (its error is already reported),
    /// with its declared type when it has one.
    Poisoned(Option<Ty>),
    Builtin(HostSet),
    Policy {
        module: usize,
        item: usize,
    },
    Module,
}

/// Why a name did not resolve; [`Ctx::lookup_diagnostic`] explains it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LookupFailure {
    Unknown,
    NotAModule(Def),
    UnknownModule,
    ImportNotMember,
    NoMember(usize),
    TooManyParts,
}

/// A lowered `let` or `param`: its type (when known) and value (when it
/// lowered without error).
#[derive(Clone, Debug, Default)]
pub(crate) struct Binding {
    pub ty: Option<Ty>,
    pub value: Option<Value>,
}

/// Everything needed to resolve and lower expressions of one module.
pub(crate) struct Ctx<'a> {
    pub modules: &'a [LoadedModule],
    pub scopes: &'a [Scope],
    /// Lowered lets and params of each module.
    pub values: &'a [HashMap<String, Binding>],
    pub module: usize,
    /// The file spans point into: the module's, or a `--set` value's.
    pub file: FileId,
    pub home: &'a str,
    /// Patterns, hosts and ports still allowed to be materialised (each
    /// reference to a definition copies its set); see [`MAX_ATOMS`].
    pub budget: &'a std::cell::Cell<usize>,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn at(&self, span: Span) -> SourceSpan {
        SourceSpan::new(self.file, span)
    }

    fn lookup_in(&self, module: usize, name: &str) -> Option<Resolved<'a>> {
        let (values, scopes) = (self.values, self.scopes);
        if scopes[module].duplicated.contains(name) {
            return Some(Resolved::Poisoned(None));
        }
        let (def, _) = scopes[module].defs.get(name)?;
        Some(match *def {
            Def::Let(_) | Def::Param(_) => match values[module].get(name) {
                Some(Binding { value: Some(v), .. }) => Resolved::Value(v),
                Some(b) => Resolved::Poisoned(b.ty),
                None => Resolved::Poisoned(None),
            },
            Def::Policy(item) => Resolved::Policy { module, item },
            Def::Import(_) => Resolved::Module,
        })
    }

    /// Resolves a name; cheap, reports nothing.
    pub fn lookup(&self, q: &QualName) -> Result<Resolved<'a>, LookupFailure> {
        let first = &q.parts[0];
        if q.parts.len() == 1 {
            return self
                .lookup_in(self.module, &first.name)
                .or_else(|| builtin_set(&first.name).map(Resolved::Builtin))
                .ok_or(LookupFailure::Unknown);
        }
        let target = match self.scopes[self.module].defs.get(&first.name) {
            _ if self.scopes[self.module].duplicated.contains(&first.name) => {
                return Ok(Resolved::Poisoned(None));
            }
            Some((Def::Import(edge), _)) => self.modules[self.module].imports[*edge].target,
            Some((def, _)) => return Err(LookupFailure::NotAModule(*def)),
            None => return Err(LookupFailure::UnknownModule),
        };
        // A failed import was reported where it failed.
        let Some(target) = target else { return Ok(Resolved::Poisoned(None)) };
        match self.lookup_in(target, &q.parts[1].name) {
            Some(Resolved::Module) => Err(LookupFailure::ImportNotMember),
            Some(_) if q.parts.len() > 2 => Err(LookupFailure::TooManyParts),
            Some(r) => Ok(r),
            None => Err(LookupFailure::NoMember(target)),
        }
    }

    /// Explains why `q` did not resolve.
    pub fn lookup_diagnostic(&self, q: &QualName, failure: LookupFailure) -> Diagnostic {
        let first = &q.parts[0];
        let scope = &self.scopes[self.module];
        let dotted = q.dotted();
        match failure {
            LookupFailure::Unknown => {
                let candidates = scope.defs.keys().map(String::as_str).chain(BUILTIN_SETS);
                let d = Diagnostic::error(Code::UnknownName, format!("unknown name `{}`", first.name))
                    .primary(self.at(first.span), "not defined, imported or built in");
                match did_you_mean(&first.name, candidates).or_else(|| quote_hint(&dotted)) {
                    Some(h) => d.help(h),
                    None => d,
                }
            }
            LookupFailure::NotAModule(def) => {
                Diagnostic::error(Code::UnknownName, format!("`{}` is not a module", first.name))
                    .primary(self.at(first.span), format!("this is {}", def.kind()))
                    .help("only imported modules have members")
            }
            LookupFailure::UnknownModule => {
                let imports = scope
                    .defs
                    .iter()
                    .filter(|(_, (d, _))| matches!(d, Def::Import(_)))
                    .map(|(n, _)| n.as_str());
                let d = Diagnostic::error(Code::UnknownName, format!("unknown module `{}`", first.name))
                    .primary(self.at(first.span), "not imported");
                let help = did_you_mean(&first.name, imports)
                    .or_else(|| {
                        corral_stdlib::module(&first.name)
                            .map(|_| format!("import it: `import std.{}`", first.name))
                    })
                    .or_else(|| quote_hint(&dotted))
                    .unwrap_or_else(|| "import a module before using its members".to_owned());
                d.help(help)
            }
            LookupFailure::ImportNotMember => {
                let member = &q.parts[1];
                Diagnostic::error(
                    Code::UnknownName,
                    format!("`{}` is an import of `{}`, not a member", member.name, first.name),
                )
                .primary(self.at(member.span), "imports are not re-exported")
                .help(format!("import that module directly where you need `{}`", member.name))
            }
            LookupFailure::TooManyParts => Diagnostic::error(
                Code::UnknownName,
                format!("`{}.{}` has no members", first.name, q.parts[1].name),
            )
            .primary(self.at(q.parts[2].span), "names have at most one `.`"),
            LookupFailure::NoMember(target) => {
                let member = &q.parts[1];
                let candidates = self.scopes[target]
                    .defs
                    .iter()
                    .filter(|(_, (d, _))| !matches!(d, Def::Import(_)))
                    .map(|(n, _)| n.as_str());
                let d = Diagnostic::error(
                    Code::UnknownName,
                    format!("`{}` has no member `{}`", first.name, member.name),
                )
                .primary(self.at(member.span), "not defined in that module");
                match did_you_mean(&member.name, candidates) {
                    Some(h) => d.help(h),
                    None => d,
                }
            }
        }
    }

    /// The type an expression has on its own, if it has one yet. Reports
    /// nothing.
    pub fn natural(&self, expr: &Expr) -> Option<Ty> {
        match &expr.kind {
            ExprKind::Str(_) | ExprKind::Error => None,
            ExprKind::Int(_) | ExprKind::Range(..) | ExprKind::Wildcard => Some(Ty::Ports),
            ExprKind::Under(_) => Some(Ty::Paths),
            ExprKind::Endpoint(..) => Some(Ty::Endpoints),
            ExprKind::Paren(e) => self.natural(e),
            ExprKind::Name(q) => match self.lookup(q) {
                Ok(Resolved::Value(v)) => Some(v.ty()),
                Ok(Resolved::Poisoned(ty)) => ty,
                Ok(Resolved::Builtin(_)) => Some(Ty::Hosts),
                _ => None,
            },
            ExprKind::List(items) => self.join_all(items.iter()),
            ExprKind::Chain { first, rest } => {
                self.join_all(std::iter::once(first.as_ref()).chain(rest.iter().map(|(_, e)| e)))
            }
        }
    }

    fn join_all<'e>(&self, exprs: impl Iterator<Item = &'e Expr>) -> Option<Ty> {
        let mut acc: Option<Ty> = None;
        for e in exprs {
            if let Some(t) = self.natural(e) {
                acc = match acc {
                    None => Some(t),
                    Some(a) => Some(a.join(t).unwrap_or(a)),
                };
            }
        }
        acc
    }

    /// The type of a `let` without annotation: its natural type, or for a
    /// bare string, paths if it looks like one and hosts otherwise.
    pub fn infer(&self, expr: &Expr) -> Option<Ty> {
        self.natural(expr).or_else(|| {
            first_string(expr).map(|s| {
                if s.starts_with('/') || s.starts_with('~') || s.contains('/') && HostAtom::parse(s).is_err()
                {
                    Ty::Paths
                } else {
                    Ty::Hosts
                }
            })
        })
    }

    /// Lowers `expr` at type `ty`, reporting what is wrong. `None` means an
    /// error was reported.
    pub fn lower(&mut self, expr: &Expr, ty: Ty) -> Option<Value> {
        let compound = matches!(expr.kind, ExprKind::Chain { .. } | ExprKind::List(_));
        if let Some(found) = self.natural(expr).filter(|_| !compound || !self.any_operand_fits(expr, ty))
            && !found.fits(ty)
        {
            self.diags.push(
                Diagnostic::error(Code::TypeMismatch, format!("expected {ty}, found {found}"))
                    .primary(self.at(expr.span), format!("this is {found}"))
                    .help(mismatch_help(ty, found)),
            );
            return None;
        }
        match &expr.kind {
            ExprKind::Error => None,
            ExprKind::Paren(e) => self.lower(e, ty),
            ExprKind::Str(s) => self.lower_string(s, expr.span, ty),
            ExprKind::Int(n) => self.port(*n, expr.span).map(|p| ports(PortRange { lo: p, hi: p }, ty)),
            ExprKind::Range(a, b) => {
                // Point at the end that is out of range (decimal, as written).
                let a_span =
                    Span { start: expr.span.start, end: expr.span.start + a.to_string().len() as u32 };
                let b_span = Span {
                    start: expr.span.end.saturating_sub(b.to_string().len() as u32),
                    end: expr.span.end,
                };
                let (lo, hi) = (self.port(*a, a_span), self.port(*b, b_span));
                let (lo, hi) = (lo?, hi?);
                if lo > hi {
                    self.diags.push(
                        Diagnostic::error(Code::InvalidPort, format!("reversed port range `{a}..{b}`"))
                            .primary(self.at(expr.span), "the first port is above the last")
                            .help(format!("write `{b}..{a}`")),
                    );
                    return None;
                }
                Some(ports(PortRange { lo, hi }, ty))
            }
            ExprKind::Wildcard => Some(ports(PortRange::ALL, ty)),
            ExprKind::Name(q) => match self.lookup(q) {
                Ok(Resolved::Value(v)) => {
                    // `budget` is the number of atoms left plus one; zero
                    // means exhausted and reported.
                    let size = v.atom_count();
                    let left = self.budget.get();
                    if size >= left {
                        if left > 0 {
                            self.diags.push(
                                Diagnostic::error(Code::DefinitionTooDeep, "definitions expand to too many patterns")
                                    .primary(self.at(q.span), format!("expanding `{}` passes {MAX_ATOMS} patterns, hosts and ports", q.dotted()))
                                    .help("each use of a definition copies its set; define large sets once and use them in few places"),
                            );
                        }
                        // Report once; every later reference fails quietly.
                        self.budget.set(0);
                        return None;
                    }
                    self.budget.set(left - size);
                    v.clone().coerce(ty)
                }
                Ok(Resolved::Builtin(h)) => Value::Hosts(h).coerce(ty),
                Ok(Resolved::Poisoned(_)) => None,
                Ok(r @ (Resolved::Policy { .. } | Resolved::Module)) => {
                    let what = if matches!(r, Resolved::Module) { "a module" } else { "a policy" };
                    self.diags.push(
                        Diagnostic::error(Code::NotASet, format!("`{}` is {what}, not a set", q.dotted()))
                            .primary(self.at(q.span), format!("expected {ty}")),
                    );
                    None
                }
                Err(failure) => {
                    let d = self.lookup_diagnostic(q, failure);
                    self.diags.push(d);
                    None
                }
            },
            ExprKind::Under(inner) => {
                let Value::Paths(set) = self.lower(inner, Ty::Paths)? else { return None };
                match under(set) {
                    Some(s) => Some(Value::Paths(s)),
                    None => {
                        self.diags.push(
                            Diagnostic::error(Code::TypeMismatch, "`under` of an intersection or difference")
                                .primary(self.at(inner.span), "`under` needs patterns or unions of them")
                                .help("apply `under` to each pattern, then combine: `under \"/a\" - under \"/a/b\"`"),
                        );
                        None
                    }
                }
            }
            ExprKind::Endpoint(h, p) => {
                let hosts = self.lower(h, Ty::Hosts);
                let ports = self.lower(p, Ty::Ports);
                match (hosts?, ports?) {
                    (Value::Hosts(hosts), Value::Ports(ports)) => {
                        Some(Value::Endpoints(Set::Atom(EndpointAtom { hosts, ports })))
                    }
                    _ => None,
                }
            }
            ExprKind::List(items) => {
                let checked = self.check_operands(items.iter().map(|e| (None, e)).collect(), ty);
                let mut parts = Vec::new();
                let mut failed = false;
                for (item, ok) in items.iter().zip(checked) {
                    match ok.then(|| self.lower(item, ty)).flatten() {
                        Some(v) => parts.push(v),
                        None => failed = true,
                    }
                }
                if failed { None } else { Some(fold(Some(SetOp::Union), Value::empty(ty), parts)) }
            }
            ExprKind::Chain { first, rest } => {
                // Each switch between `|` and `-` nests the result one level
                // deeper; bound it so no later pass can overflow its stack.
                let switches = rest.windows(2).filter(|w| w[0].0.node != w[1].0.node).count();
                if switches > MAX_OPERATOR_SWITCHES {
                    self.diags.push(
                        Diagnostic::error(
                            Code::DefinitionTooDeep,
                            format!("`|` and `-` alternate {switches} times in one expression"),
                        )
                        .primary(
                            self.at(expr.span),
                            format!("more than {MAX_OPERATOR_SWITCHES} alternations"),
                        )
                        .help("name the parts with `let` and combine the names"),
                    );
                    return None;
                }
                let operands: Vec<(Option<SetOp>, &Expr)> = std::iter::once((None, first.as_ref()))
                    .chain(rest.iter().map(|(op, e)| (Some(op.node), e)))
                    .collect();
                let checked = self.check_operands(operands.clone(), ty);
                let mut lowered: Vec<(Option<SetOp>, Value)> = Vec::with_capacity(operands.len());
                let mut failed = false;
                for ((op, e), ok) in operands.into_iter().zip(checked) {
                    match ok.then(|| self.lower(e, ty)).flatten() {
                        Some(v) => lowered.push((op, v)),
                        None => failed = true,
                    }
                }
                if failed {
                    return None;
                }
                // Fold each run of one operator in one step, so that long
                // chains cost linear time and `a - b - c` is `a - (b | c)`.
                let mut items = lowered.into_iter();
                let mut acc = items.next().map_or_else(|| Value::empty(ty), |(_, v)| v);
                let mut run_op: Option<SetOp> = None;
                let mut run: Vec<Value> = Vec::new();
                for (op, v) in items {
                    if op != run_op && !run.is_empty() {
                        acc = fold(run_op, acc, std::mem::take(&mut run));
                    }
                    run_op = op;
                    run.push(v);
                }
                Some(fold(run_op, acc, run))
            }
        }
    }

    /// Does some operand of a chain or list fit `ty` (or take it from the
    /// context, as a string does)?
    fn any_operand_fits(&self, expr: &Expr, ty: Ty) -> bool {
        let fits = |e: &Expr| self.natural(e).is_none_or(|t| t.fits(ty));
        match &expr.kind {
            ExprKind::List(items) => items.iter().any(fits),
            ExprKind::Chain { first, rest } => fits(first) || rest.iter().any(|(_, e)| fits(e)),
            _ => false,
        }
    }

    /// Reports the operands of one operator that do not fit the type the
    /// context expects, pointing at both the operand and one that fits;
    /// returns which operands are fit to lower.
    fn check_operands(&mut self, operands: Vec<(Option<SetOp>, &Expr)>, ty: Ty) -> Vec<bool> {
        let naturals: Vec<Option<Ty>> = operands.iter().map(|(_, e)| self.natural(e)).collect();
        let anchor = naturals.iter().position(|n| n.is_none_or(|t| t.fits(ty)));
        let mut ok = vec![true; operands.len()];
        for (i, nat) in naturals.iter().enumerate() {
            let Some(t) = nat.filter(|t| !t.fits(ty)) else { continue };
            ok[i] = false;
            let (op, e) = operands[i];
            let sym = op.or_else(|| operands.get(1).and_then(|(o, _)| *o)).map_or(",", SetOp::symbol);
            let mut d = Diagnostic::error(Code::TypeMismatch, format!("`{sym}` combines {ty} and {t}"))
                .primary(self.at(e.span), format!("this is {t}"));
            if let Some(a) = anchor {
                d = d.secondary(self.at(operands[a].1.span), format!("this is {ty}"));
            }
            self.diags.push(d.help("set operators combine sets of one type"));
        }
        ok
    }

    fn port(&mut self, n: u64, span: Span) -> Option<u16> {
        match u16::try_from(n) {
            Ok(p) => Some(p),
            Err(_) => {
                self.diags.push(
                    Diagnostic::error(Code::InvalidPort, format!("port `{n}` out of range"))
                        .primary(self.at(span), "ports are 0 to 65535"),
                );
                None
            }
        }
    }

    fn lower_string(&mut self, s: &str, span: Span, ty: Ty) -> Option<Value> {
        match ty {
            Ty::Paths => match PathPattern::parse(s, self.home) {
                Ok(p) => Some(Value::Paths(Set::Atom(p))),
                Err(e) => {
                    self.diags.push(
                        Diagnostic::error(Code::InvalidPath, e.message())
                            .primary(self.at(span), literal_label(s))
                            .help(e.help()),
                    );
                    None
                }
            },
            Ty::Hosts | Ty::Endpoints => match HostAtom::parse(s) {
                Ok(h) => Value::Hosts(Set::Atom(h)).coerce(ty),
                Err(e) => {
                    let mut d = Diagnostic::error(Code::InvalidHost, e.message())
                        .primary(self.at(span), literal_label(s))
                        .help(e.help());
                    if s.starts_with('/') || s.starts_with('~') {
                        d = d.note(format!("this place expects {ty}"));
                    }
                    self.diags.push(d);
                    None
                }
            },
            Ty::Ports => {
                self.diags.push(
                    Diagnostic::error(Code::TypeMismatch, "expected ports, found a string")
                        .primary(self.at(span), "this is a string")
                        .help("ports are written `443`, `8000..8999` or `*`, without quotes"),
                );
                None
            }
        }
    }
}

/// "in `LITERAL`", or "in an empty string".
fn literal_label(s: &str) -> String {
    if s.is_empty() { "in an empty string".to_owned() } else { format!("in `{}`", s.escape_debug()) }
}

/// A hint for a name that was probably meant as an unquoted host.
fn quote_hint(dotted: &str) -> Option<String> {
    let looks_like_host = dotted.contains('.') || dotted == "localhost";
    looks_like_host.then(|| format!("if you meant the host, quote it: `\"{dotted}\"`"))
}

fn mismatch_help(expected: Ty, found: Ty) -> String {
    match (expected, found) {
        (Ty::Endpoints, Ty::Ports) => "add the hosts: `HOSTS:PORTS`, e.g. `net.github:443`".into(),
        (Ty::Hosts, Ty::Endpoints) => "a host set has no ports here; drop the `:PORTS`".into(),
        (Ty::Ports, _) => "ports are written `443`, `8000..8999` or `*`".into(),
        _ => format!("use a set of {expected} here"),
    }
}

fn ports(range: PortRange, ty: Ty) -> Value {
    // `natural` has already refused ports where another type is expected.
    debug_assert_eq!(ty, Ty::Ports);
    Value::Ports(Set::Atom(range))
}

fn first_string(expr: &Expr) -> Option<&str> {
    match &expr.kind {
        ExprKind::Str(s) => Some(s),
        ExprKind::Paren(e) => first_string(e),
        ExprKind::List(items) => items.iter().find_map(first_string),
        ExprKind::Chain { first, .. } => first_string(first),
        _ => None,
    }
}

/// `under S` for a union of patterns: each pattern `p` becomes `p | p/**`.
fn under(set: PathSet) -> Option<PathSet> {
    match set {
        Set::Empty => Some(Set::Empty),
        Set::Atom(p) => {
            let mut deeper = p.clone();
            deeper.segments.push(Segment::AnyDepth);
            Some(Set::union([Set::Atom(p), Set::Atom(deeper)]))
        }
        Set::Union(items) => {
            let mut out = Vec::new();
            for s in items {
                out.push(under(s)?);
            }
            Some(Set::union(out))
        }
        Set::Inter(_) | Set::Diff(..) => None,
    }
}

/// `acc OP items[0] OP items[1] …` for one operator, in one step.
fn fold(op: Option<SetOp>, acc: Value, items: Vec<Value>) -> Value {
    fn go<A>(op: Option<SetOp>, acc: Set<A>, items: Vec<Set<A>>) -> Set<A> {
        match op {
            None | Some(SetOp::Union) => Set::union(std::iter::once(acc).chain(items)),
            Some(SetOp::Inter) => Set::inter(std::iter::once(acc).chain(items)),
            Some(SetOp::Diff) => Set::diff(acc, Set::union(items)),
        }
    }
    // Operands were lowered at one type; others cannot occur.
    macro_rules! same {
        ($variant:ident, $acc:expr) => {
            Value::$variant(go(
                op,
                $acc,
                items
                    .into_iter()
                    .filter_map(|v| if let Value::$variant(s) = v { Some(s) } else { None })
                    .collect(),
            ))
        };
    }
    match acc {
        Value::Paths(a) => same!(Paths, a),
        Value::Hosts(a) => same!(Hosts, a),
        Value::Ports(a) => same!(Ports, a),
        Value::Endpoints(a) => same!(Endpoints, a),
    }
}
