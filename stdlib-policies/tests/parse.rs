//! Every standard module and every example parses without syntax errors,
//! and keeps the shape the rest of the project relies on: std modules are
//! documented, typed `let` items whose names resolve; path and host literals
//! are well-formed (LANGUAGE.md §3); examples name only std items that exist.

#![allow(clippy::panic, clippy::print_stderr, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use corral_grammar::ast::{
    Expr, ExprKind, Formula, FormulaKind, ImportSource, ItemKind, Module, StmtKind, Target,
};
use corral_grammar::{SyntaxError, parse};

const TYPES: [&str; 4] = ["paths", "hosts", "ports", "endpoints"];

/// `line:col` of a byte offset, 1-based.
fn line_col(source: &str, offset: u32) -> (usize, usize) {
    let offset = (offset as usize).min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

fn describe_errors(name: &str, source: &str, errors: &[SyntaxError]) -> String {
    let mut out = String::new();
    for e in errors {
        let (line, col) = line_col(source, e.span.start);
        let end = (e.span.end as usize).min(source.len());
        let text = source.get(e.span.start as usize..end).unwrap_or("");
        out.push_str(&format!("{name}:{line}:{col}: {:?} at {text:?}\n", e.kind));
    }
    out
}

/// Parses `source`, failing the test with every syntax error if there is one.
fn parse_clean(name: &str, source: &str) -> Module {
    let parsed = parse(source);
    if !parsed.errors.is_empty() {
        let report = describe_errors(name, source, &parsed.errors);
        eprintln!("{report}");
        panic!("{name}: {} syntax error(s):\n{report}", parsed.errors.len());
    }
    parsed.module
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "corral"))
        .collect();
    files.sort();
    files
}

// ---- literal checks (a test-side mirror of LANGUAGE.md §3) ----

fn path_problem(literal: &str) -> Option<String> {
    let text = if literal == "~" {
        "/home/u".to_owned()
    } else if let Some(rest) = literal.strip_prefix("~/") {
        format!("/home/u/{rest}")
    } else {
        literal.to_owned()
    };
    if !text.starts_with('/') {
        return Some("relative path".into());
    }
    if text == "/" {
        return None;
    }
    if text.ends_with('/') {
        return Some("trailing `/`".into());
    }
    if text.contains('\0') {
        return Some("NUL".into());
    }
    for seg in text[1..].split('/') {
        match seg {
            "" => return Some("`//`".into()),
            "." | ".." => return Some(format!("`{seg}` segment")),
            "**" => {}
            s if s.contains("**") => return Some(format!("`**` inside segment `{s}`")),
            s => {
                let mut depth = 0i32;
                for c in s.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if !(0..=1).contains(&depth) {
                        return Some(format!("bad braces in `{s}`"));
                    }
                }
                if depth != 0 {
                    return Some(format!("unbalanced braces in `{s}`"));
                }
            }
        }
    }
    None
}

fn host_problem(literal: &str) -> Option<String> {
    if literal != literal.to_ascii_lowercase() {
        return Some("host names are written in lower case".into());
    }
    if literal.ends_with('.') {
        return Some("trailing dot".into());
    }
    if let Some((addr, len)) = literal.split_once('/') {
        let Ok(ip) = addr.parse::<IpAddr>() else {
            return Some("bad CIDR address".into());
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return match len.parse::<u32>() {
            Ok(n) if n <= max => None,
            _ => Some("bad CIDR prefix".into()),
        };
    }
    if literal.parse::<IpAddr>().is_ok() {
        return None;
    }
    let name = literal.strip_prefix("*.").unwrap_or(literal);
    for label in name.split('.') {
        let ok = !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Some(format!("bad label `{label}`"));
        }
    }
    None
}

/// Checks every string literal of `expr`, read as a value of type `ty`.
fn check_literals(expr: &Expr, ty: &str, problems: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::Str(s) => {
            let problem = match ty {
                "paths" => path_problem(s),
                "hosts" => host_problem(s),
                _ => Some(format!("a string where {ty} are expected")),
            };
            if let Some(p) = problem {
                problems.push(format!("{s:?}: {p}"));
            }
        }
        ExprKind::Under(inner) => check_literals(inner, "paths", problems),
        ExprKind::Endpoint(hosts, ports) => {
            check_literals(hosts, "hosts", problems);
            check_literals(ports, "ports", problems);
        }
        ExprKind::List(items) => items.iter().for_each(|e| check_literals(e, ty, problems)),
        ExprKind::Paren(inner) => check_literals(inner, ty, problems),
        ExprKind::Chain { first, rest } => {
            check_literals(first, ty, problems);
            rest.iter().for_each(|(_, e)| check_literals(e, ty, problems));
        }
        ExprKind::Int(n) if *n > 65535 => problems.push(format!("port {n} out of range")),
        ExprKind::Range(a, b) if a > b || *b > 65535 => {
            problems.push(format!("port range {a}..{b}"));
        }
        _ => {}
    }
}

