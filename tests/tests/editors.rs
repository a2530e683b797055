//! The VS Code extension in `editors/vscode/`: its manifest points at files
//! that exist, its TextMate grammar highlights every keyword of the lexer
//! as a keyword (and nothing else), the value types and the isolation
//! tiers; its script is valid JavaScript (`node --check`, when Node is
//! installed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use corral_compiler::ir::Tier;
use corral_grammar::lexer::{KEYWORDS, is_keyword};
use regex::Regex;
use serde_json::Value;

fn extension() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// The grammar's top-level `match` patterns, in order, with their scopes.
fn patterns() -> Vec<(String, Regex)> {
    let grammar = json(&extension().join("syntaxes/corral.tmLanguage.json"));
    grammar["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let m = p["match"].as_str()?;
            Some((p["name"].as_str().unwrap().to_owned(), Regex::new(&format!("^(?:{m})$")).unwrap()))
        })
        .collect()
}

/// The scope TextMate gives `word` on its own: the first pattern that
/// matches it whole.
fn scope(patterns: &[(String, Regex)], word: &str) -> String {
    patterns.iter().find(|(_, r)| r.is_match(word)).map(|(n, _)| n.clone()).unwrap_or_default()
}

#[test]
fn the_manifest_names_files_that_exist() {
    let manifest = json(&extension().join("package.json"));
    let language = &manifest["contributes"]["languages"][0];
    assert_eq!(language["id"], "corral");
    assert_eq!(language["extensions"], serde_json::json!([".corral"]));
    let grammar = &manifest["contributes"]["grammars"][0];
    let grammar_file = json(&extension().join(grammar["path"].as_str().unwrap()));
    assert_eq!(grammar["scopeName"], grammar_file["scopeName"]);
    for file in [manifest["main"].as_str().unwrap(), language["configuration"].as_str().unwrap()] {
        assert!(extension().join(file).is_file(), "{file}");
    }
}

#[test]
fn every_keyword_and_only_keywords_are_highlighted_as_keywords() {
    let patterns = patterns();
    let is_keyword_scope = |s: &str| {
        s.starts_with("keyword.") || s.starts_with("storage.") || s == "constant.language.boolean.corral"
    };
    for word in KEYWORDS {
        let s = scope(&patterns, word);
        assert!(is_keyword_scope(&s), "`{word}` is highlighted as `{s}`");
    }
    for (name, regex) in &patterns {
        // Every word a keyword pattern lists (`\b(?:a|b)\b`; operators
        // are not words) is a keyword of the lexer.
        let Some(words) = regex.as_str().strip_prefix("^(?:\\b(?:").and_then(|w| w.strip_suffix(")\\b)$"))
        else {
            continue;
        };
        if !is_keyword_scope(name) {
            continue;
        }
        for word in words.split('|') {
            assert!(is_keyword(word), "`{word}` is highlighted as `{name}` but is not a keyword");
        }
    }
    for ty in corral_compiler::resolve::type_names() {
        assert_eq!(scope(&patterns, ty), "support.type.corral", "{ty}");
    }
    for tier in Tier::ALL {
        assert_eq!(scope(&patterns, tier.keyword()), "constant.language.tier.corral");
    }
    assert_eq!(scope(&patterns, "github"), "variable.other.corral");
    assert_eq!(scope(&patterns, "30s"), "constant.numeric.duration.corral");
}

#[test]
fn the_extension_script_is_valid_javascript() {
    let script = extension().join("extension.js");
    match std::process::Command::new("node").arg("--check").arg(&script).output() {
        Ok(out) => assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("skipped: node is not installed ({e})"),
    }
}
