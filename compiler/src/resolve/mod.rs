//! From source files to the IR: load modules, bind names, type-check and
//! lower every definition and policy, merge inheritance. Never fails as a
//! whole: it returns the program it could build and every diagnostic.

mod expr;
mod inherit;
mod load;
mod policy;
mod syntax;

pub use load::Input;
pub use syntax::syntax_diagnostic;

/// The names of the value types (`paths`, `hosts`, `ports`, `endpoints`),
/// for editors.
pub fn type_names() -> [&'static str; 4] {
    Ty::ALL.map(Ty::name)
}

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use corral_grammar::ast::{self, Expr, ExprKind, ItemKind, Span};
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostics::{self, Code, Diagnostic, did_you_mean};
use crate::ir::Program;
use crate::ir::host::BUILTIN_SETS;
use crate::source::{SourceMap, SourceSpan};
use expr::{Binding, Ctx, Def, Scope, Ty, Value};
use load::LoadedModule;

/// Deepest set expression, counted through `let` references, accepted.
pub const MAX_DEFINITION_DEPTH: usize = 256;

/// What every lowering step shares: `~` and the atom budget.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub home: &'a str,
    pub budget: &'a std::cell::Cell<usize>,
}

/// How to compile.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// What `~` expands to; an absolute path.
    pub home: String,
    /// Extra roots for `import a.b`.
    pub lib_dirs: Vec<PathBuf>,
    /// `--set NAME=VALUE`, for params of the root file.
    pub params: Vec<(String, String)>,
}

/// A compiled file: the program it could build and every diagnostic,
/// sorted by position.
#[derive(Debug)]
pub struct Compilation {
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
    /// What the program was compiled from, in the order it was read.
    pub inputs: Vec<Input>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn sources(&self) -> &SourceMap {
        &self.program.files
    }
}

/// Reads and compiles one file. Fails only when the file cannot be read.
pub fn compile_file(path: &Path, options: &Options) -> std::io::Result<Compilation> {
    let text = std::fs::read_to_string(path)?;
    let dir = path.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d });
    Ok(compile_string(&path.to_string_lossy(), text, dir, options))
}

/// Compiles source text; `dir` is where its relative imports start.
pub fn compile_source(name: &str, text: &str, dir: Option<&Path>, options: &Options) -> Compilation {
    compile_string(name, text.to_owned(), dir, options)
}

/// [`compile_source`] taking the text by value, so that a large file is
/// not held twice.
pub fn compile_string(name: &str, text: String, dir: Option<&Path>, options: &Options) -> Compilation {
    let mut sources = SourceMap::default();
    let mut diags = Vec::new();
    let mut loaded = load::load(name, text, dir, &options.lib_dirs, &mut sources, &mut diags);
    let inputs = std::mem::take(&mut loaded.inputs);
    let scopes: Vec<Scope> = loaded.modules.iter().map(|m| build_scope(m, &mut diags)).collect();
    let mut values: Vec<HashMap<String, Binding>> = vec![HashMap::new(); loaded.modules.len()];
    let overrides = parse_overrides(options, &mut sources, &scopes, &loaded.modules, &mut diags);
    let budget = std::cell::Cell::new(expr::MAX_ATOMS + 1);
    let env = Env { home: &options.home, budget: &budget };
    for &m in &loaded.order {
        lower_definitions(m, &loaded.modules, &scopes, &mut values, &overrides, env, &mut diags);
    }
    let mut modules = loaded.modules;
    let policies = inherit::lower_policies(&mut modules, &scopes, &values, env, &mut diags);
    diagnostics::sort(&mut diags);
    Compilation {
        program: Program { home: options.home.clone(), files: sources, policies },
        diagnostics: diags,
        inputs,
    }
}