fn check_target(target: &Target, problems: &mut Vec<String>) {
    match target {
        Target::Files { set, .. } => check_literals(set, "paths", problems),
        Target::Connect { set, .. } => check_literals(set, "endpoints", problems),
        Target::Bind { ports, from, .. } => {
            check_literals(ports, "ports", problems);
            if let Some(from) = from {
                check_literals(from, "hosts", problems);
            }
        }
        Target::Device { .. } => {}
    }
}

fn check_formula(f: &Formula, problems: &mut Vec<String>) {
    match &f.kind {
        FormulaKind::Access { target, .. } => check_target(target, problems),
        FormulaKind::Not(inner) | FormulaKind::Paren(inner) => check_formula(inner, problems),
        FormulaKind::And(fs) | FormulaKind::Or(fs) | FormulaKind::Implies(fs) => {
            fs.iter().for_each(|f| check_formula(f, problems));
        }
        _ => {}
    }
}

/// Every name an expression refers to, dotted.
fn names_in(expr: &Expr, out: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::Name(q) => out.push(q.dotted()),
        ExprKind::Under(e) | ExprKind::Paren(e) => names_in(e, out),
        ExprKind::Endpoint(a, b) => {
            names_in(a, out);
            names_in(b, out);
        }
        ExprKind::List(items) => items.iter().for_each(|e| names_in(e, out)),
        ExprKind::Chain { first, rest } => {
            names_in(first, out);
            rest.iter().for_each(|(_, e)| names_in(e, out));
        }
        _ => {}
    }
}

fn names_in_target(target: &Target, out: &mut Vec<String>) {
    match target {
        Target::Files { set, .. } | Target::Connect { set, .. } => names_in(set, out),
        Target::Bind { ports, from, .. } => {
            names_in(ports, out);
            if let Some(from) = from {
                names_in(from, out);
            }
        }
        Target::Device { .. } => {}
    }
}

fn names_in_formula(f: &Formula, out: &mut Vec<String>) {
    match &f.kind {
        FormulaKind::Access { target, .. } => names_in_target(target, out),
        FormulaKind::Not(inner) | FormulaKind::Paren(inner) => names_in_formula(inner, out),
        FormulaKind::And(fs) | FormulaKind::Or(fs) | FormulaKind::Implies(fs) => {
            fs.iter().for_each(|f| names_in_formula(f, out));
        }
        _ => {}
    }
}

/// The `let` names of each std module, with their types.
fn std_items() -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, source) in corral_stdlib::MODULES {
        let module = parse_clean(&format!("std/{name}.corral"), source);
        let mut items = BTreeMap::new();
        for item in &module.items {
            if let ItemKind::Let(l) = &item.kind {
                let ty = l.ty.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                items.insert(l.name.name.clone(), ty);
            }
        }
        out.insert(*name, items);
    }
    out
}

#[test]
fn std_modules_parse() {
    for (name, source) in corral_stdlib::MODULES {
        assert!(!source.trim().is_empty(), "std/{name}.corral is empty");
        parse_clean(&format!("std/{name}.corral"), source);
    }
}

