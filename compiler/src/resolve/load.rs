//! Loading modules: the import graph (petgraph), import errors and cycles,
//! and the order in which modules are resolved (dependencies first).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use corral_grammar::ast::{ImportSource, ItemKind, Module, Span};
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::syntax::syntax_diagnostic;
use crate::diagnostics::{Code, Diagnostic, closest};
use crate::source::{FileId, SourceMap, SourceSpan};

/// Identity of a module: the same key is loaded once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ModuleKey {
    Root,
    Std(String),
    File(PathBuf),
}

pub(crate) struct LoadedModule {
    pub file: FileId,
    /// The directory relative imports start from; `None` for std modules.
    pub dir: Option<PathBuf>,
    pub ast: Module,
    /// One entry per import item, in source order.
    pub imports: Vec<ImportEdge>,
}

pub(crate) struct ImportEdge {
    /// Index of the import in `ast.items`.
    pub item: usize,
    pub alias: String,
    pub alias_span: Span,
    /// The imported module, or `None` when the import failed (reported).
    pub target: Option<usize>,
}

pub(crate) struct Loaded {
    pub modules: Vec<LoadedModule>,
    /// Module indices, each after every module it imports.
    pub order: Vec<usize>,
    pub inputs: Vec<Input>,
}

/// One thing a compilation depended on: a file's text, an embedded
/// standard module, or the absence of a file that an `import a.b` search
/// passed over. With the [`Options`](super::Options), the inputs decide
/// the program: compiling again gives the same program when each input is
/// as it was. `corral run --ruleset` relies on this to check that a
/// prebuilt ruleset is current without compiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file that was read: the root or an import; `file` holds its text.
    /// The path is absolute, not canonical.
    File { path: PathBuf, file: FileId },
    /// An embedded standard module.
    Std { name: String, file: FileId },
    /// A candidate of a module search that was not a file.
    Absent { path: PathBuf },
}

pub(crate) fn load(
    root_name: &str,
    root_text: String,
    root_dir: Option<&Path>,
    lib_dirs: &[PathBuf],
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Loaded {
    let mut loader =
        Loader { lib_dirs, sources, diags, modules: Vec::new(), by_key: HashMap::new(), inputs: Vec::new() };
    // The root is keyed by its real path when it has one, so that a file
    // importing the root back is recognised as the same module.
    let root_key = std::fs::canonicalize(root_name).map_or(ModuleKey::Root, ModuleKey::File);
    let root = loader.add(root_key, root_name.to_owned(), root_text, root_dir.map(Path::to_path_buf));
    loader.read(Path::new(root_name), root);
    let mut next = 0;
    while next < loader.modules.len() {
        loader.resolve_imports(next);
        next += 1;
    }
    let order = loader.break_cycles_and_order();
    Loaded { modules: loader.modules, order, inputs: loader.inputs }
}

/// An import item: its index, source, explicit alias and span.
type PendingImport = (usize, ImportSource, Option<(String, Span)>, Span);

struct Loader<'a> {
    lib_dirs: &'a [PathBuf],
    sources: &'a mut SourceMap,
    diags: &'a mut Vec<Diagnostic>,
    modules: Vec<LoadedModule>,
    by_key: HashMap<ModuleKey, usize>,
    inputs: Vec<Input>,
}

