//! Completion: after `alias.`, the lets, params and policies of the module
//! the alias imports; elsewhere the document's own names, its import
//! aliases, the keywords, the value types and the isolation tiers. The
//! client filters by what is typed.

use std::path::Path;

use corral_compiler::ir::Tier;
use corral_grammar::ast::{ImportSource, ItemKind, Module};
use corral_grammar::lexer::{KEYWORDS, Tok, TokenStream};
use lsp_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

use super::navigation::{Place, imported, signature};

/// The completions at byte `offset` of `text` (the document at `place`).
pub fn completion(place: Place<'_>, text: &str, offset: usize) -> Vec<CompletionItem> {
    let module = corral_grammar::parse(text).module;
    match alias_before(text, offset) {
        Some(alias) => imported(&module, place, &alias).map_or_else(Vec::new, |m| items(&m.module)),
        None => everything(&module),
    }
}

/// `alias` when the cursor follows `alias.` (and perhaps part of a name).
fn alias_before(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?;
    let tokens: Vec<(usize, Tok, usize)> = TokenStream::new(before).collect();
    let mut rest = tokens.as_slice();
    // A name being typed right at the cursor.
    if let [head @ .., (_, Tok::Ident(_), end)] = rest
        && *end == offset
    {
        rest = head;
    }
    match rest {
        [.., (_, Tok::Ident(alias), _), (_, Tok::Dot, _)] => Some(alias.clone()),
        _ => None,
    }
}

/// The lets, params and policies of `module`, with their docs.
fn items(module: &Module) -> Vec<CompletionItem> {
    module
        .items
        .iter()
        .filter_map(|item| {
            let (name, kind) = match &item.kind {
                ItemKind::Let(l) => (l.name.name.clone(), CompletionItemKind::VARIABLE),
                ItemKind::Param(p) => (p.name.name.clone(), CompletionItemKind::CONSTANT),
                ItemKind::Policy(p) => (p.name.name.clone(), CompletionItemKind::STRUCT),
                _ => return None,
            };
            let docs: Vec<&str> = item.docs.iter().map(|d| d.trim()).collect();
            Some(CompletionItem {
                label: name,
                kind: Some(kind),
                detail: Some(signature(item)),
                documentation: (!docs.is_empty()).then(|| {
                    Documentation::MarkupContent(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: docs.join("\n"),
                    })
                }),
                ..CompletionItem::default()
            })
        })
        .collect()
}

fn everything(module: &Module) -> Vec<CompletionItem> {
    let mut out = items(module);
    for item in &module.items {
        let ItemKind::Import(import) = &item.kind else { continue };
        let alias = match (&import.alias, &import.source) {
            (Some(a), _) => Some(a.name.clone()),
            (None, ImportSource::Module(q)) => q.parts.last().map(|p| p.name.clone()),
            (None, ImportSource::File(s)) => {
                Path::new(&s.value).file_stem().map(|s| s.to_string_lossy().into_owned())
            }
        };
        if let Some(label) = alias {
            out.push(CompletionItem {
                label,
                kind: Some(CompletionItemKind::MODULE),
                ..CompletionItem::default()
            });
        }
    }
    let word = |label: &str, kind, detail: &str| CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail: Some(detail.to_owned()),
        ..CompletionItem::default()
    };
    out.extend(KEYWORDS.iter().map(|w| word(w, CompletionItemKind::KEYWORD, "keyword")));
    let types = corral_compiler::resolve::type_names();
    out.extend(types.iter().map(|t| word(t, CompletionItemKind::TYPE_PARAMETER, "type")));
    out.extend(
        Tier::ALL.iter().map(|t| word(t.keyword(), CompletionItemKind::ENUM_MEMBER, "isolation tier")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::alias_before;

    #[test]
    fn an_alias_is_seen_before_a_dot_and_a_partial_name() {
        let text = "allow read secrets.al";
        assert_eq!(alias_before(text, text.len()), Some("secrets".to_owned()));
        assert_eq!(alias_before(text, text.len() - 2), Some("secrets".to_owned()));
        assert_eq!(alias_before(text, "allow re".len()), None);
    }
}
