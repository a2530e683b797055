//! Hover, go to definition and the outline: names are found in the token
//! stream at the cursor (`a`, `net.github`), and looked up in the
//! document's items or, through an import alias, in the imported module
//! (a standard module, or a file next to the document).

use std::path::{Path, PathBuf};

use corral_grammar::ast::{Ident, ImportSource, Item, ItemKind, Module, Span};
use corral_grammar::lexer::{Tok, TokenStream, keyword_text};
use lsp_types::{DocumentSymbol, Hover, HoverContents, Location, MarkupContent, MarkupKind, SymbolKind, Url};

use super::text::LineIndex;

/// Where a document is, and where its `import a.b` look after its own
/// directory (`--lib`).
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub path: &'a Path,
    pub lib_dirs: &'a [PathBuf],
}

/// A parsed module and where it came from.
pub(super) struct Source {
    pub text: String,
    pub module: Module,
    /// The file, or `None` for a standard module.
    path: Option<PathBuf>,
    /// `std.secrets`, or the file name, for hovers.
    title: String,
}

impl Source {
    fn new(text: String, path: Option<PathBuf>, title: String) -> Self {
        let module = corral_grammar::parse(&text).module;
        Source { text, module, path, title }
    }
}

/// The dotted name under byte `offset`, up to the part the cursor is on:
/// on `github` in `net.github` it is `["net", "github"]`, on `net` just
/// `["net"]`.
fn name_at(text: &str, offset: usize) -> Option<Vec<String>> {
    let tokens: Vec<(usize, Tok, usize)> = TokenStream::new(text).collect();
    let word = |tok: &Tok| match tok {
        Tok::Ident(name) => Some(name.clone()),
        other => keyword_text(other)
            .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(str::to_owned),
    };
    let at = tokens.iter().position(|(s, t, e)| *s <= offset && offset <= *e && word(t).is_some())?;
    let mut parts = vec![word(&tokens[at].1)?];
    let mut i = at;
    while i >= 2 && tokens[i - 1].1 == Tok::Dot {
        let Some(prev) = word(&tokens[i - 2].1) else { break };
        parts.insert(0, prev);
        i -= 2;
    }
    // A keyword alone (`allow`, `read`) is not a name.
    if parts.len() == 1 && !matches!(tokens[at].1, Tok::Ident(_)) {
        return None;
    }
    Some(parts)
}

/// The name a let, param or policy declares.
fn declared_name(item: &Item) -> Option<&Ident> {
    match &item.kind {
        ItemKind::Let(l) => Some(&l.name),
        ItemKind::Param(p) => Some(&p.name),
        ItemKind::Policy(p) => Some(&p.name),
        _ => None,
    }
}

/// The index of the let, param or policy named `name` in `module`.
fn declaration(module: &Module, name: &str) -> Option<usize> {
    module.items.iter().position(|item| declared_name(item).is_some_and(|n| n.name == name))
}

/// The module an import alias of `module` (the document at `place`)
/// names, found as the compiler finds it.
pub(super) fn imported(module: &Module, place: Place<'_>, alias: &str) -> Option<Source> {
    let dir = place.path.parent();
    for item in &module.items {
        let ItemKind::Import(import) = &item.kind else { continue };
        let (default, source) = match &import.source {
            ImportSource::Module(q) => (q.parts.last().map(|p| p.name.clone()), Some(q)),
            ImportSource::File(s) => {
                (Path::new(&s.value).file_stem().map(|s| s.to_string_lossy().into_owned()), None)
            }
        };
        let name = import.alias.as_ref().map(|a| a.name.clone()).or(default);
        if name.as_deref() != Some(alias) {
            continue;
        }
        return match (&import.source, source) {
            (ImportSource::Module(_), Some(q)) if q.parts.len() == 2 && q.parts[0].name == "std" => {
                let name = &q.parts[1].name;
                corral_stdlib::module(name)
                    .map(|text| Source::new(text.to_owned(), None, format!("std.{name}")))
            }
            (ImportSource::Module(_), Some(q)) => {
                let rel: PathBuf =
                    q.parts.iter().map(|p| p.name.as_str()).collect::<PathBuf>().with_extension("corral");
                let roots = dir.into_iter().chain(place.lib_dirs.iter().map(PathBuf::as_path));
                let path = roots.map(|root| root.join(&rel)).find(|p| p.is_file())?;
                let text = std::fs::read_to_string(&path).ok()?;
                Some(Source::new(text, Some(path), q.dotted()))
            }
            (ImportSource::File(s), _) => {
                let path = dir?.join(&s.value);
                let text = std::fs::read_to_string(&path).ok()?;
                Some(Source::new(text, Some(path), s.value.clone()))
            }
            _ => None,
        };
    }
    None
}