/// `path` made absolute against the working directory, as it is when the
/// file is opened; unchanged when that fails (no working directory).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Loader<'_> {
    /// Records that module `idx` was read from `path`.
    fn read(&mut self, path: &Path, idx: usize) {
        let input = Input::File { path: absolute(path), file: self.modules[idx].file };
        if !self.inputs.contains(&input) {
            self.inputs.push(input);
        }
    }

    fn add(&mut self, key: ModuleKey, name: String, text: String, dir: Option<PathBuf>) -> usize {
        let parsed = corral_grammar::parse(&text);
        let file = self.sources.add(name, text);
        for err in &parsed.errors {
            self.diags.push(syntax_diagnostic(err, file));
        }
        let idx = self.modules.len();
        self.modules.push(LoadedModule { file, dir, ast: parsed.module, imports: Vec::new() });
        self.by_key.insert(key, idx);
        idx
    }

    fn resolve_imports(&mut self, idx: usize) {
        let file = self.modules[idx].file;
        let dir = self.modules[idx].dir.clone();
        let imports: Vec<PendingImport> = self.modules[idx]
            .ast
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match &item.kind {
                ItemKind::Import(imp) => Some((
                    i,
                    imp.source.clone(),
                    imp.alias.as_ref().map(|a| (a.name.clone(), a.span)),
                    item.span,
                )),
                _ => None,
            })
            .collect();
        let mut edges = Vec::new();
        for (item, source, alias, item_span) in imports {
            let (default_alias, source_span) = match &source {
                ImportSource::Module(q) => {
                    (q.parts.last().map(|p| p.name.clone()).unwrap_or_default(), q.span)
                }
                ImportSource::File(s) => (file_stem_alias(&s.value), s.span),
            };
            let (alias, alias_span) = alias.unwrap_or((default_alias, source_span));
            let target = self.import_target(&source, dir.as_deref(), file, item_span);
            if alias.is_empty() && target.is_some() {
                self.diags.push(
                    Diagnostic::error(Code::ImportNotFound, "imported file needs a name")
                        .primary(
                            SourceSpan::new(file, source_span),
                            "no name can be derived from this file name",
                        )
                        .help("name it: `import \"./x.corral\" as x`"),
                );
            }
            edges.push(ImportEdge { item, alias, alias_span, target });
        }
        self.modules[idx].imports = edges;
    }

    fn import_target(
        &mut self,
        source: &ImportSource,
        dir: Option<&Path>,
        file: FileId,
        item_span: Span,
    ) -> Option<usize> {
        match source {
            ImportSource::Module(q) => {
                let parts: Vec<&str> = q.parts.iter().map(|p| p.name.as_str()).collect();
                let span = SourceSpan::new(file, q.span);
                if parts.first() == Some(&"std") && parts.len() == 2 {
                    let name = parts[1];
                    let key = ModuleKey::Std(name.to_owned());
                    if let Some(&idx) = self.by_key.get(&key) {
                        return Some(idx);
                    }
                    if let Some(text) = corral_stdlib::module(name) {
                        let idx = self.add(key, format!("std/{name}.corral"), text.to_owned(), None);
                        let file = self.modules[idx].file;
                        self.inputs.push(Input::Std { name: name.to_owned(), file });
                        return Some(idx);
                    }
                    let mut d =
                        Diagnostic::error(Code::ImportNotFound, format!("no standard module `std.{name}`"))
                            .primary(span, "not in the standard library");
                    let names: Vec<String> = corral_stdlib::names().map(|n| format!("`std.{n}`")).collect();
                    d = match closest(name, corral_stdlib::names()) {
                        Some(n) => d.help(format!("did you mean `std.{n}`?")),
                        None => d.help(format!("the standard modules are {}", names.join(", "))),
                    };
                    self.diags.push(d);
                    return None;
                }
                // `import a.b` searches `a/b.corral` under the importing
                // file's directory, then under each `--lib` root.
                let rel: PathBuf = parts.iter().collect::<PathBuf>().with_extension("corral");
                let roots: Vec<PathBuf> =
                    dir.map(Path::to_path_buf).into_iter().chain(self.lib_dirs.iter().cloned()).collect();
                for root in &roots {
                    let candidate = root.join(&rel);
                    if candidate.is_file() {
                        return self.load_file(&candidate, span);
                    }
                    self.inputs.push(Input::Absent { path: absolute(&candidate) });
                }
                let searched: Vec<String> = roots.iter().map(|r| display_path(&r.join(&rel))).collect();
                let mut d =
                    Diagnostic::error(Code::ImportNotFound, format!("module `{}` not found", q.dotted()))
                        .primary(span, "no such module");
                d = if searched.is_empty() {
                    d.help("add a search root with `--lib DIR`")
                } else {
                    d.help(format!(
                        "searched {}; add a search root with `--lib DIR`",
                        searched.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                    ))
                };
                self.diags.push(d);
                None
            }
            ImportSource::File(s) => {
                let span = SourceSpan::new(file, s.span);
                let Some(dir) = dir else {
                    self.diags.push(
                        Diagnostic::error(Code::ImportNotFound, "a standard module cannot import files")
                            .primary(SourceSpan::new(file, item_span), "file import in a standard module"),
                    );
                    return None;
                };
                let path = normalize(&dir.join(&s.value));
                if !path.is_file() {
                    self.diags.push(
                        Diagnostic::error(Code::ImportNotFound, format!("file `{}` not found", s.value))
                            .primary(span, format!("looked for `{}`", display_path(&path)))
                            .help("file imports are relative to the importing file"),
                    );
                    return None;
                }
                self.load_file(&path, span)
            }
        }
    }

    fn load_file(&mut self, path: &Path, span: SourceSpan) -> Option<usize> {
        let key = ModuleKey::File(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
        if let Some(&idx) = self.by_key.get(&key) {
            // The same file again, perhaps by another path: that path
            // must still lead to it.
            self.read(path, idx);
            return Some(idx);
        }
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let dir = path.parent().map(Path::to_path_buf);
                let idx = self.add(key, display_path(path), text, dir);
                self.read(path, idx);
                Some(idx)
            }
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::ImportUnreadable,
                        format!("cannot read `{}`", display_path(path)),
                    )
                    .primary(
                        span,
                        if e.kind() == std::io::ErrorKind::InvalidData {
                            "the file is not valid UTF-8".to_owned()
                        } else {
                            format!("{e}")
                        },
                    ),
                );
                None
            }
        }
    }

    /// Reports every import cycle once, cuts its edges, and returns an order
    /// in which each module comes after the modules it imports.
    fn break_cycles_and_order(&mut self) -> Vec<usize> {
        let mut graph: DiGraph<usize, usize> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.modules.len()).map(|i| graph.add_node(i)).collect();
        for (i, m) in self.modules.iter().enumerate() {
            for (e, edge) in m.imports.iter().enumerate() {
                if let Some(t) = edge.target {
                    graph.add_edge(nodes[i], nodes[t], e);
                }
            }
        }
        for scc in tarjan_scc(&graph) {
            let members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
            let self_loop = members.len() == 1
                && self.modules[members[0]].imports.iter().any(|e| e.target == Some(members[0]));
            if members.len() < 2 && !self_loop {
                continue;
            }
            self.report_cycle(&members);
        }
        let mut acyclic: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.modules.len()).map(|i| acyclic.add_node(i)).collect();
        for (i, m) in self.modules.iter().enumerate() {
            for edge in &m.imports {
                if let Some(t) = edge.target {
                    acyclic.add_edge(nodes[i], nodes[t], ());
                }
            }
        }
        match toposort(&acyclic, None) {
            Ok(order) => order.into_iter().rev().map(|n| acyclic[n]).collect(),
            // Unreachable once cycles are cut; fall back to load order.
            Err(_) => (0..self.modules.len()).rev().collect(),
        }
    }

    fn report_cycle(&mut self, members: &[usize]) {
        let start = members.iter().copied().min().unwrap_or(0);
        let modules = &self.modules;
        let path = super::shortest_cycle(start, members, |m| {
            modules[m].imports.iter().filter_map(|e| e.target).collect()
        });
        let names: Vec<String> = path
            .iter()
            .chain(std::iter::once(&start))
            .map(|m| format!("`{}`", self.sources.name(self.modules[*m].file)))
            .collect();
        let mut d = Diagnostic::error(Code::ImportCycle, format!("import cycle: {}", names.join(" → ")));
        for (k, &m) in path.iter().enumerate() {
            let next = path.get(k + 1).copied().unwrap_or(start);
            if let Some(edge) = self.modules[m].imports.iter().find(|e| e.target == Some(next)) {
                let span = self.modules[m].ast.items[edge.item].span;
                let label = format!("imports `{}`", self.sources.name(self.modules[next].file));
                d = if k == 0 {
                    d.primary(SourceSpan::new(self.modules[m].file, span), label)
                } else {
                    d.secondary(SourceSpan::new(self.modules[m].file, span), label)
                };
            }
        }
        self.diags.push(d.help("move what the modules share into a module that imports neither"));
        // Cut every edge inside the cycle so resolution can go on.
        for &m in members {
            for edge in &mut self.modules[m].imports {
                if edge.target.is_some_and(|t| members.contains(&t)) {
                    edge.target = None;
                }
            }
        }
    }
}

fn file_stem_alias(path: &str) -> String {
    let stem = Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let valid = stem.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !corral_grammar::lexer::is_keyword(stem);
    if valid { stem.to_owned() } else { String::new() }
}

/// Removes `.` components and folds `..` lexically, so that names shown to
/// the user stay short and stable.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn display_path(path: &Path) -> String {
    normalize(path).to_string_lossy().into_owned()
}