#[test]
fn std_modules_are_documented_typed_lets() {
    const BUILTINS: [&str; 5] = ["loopback", "private", "linklocal", "internet", "any"];
    let mut problems = Vec::new();
    for (name, source) in corral_stdlib::MODULES {
        let module = parse_clean(&format!("std/{name}.corral"), source);
        let mut defined: BTreeSet<String> = BTreeSet::new();
        for item in &module.items {
            let ItemKind::Let(l) = &item.kind else {
                problems.push(format!("std/{name}: only `let` items belong in a std module"));
                continue;
            };
            let item_name = &l.name.name;
            if item.docs.is_empty() {
                problems.push(format!("std/{name}: `{item_name}` has no `///` doc comment"));
            }
            let ty = l.ty.as_ref().map(|t| t.name.as_str()).unwrap_or("");
            if !TYPES.contains(&ty) {
                problems.push(format!("std/{name}: `{item_name}` has type `{ty}`"));
            }
            if !defined.insert(item_name.clone()) {
                problems.push(format!("std/{name}: `{item_name}` is defined twice"));
            }
            let mut refs = Vec::new();
            names_in(&l.value, &mut refs);
            for r in refs {
                if !defined.contains(&r) && !BUILTINS.contains(&r.as_str()) {
                    problems
                        .push(format!("std/{name}: `{item_name}` refers to `{r}`, not defined before it"));
                }
            }
            let mut literal_problems = Vec::new();
            check_literals(&l.value, ty, &mut literal_problems);
            for p in literal_problems {
                problems.push(format!("std/{name}: `{item_name}`: {p}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn std_modules_export_all() {
    let items = std_items();
    for module in ["secrets", "persistence", "toolchains"] {
        assert_eq!(
            items[module].get("all").map(String::as_str),
            Some("paths"),
            "std.{module} exports `all: paths`"
        );
    }
    for name in ["github", "crates_io", "pypi", "code_hosts", "registries"] {
        assert_eq!(items["net"].get(name).map(String::as_str), Some("hosts"), "net.{name}");
    }
}

#[test]
fn examples_parse() {
    let files = example_files();
    assert!(files.len() >= 4, "expected the four examples, found {files:?}");
    let mut failures = String::new();
    for path in &files {
        let source = std::fs::read_to_string(path).expect("example is readable");
        let parsed = parse(&source);
        if !parsed.errors.is_empty() {
            let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            failures.push_str(&describe_errors(&name, &source, &parsed.errors));
        }
    }
    assert!(failures.is_empty(), "syntax errors in examples:\n{failures}");
}

#[test]
fn examples_use_existing_std_items_and_well_formed_literals() {
    let std = std_items();
    let mut problems = Vec::new();
    for path in example_files() {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let source = std::fs::read_to_string(&path).expect("example is readable");
        let module = parse_clean(&file, &source);
        let mut imported: BTreeMap<String, &'static str> = BTreeMap::new();
        let mut refs = Vec::new();
        let mut literal_problems = Vec::new();
        let mut policies = 0;
        for item in &module.items {
            match &item.kind {
                ItemKind::Import(import) => {
                    let ImportSource::Module(q) = &import.source else { continue };
                    let parts: Vec<&str> = q.parts.iter().map(|p| p.name.as_str()).collect();
                    let [first, module_name] = parts.as_slice() else {
                        problems.push(format!("{file}: unexpected import `{}`", q.dotted()));
                        continue;
                    };
                    match std.get_key_value(*module_name) {
                        Some((key, _)) if *first == "std" => {
                            let alias = import.alias.as_ref().map_or(*key, |a| a.name.as_str());
                            imported.insert(alias.to_owned(), key);
                        }
                        _ => problems.push(format!("{file}: no module `{}`", q.dotted())),
                    }
                }
                ItemKind::Let(l) => {
                    names_in(&l.value, &mut refs);
                    let ty = l.ty.as_ref().map(|t| t.name.as_str()).unwrap_or("");
                    check_literals(&l.value, ty, &mut literal_problems);
                }
                ItemKind::Param(p) => {
                    if let Some(default) = &p.default {
                        names_in(default, &mut refs);
                        check_literals(default, &p.ty.name, &mut literal_problems);
                    }
                }
                ItemKind::Policy(policy) => {
                    policies += 1;
                    for stmt in &policy.body {
                        match &stmt.kind {
                            StmtKind::Rule { target, .. } => {
                                names_in_target(target, &mut refs);
                                check_target(target, &mut literal_problems);
                            }
                            StmtKind::Readonly(set) => {
                                names_in(set, &mut refs);
                                check_literals(set, "paths", &mut literal_problems);
                            }
                            StmtKind::Assert(a) => {
                                names_in_formula(&a.formula, &mut refs);
                                check_formula(&a.formula, &mut literal_problems);
                            }
                            _ => {}
                        }
                    }
                }
                ItemKind::Error => {}
            }
        }
        if policies == 0 {
            problems.push(format!("{file}: defines no policy"));
        }
        for r in refs {
            let Some((head, rest)) = r.split_once('.') else { continue };
            match imported.get(head) {
                Some(module) if std[module].contains_key(rest) => {}
                Some(module) => problems.push(format!("{file}: std.{module} has no `{rest}`")),
                None => problems.push(format!("{file}: `{head}` is not imported")),
            }
        }
        problems.extend(literal_problems.into_iter().map(|p| format!("{file}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn docs_name_every_std_item() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/stdlib.md");
    let doc = std::fs::read_to_string(path).expect("docs/stdlib.md is readable");
    let mut problems = Vec::new();
    for (module, items) in std_items() {
        let heading = format!("\n## std.{module}\n");
        let Some(start) = doc.find(&heading) else {
            problems.push(format!("docs/stdlib.md has no `## std.{module}` section"));
            continue;
        };
        let body = &doc[start + heading.len()..];
        let section = body.find("\n## ").map_or(body, |end| &body[..end]);
        for (name, ty) in items {
            if !section.contains(&format!("| `{name}` | {ty} |")) {
                problems.push(format!("docs/stdlib.md: std.{module} has no row for `{name}: {ty}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