/// What a name refers to: the item and the module holding it, or a whole
/// imported module.
enum Target {
    Item(Source, usize),
    Module(Source),
}

fn resolve(place: Place<'_>, text: &str, offset: usize) -> Option<Target> {
    let parts = name_at(text, offset)?;
    let here = Source::new(text.to_owned(), Some(place.path.to_path_buf()), String::new());
    let (first, rest) = parts.split_first()?;
    if rest.is_empty() {
        if let Some(i) = declaration(&here.module, first) {
            return Some(Target::Item(here, i));
        }
        return imported(&here.module, place, first).map(Target::Module);
    }
    let module = imported(&here.module, place, first)?;
    let name = rest.last()?;
    let i = declaration(&module.module, name)?;
    Some(Target::Item(module, i))
}

/// The first line of an item as declared, without its value.
pub(super) fn signature(item: &Item) -> String {
    match &item.kind {
        ItemKind::Let(l) => match &l.ty {
            Some(ty) => format!("let {}: {}", l.name.name, ty.name),
            None => format!("let {}", l.name.name),
        },
        ItemKind::Param(p) => format!("param {}: {}", p.name.name, p.ty.name),
        ItemKind::Policy(p) => {
            let mut s = format!("policy {}", p.name.name);
            if !p.extends.is_empty() {
                let parents: Vec<String> = p.extends.iter().map(|q| q.dotted()).collect();
                s.push_str(&format!(" extends {}", parents.join(", ")));
            }
            s
        }
        _ => String::new(),
    }
}

/// The leading `//` comment of a module (its description), without the
/// slashes.
fn module_summary(text: &str) -> String {
    text.lines()
        .take_while(|l| l.starts_with("//"))
        .map(|l| l.trim_start_matches('/').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn hover(place: Place<'_>, text: &str, offset: usize) -> Option<Hover> {
    let value = match resolve(place, text, offset)? {
        Target::Item(source, i) => {
            let item = &source.module.items[i];
            let mut value = format!("```corral\n{}\n```", signature(item));
            if !source.title.is_empty() {
                value.push_str(&format!("\n\nfrom `{}`", source.title));
            }
            if !item.docs.is_empty() {
                let docs: Vec<&str> = item.docs.iter().map(|d| d.trim()).collect();
                value.push_str(&format!("\n\n{}", docs.join("\n")));
            }
            value
        }
        Target::Module(source) => format!("module `{}`\n\n{}", source.title, module_summary(&source.text)),
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: None,
    })
}

pub fn definition(place: Place<'_>, text: &str, offset: usize) -> Option<Location> {
    let (source, span) = match resolve(place, text, offset)? {
        Target::Item(source, i) => {
            let span = declared_name(&source.module.items[i])?.span;
            (source, span)
        }
        Target::Module(source) => (source, Span { start: 0, end: 0 }),
    };
    // Standard modules live in the binary: there is no file to open.
    let uri = Url::from_file_path(source.path.as_ref()?).ok()?;
    let index = LineIndex::new(&source.text);
    Some(Location { uri, range: index.range(&source.text, span.start as usize, span.end as usize) })
}

/// The outline: imports, lets, params and policies, in order.
#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out.
pub fn symbols(text: &str) -> Vec<DocumentSymbol> {
    let module = corral_grammar::parse(text).module;
    let index = LineIndex::new(text);
    let range = |span: Span| index.range(text, span.start as usize, span.end as usize);
    module
        .items
        .iter()
        .filter_map(|item| {
            let (name, kind, selection) = match &item.kind {
                ItemKind::Let(l) => (l.name.name.clone(), SymbolKind::VARIABLE, l.name.span),
                ItemKind::Param(p) => (p.name.name.clone(), SymbolKind::CONSTANT, p.name.span),
                ItemKind::Policy(p) => (p.name.name.clone(), SymbolKind::STRUCT, p.name.span),
                ItemKind::Import(i) => match &i.source {
                    ImportSource::Module(q) => (q.dotted(), SymbolKind::MODULE, q.span),
                    ImportSource::File(s) => (s.value.clone(), SymbolKind::FILE, s.span),
                },
                ItemKind::Error => return None,
            };
            Some(DocumentSymbol {
                name,
                detail: Some(signature(item)).filter(|s| !s.is_empty()),
                kind,
                tags: None,
                deprecated: None,
                range: range(item.span),
                selection_range: range(selection),
                children: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::name_at;

    #[test]
    fn the_dotted_name_at_the_cursor_stops_at_its_part() {
        let text = "allow connect tcp net.github:443";
        let on = |needle: &str| name_at(text, text.find(needle).unwrap() + 1);
        assert_eq!(on("github"), Some(vec!["net".to_owned(), "github".to_owned()]));
        assert_eq!(on("net"), Some(vec!["net".to_owned()]));
        assert_eq!(on("allow"), None);
    }
}