/// The shortest cycle from `start` back to itself through `members`,
/// following `next`: `[start, a, b]` for start → a → b → start.
pub(crate) fn shortest_cycle(
    start: usize,
    members: &[usize],
    next: impl Fn(usize) -> Vec<usize>,
) -> Vec<usize> {
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(m) = queue.pop_front() {
        for t in next(m) {
            if !members.contains(&t) {
                continue;
            }
            if t == start {
                let mut path = vec![m];
                let mut cur = m;
                while let Some(&p) = prev.get(&cur) {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(t) {
                e.insert(m);
                queue.push_back(t);
            }
        }
    }
    vec![start]
}

fn item_name(kind: &ItemKind) -> Option<&ast::Ident> {
    match kind {
        ItemKind::Let(l) => Some(&l.name),
        ItemKind::Param(p) => Some(&p.name),
        ItemKind::Policy(p) => Some(&p.name),
        ItemKind::Import(_) | ItemKind::Error => None,
    }
}

fn build_scope(module: &LoadedModule, diags: &mut Vec<Diagnostic>) -> Scope {
    let mut scope = Scope::default();
    let mut entries: Vec<(String, Def, Span)> = Vec::new();
    for (i, item) in module.ast.items.iter().enumerate() {
        let def = match &item.kind {
            ItemKind::Let(_) => Def::Let(i),
            ItemKind::Param(_) => Def::Param(i),
            ItemKind::Policy(_) => Def::Policy(i),
            _ => continue,
        };
        if let Some(name) = item_name(&item.kind) {
            entries.push((name.name.clone(), def, name.span));
        }
    }
    for (e, edge) in module.imports.iter().enumerate() {
        if !edge.alias.is_empty() {
            entries.push((edge.alias.clone(), Def::Import(e), edge.alias_span));
        }
    }
    entries.sort_by_key(|(_, _, span)| *span);
    for (name, def, span) in entries {
        let at = SourceSpan::new(module.file, span);
        if BUILTIN_SETS.contains(&name.as_str()) {
            diags.push(
                Diagnostic::error(Code::DuplicateDefinition, format!("`{name}` is a built-in host set"))
                    .primary(at, "redefines a built-in")
                    .help("choose another name"),
            );
            continue;
        }
        if let Some((prev, prev_span)) = scope.defs.get(&name) {
            // Of two definitions of one kind the first stands; of different
            // kinds (an import and a let) neither can be trusted.
            if std::mem::discriminant(prev) != std::mem::discriminant(&def) {
                scope.duplicated.insert(name.clone());
            }
            diags.push(
                Diagnostic::error(Code::DuplicateDefinition, format!("`{name}` is defined twice"))
                    .primary(at, "defined again here")
                    .secondary(
                        SourceSpan::new(module.file, *prev_span),
                        format!("first defined here, as {}", prev.kind()),
                    )
                    .help("names of imports, lets, params and policies share one namespace in a module"),
            );
            continue;
        }
        scope.defs.insert(name, (def, span));
    }
    scope
}

/// `--set` values: parsed as expressions, or taken as a string when they do
/// not parse (so `--set ws=/home/u/src` works without quotes).
fn parse_overrides(
    options: &Options,
    sources: &mut SourceMap,
    scopes: &[Scope],
    modules: &[LoadedModule],
    diags: &mut Vec<Diagnostic>,
) -> HashMap<String, (Expr, crate::source::FileId)> {
    let mut out = HashMap::new();
    let Some(root) = scopes.first() else { return out };
    for (name, value) in &options.params {
        if !matches!(root.defs.get(name), Some((Def::Param(_), _))) {
            let params =
                root.defs.iter().filter(|(_, (d, _))| matches!(d, Def::Param(_))).map(|(n, _)| n.as_str());
            let mut d = Diagnostic::error(
                Code::InvalidParamValue,
                format!("`--set {name}`: no param named `{name}`"),
            );
            if let Some(h) = did_you_mean(name, params) {
                d = d.help(h);
            } else if let Some(m) = modules.first() {
                d = d.note(format!("`{}` declares no such `param`", sources.name(m.file)));
            }
            diags.push(d);
            continue;
        }
        let file = sources.add(format!("--set {name}"), value.clone());
        const PREFIX: &str = "let v = ";
        let parsed = corral_grammar::parse(&format!("{PREFIX}{value}"));
        let expr = match parsed.module.items.first().map(|i| &i.kind) {
            Some(ItemKind::Let(l)) if parsed.errors.is_empty() && parsed.module.items.len() == 1 => {
                shift(l.value.clone(), PREFIX.len() as u32)
            }
            _ => Expr { kind: ExprKind::Str(value.clone()), span: Span::new(0, value.len()) },
        };
        out.insert(name.clone(), (expr, file));
    }
    out
}

fn shift(mut e: Expr, by: u32) -> Expr {
    fn go(e: &mut Expr, by: u32) {
        e.span = Span { start: e.span.start.saturating_sub(by), end: e.span.end.saturating_sub(by) };
        match &mut e.kind {
            ExprKind::Paren(x) | ExprKind::Under(x) => go(x, by),
            ExprKind::Endpoint(a, b) => {
                go(a, by);
                go(b, by);
            }
            ExprKind::List(items) => items.iter_mut().for_each(|x| go(x, by)),
            ExprKind::Chain { first, rest } => {
                go(first, by);
                for (op, x) in rest {
                    op.span =
                        Span { start: op.span.start.saturating_sub(by), end: op.span.end.saturating_sub(by) };
                    go(x, by);
                }
            }
            ExprKind::Name(q) => {
                q.span = Span { start: q.span.start.saturating_sub(by), end: q.span.end.saturating_sub(by) };
                for p in &mut q.parts {
                    p.span =
                        Span { start: p.span.start.saturating_sub(by), end: p.span.end.saturating_sub(by) };
                }
            }
            _ => {}
        }
    }
    go(&mut e, by);
    e
}

/// Names an expression refers to in its own module (single-part names).
fn local_refs(expr: &Expr, out: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::Name(q) if q.parts.len() == 1 => out.push(q.parts[0].name.clone()),
        ExprKind::Paren(x) | ExprKind::Under(x) => local_refs(x, out),
        ExprKind::Endpoint(a, b) => {
            local_refs(a, out);
            local_refs(b, out);
        }
        ExprKind::List(items) => items.iter().for_each(|x| local_refs(x, out)),
        ExprKind::Chain { first, rest } => {
            local_refs(first, out);
            rest.iter().for_each(|(_, x)| local_refs(x, out));
        }
        _ => {}
    }
}

fn mentions_names(expr: &Expr) -> bool {
    let mut refs = Vec::new();
    local_refs(expr, &mut refs);
    !refs.is_empty() || matches!(&expr.kind, ExprKind::Name(_))
}

/// Lowers a module's lets and params in dependency order.
fn lower_definitions(
    m: usize,
    modules: &[LoadedModule],
    scopes: &[Scope],
    values: &mut [HashMap<String, Binding>],
    overrides: &HashMap<String, (Expr, crate::source::FileId)>,
    env: Env<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    let module = &modules[m];
    // Only definitions that own their name (duplicates were reported).
    let defs: Vec<(String, usize)> = scopes[m]
        .defs
        .iter()
        .filter_map(|(name, (def, _))| match def {
            Def::Let(i) | Def::Param(i) => Some((name.clone(), *i)),
            _ => None,
        })
        .collect();
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let index: HashMap<&str, NodeIndex> =
        defs.iter().map(|(name, i)| (name.as_str(), graph.add_node(*i))).collect();
    for (name, i) in &defs {
        let mut refs = Vec::new();
        match &module.ast.items[*i].kind {
            ItemKind::Let(l) => local_refs(&l.value, &mut refs),
            ItemKind::Param(p) => {
                if let Some(d) = &p.default {
                    local_refs(d, &mut refs);
                }
            }
            _ => {}
        }
        for r in refs {
            if let (Some(&from), Some(&to)) = (index.get(name.as_str()), index.get(r.as_str())) {
                graph.add_edge(to, from, ());
            }
        }
    }
    let mut poisoned: Vec<usize> = Vec::new();
    for scc in tarjan_scc(&graph) {
        let items: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
        let self_loop = items.len() == 1 && scc.first().is_some_and(|n| graph.contains_edge(*n, *n));
        if items.len() < 2 && !self_loop {
            continue;
        }
        let mut sorted = items.clone();
        sorted.sort_unstable();
        let names: Vec<String> = sorted
            .iter()
            .filter_map(|i| item_name(&module.ast.items[*i].kind).map(|n| format!("`{}`", n.name)))
            .collect();
        let mut d = Diagnostic::error(
            Code::CyclicDefinition,
            format!("definitions refer to each other: {}", names.join(" → ")),
        );
        for (k, i) in sorted.iter().enumerate() {
            if let Some(n) = item_name(&module.ast.items[*i].kind) {
                let at = SourceSpan::new(module.file, n.span);
                d = if k == 0 {
                    d.primary(at, "defined in terms of itself")
                } else {
                    d.secondary(at, "on the cycle")
                };
            }
        }
        diags.push(d.help("a set cannot be defined in terms of itself"));
        poisoned.extend(items);
    }
    for (name, i) in &defs {
        if poisoned.contains(i) {
            values[m].insert(name.clone(), Binding::default());
        }
    }
    let mut acyclic = graph.clone();
    acyclic.retain_edges(|g, e| {
        g.edge_endpoints(e).is_none_or(|(a, b)| !poisoned.contains(&g[a]) && !poisoned.contains(&g[b]))
    });
    let order: Vec<usize> = match toposort(&acyclic, None) {
        Ok(o) => o.into_iter().map(|n| acyclic[n]).collect(),
        Err(_) => Vec::new(),
    };
    for i in order {
        if poisoned.contains(&i) {
            continue;
        }
        let item = &module.ast.items[i];
        let Some(name) = item_name(&item.kind) else { continue };
        let (ty, value) = {
            let mut ctx = Ctx {
                modules,
                scopes,
                values,
                module: m,
                file: module.file,
                home: env.home,
                budget: env.budget,
                diags,
            };
            lower_definition(&mut ctx, &item.kind, m == 0, overrides)
        };
        let value = value.and_then(|v| {
            if v.depth() > MAX_DEFINITION_DEPTH {
                diags.push(
                    Diagnostic::error(
                        Code::DefinitionTooDeep,
                        format!("`{}` is nested too deeply", name.name),
                    )
                    .primary(
                        SourceSpan::new(module.file, name.span),
                        format!("more than {MAX_DEFINITION_DEPTH} levels of sets"),
                    )
                    .help("build long chains of definitions as one union instead"),
                );
                None
            } else {
                Some(v)
            }
        });
        values[m].insert(name.name.clone(), Binding { ty, value });
    }
}

/// Lowers a `let` or `param`: its type, when known, and its value.
fn lower_definition(
    ctx: &mut Ctx<'_>,
    kind: &ItemKind,
    is_root: bool,
    overrides: &HashMap<String, (Expr, crate::source::FileId)>,
) -> (Option<Ty>, Option<Value>) {
    match kind {
        ItemKind::Let(l) => {
            let ty = match &l.ty {
                Some(t) => resolve_type(ctx, t),
                None => ctx.infer(&l.value),
            };
            let Some(ty) = ty else {
                if l.ty.is_none() {
                    // No operand has a type: report the unknown names that
                    // hide it, or ask for an annotation.
                    let before = ctx.diags.len();
                    let _ = ctx.lower(&l.value, Ty::Paths);
                    if ctx.diags.len() == before && !mentions_names(&l.value) {
                        ctx.diags.push(
                            Diagnostic::error(
                                Code::CannotInferType,
                                format!("cannot infer the type of `{}`", l.name.name),
                            )
                            .primary(ctx.at(l.name.span), "no type annotation")
                            .help(format!(
                                "annotate it: `let {}: paths = …` (or hosts, ports, endpoints)",
                                l.name.name
                            )),
                        );
                    }
                }
                return (None, None);
            };
            (Some(ty), ctx.lower(&l.value, ty))
        }
        ItemKind::Param(p) => {
            let Some(ty) = resolve_type(ctx, &p.ty) else { return (None, None) };
            if is_root && let Some((expr, file)) = overrides.get(&p.name.name) {
                let saved = ctx.file;
                ctx.file = *file;
                let v = ctx.lower(expr, ty);
                ctx.file = saved;
                return (Some(ty), v);
            }
            let value = match &p.default {
                Some(d) => ctx.lower(d, ty),
                None => {
                    let help = if is_root {
                        format!(
                            "give it a default (`param {}: {} = …`) or pass `--set {}=VALUE`",
                            p.name.name, p.ty.name, p.name.name
                        )
                    } else {
                        format!(
                            "give it a default (`param {}: {} = …`): `--set` binds only params of the file being checked",
                            p.name.name, p.ty.name
                        )
                    };
                    ctx.diags.push(
                        Diagnostic::error(
                            Code::ParamWithoutValue,
                            format!("param `{}` has no value", p.name.name),
                        )
                        .primary(
                            ctx.at(p.name.span),
                            if is_root { "no default and no `--set`" } else { "no default" },
                        )
                        .help(help),
                    );
                    None
                }
            };
            (Some(ty), value)
        }
        _ => (None, None),
    }
}

fn resolve_type(ctx: &mut Ctx<'_>, t: &ast::Ident) -> Option<Ty> {
    if let Some(ty) = Ty::from_name(&t.name) {
        return Some(ty);
    }
    let mut d = Diagnostic::error(Code::UnknownType, format!("unknown type `{}`", t.name))
        .primary(ctx.at(t.span), "not a type");
    d = match did_you_mean(&t.name, Ty::ALL.map(Ty::name)) {
        Some(h) => d.help(h),
        None => d.help("the types are `paths`, `hosts`, `ports` and `endpoints`"),
    };
    ctx.diags.push(d);
    None
}
