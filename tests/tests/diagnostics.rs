//! Fixture-driven diagnostics suite.
//!
//! Every top-level `fixtures/diagnostics/*.corral` is a malformed policy
//! named `CODE-short-description.corral`. It is compiled with `~` bound to
//! `/home/u` and its diagnostics are rendered as a user sees them; the
//! snapshot embeds the source above the output so it reads on its own.
//! Beyond the snapshot, each fixture must yield at least one error and the
//! code in its name, so the suite fails even when snapshots are accepted
//! blindly. Sub-directories hold helper modules that fixtures import.
//!
//! A fixture may pass `--set` values in a header comment:
//! `// args: --set NAME=VALUE`.
//!
//! `fixtures/ok/*.corral` and `../examples/*.corral` must compile without
//! any diagnostic, and every code has its page in `docs/diagnostics/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use corral_compiler::diagnostics::render::{HumanStyle, render_human, render_json};
use corral_compiler::diagnostics::{Code, Severity};
use corral_compiler::eval::{Access, is_permitted};
use corral_compiler::{Compilation, Options, compile_source};

const DIAGNOSTICS_DIR: &str = "fixtures/diagnostics";
const OK_DIR: &str = "fixtures/ok";

/// Fixtures and their imports are named relative to the crate root, so that
/// file names in the output do not depend on the machine.
fn enter_crate_root() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("crate root");
}

/// The `*.corral` files directly in `dir`, sorted; sub-directories hold
/// helper modules and are skipped.
fn corral_files(dir: &str) -> Vec<PathBuf> {
    enter_crate_root();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list `{dir}`: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "corral"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name").to_owned()
}

/// `--set` values from `// args: --set NAME=VALUE` header lines.
fn header_params(source: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    for line in source.lines().take_while(|l| l.starts_with("//")) {
        let Some(args) = line.strip_prefix("// args:") else { continue };
        let mut words = args.split_whitespace();
        while let Some(word) = words.next() {
            assert_eq!(word, "--set", "only `--set` is supported in `// args:`, found `{word}`");
            let assignment = words.next().expect("`--set` needs NAME=VALUE");
            let (name, value) = assignment.split_once('=').expect("`--set` needs NAME=VALUE");
            params.push((name.to_owned(), value.to_owned()));
        }
    }
    params
}

/// Compiles one fixture as `DIR/NAME.corral`, relative to the crate root.
fn compile_fixture(dir: &str, path: &Path) -> (String, Compilation) {
    enter_crate_root();
    let source =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let name = format!("{dir}/{}", file_name(path));
    let options = Options { home: "/home/u".into(), params: header_params(&source), ..Default::default() };
    let compilation = compile_source(&name, &source, Some(Path::new(dir)), &options);
    (source, compilation)
}

fn rendered(compilation: &Compilation) -> String {
    render_human(&compilation.diagnostics, compilation.sources(), HumanStyle::Plain)
}

/// The code a fixture's name starts with: `C1002` for
/// `C1002-union-of-paths-and-hosts.corral`.
fn named_code(path: &Path) -> Option<Code> {
    let name = file_name(path);
    let prefix = name.split('-').next()?;
    Code::ALL.iter().copied().find(|c| c.as_str() == prefix)
}

fn codes_of(compilation: &Compilation) -> Vec<&'static str> {
    compilation.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn fixtures_snapshot_their_diagnostics() {
    let fixtures = corral_files(DIAGNOSTICS_DIR);
    assert!(fixtures.len() >= 45, "expected at least 45 fixtures, found {}", fixtures.len());
    let mut failed = Vec::new();
    for path in &fixtures {
        let (source, compilation) = compile_fixture(DIAGNOSTICS_DIR, path);
        let text = format!("{source}\n─── diagnostics ───\n{}", rendered(&compilation));
        let name = path.file_stem().and_then(|s| s.to_str()).expect("file stem").to_owned();
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(Path::new(env!("CARGO_MANIFEST_DIR")).join(path));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path("snapshots/diagnostics");
        settings.set_omit_expression(true);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(name.as_str(), text));
        }));
        if outcome.is_err() {
            failed.push(file_name(path));
        }
    }
    assert!(failed.is_empty(), "snapshots differ for: {}", failed.join(", "));
}

#[test]
fn every_fixture_reports_the_code_in_its_name_and_an_error() {
    let mut problems = Vec::new();
    for path in corral_files(DIAGNOSTICS_DIR) {
        let name = file_name(&path);
        let Some(code) = named_code(&path) else {
            problems.push(format!("{name}: the name does not start with a known code"));
            continue;
        };
        let (source, compilation) = compile_fixture(DIAGNOSTICS_DIR, &path);
        if !source.starts_with("//") {
            problems.push(format!("{name}: does not start with a `//` comment saying what it shows"));
        }
        let codes = codes_of(&compilation);
        if !codes.contains(&code.as_str()) {
            problems.push(format!("{name}: expected {code} among {codes:?}"));
        }
        if !compilation.has_errors() {
            problems.push(format!("{name}: no error"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_code_the_compiler_produces_has_a_fixture() {
    let named: BTreeSet<Code> = corral_files(DIAGNOSTICS_DIR).iter().filter_map(|p| named_code(p)).collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        // Verifier codes (C2xxx, C4xxx) have their fixtures in `fixtures/verify/`.
        .filter(|c| c.as_str().starts_with("C0") || c.as_str().starts_with("C1"))
        .filter(|c| !named.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "no fixture is named after {missing:?}");
}

#[test]
fn import_cycle_names_every_file_on_it() {
    let (_, compilation) =
        compile_fixture(DIAGNOSTICS_DIR, Path::new("fixtures/diagnostics/C1008-import-cycle.corral"));
    let cycles: Vec<_> = compilation.diagnostics.iter().filter(|d| d.code == Code::ImportCycle).collect();
    assert_eq!(cycles.len(), 1, "one cycle, reported once: {:#?}", compilation.diagnostics);
    let message = &cycles[0].message;
    for file in ["cycle/a.corral", "cycle/b.corral", "cycle/c.corral"] {
        assert!(
            message.contains(&format!("`{DIAGNOSTICS_DIR}/{file}`")),
            "`{file}` missing from {message:?}"
        );
    }
    // One label per import on the cycle, each in its own file.
    let files: BTreeSet<_> = cycles[0].labels.iter().map(|l| l.span.file).collect();
    assert_eq!(files.len(), 3);
}

#[test]
fn many_mistakes_are_all_reported_and_the_rest_still_compiles() {
    let path = Path::new("fixtures/diagnostics/C1001-many-mistakes-in-one-file.corral");
    let (_, compilation) = compile_fixture(DIAGNOSTICS_DIR, path);
    let codes: Vec<&str> = codes_of(&compilation);
    assert_eq!(
        codes,
        [
            "C1007", "C1006", "C1004", "C1017", "C1001", "C0001", "C1003", "C1003", "C1005", "C1002",
            "C1001", "C1016", "C1020",
        ],
        "{}",
        rendered(&compilation)
    );
    assert!(compilation.diagnostics.iter().all(|d| d.severity == Severity::Error));

    let policy = |name: &str| {
        compilation
            .program
            .policies
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("policy `{name}` was dropped"))
    };
    let allowed = |name: &str, access: &str| {
        let access = Access::parse(access, "/home/u").unwrap_or_else(|e| panic!("{access}: {}", e.message()));
        is_permitted(policy(name), &access)
    };
    // The rules without mistakes are lowered; the broken ones are dropped.
    let agent = policy("agent");
    assert_eq!(agent.files.len(), 2, "the two good file rules of `agent`");
    assert!(allowed("agent", "exec /usr/bin/git"));
    assert!(allowed("agent", "read /usr/share/doc/README"));
    assert!(!allowed("agent", "read /etc/hosts"));
    // `clean` has no mistake: it is complete, its deny included.
    let clean = policy("clean");
    assert_eq!(clean.files.len(), 2);
    assert!(allowed("clean", "list /home/u/src/app/src"));
    assert!(!allowed("clean", "read /home/u/.ssh/id_ed25519"));
}

#[test]
fn json_rendering_of_three_fixtures() {
    for name in ["C1002-union-of-paths-and-hosts", "C1008-import-cycle", "C1023-set-unknown-param"] {
        let path = PathBuf::from(format!("{DIAGNOSTICS_DIR}/{name}.corral"));
        let (_, compilation) = compile_fixture(DIAGNOSTICS_DIR, &path);
        let json = render_json(&compilation.diagnostics, compilation.sources());
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path("snapshots/diagnostics-json");
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_json_snapshot!(name, json));
    }
}

#[test]
fn valid_fixtures_have_no_diagnostics() {
    let fixtures = corral_files(OK_DIR);
    assert!(fixtures.len() >= 3, "expected valid fixtures in `{OK_DIR}`");
    for path in fixtures {
        let (_, compilation) = compile_fixture(OK_DIR, &path);
        assert!(
            compilation.diagnostics.is_empty(),
            "{} should compile cleanly:\n{}",
            path.display(),
            rendered(&compilation)
        );
        assert!(!compilation.program.policies.is_empty(), "{} defines no policy", path.display());
    }
}

#[test]
fn examples_have_no_diagnostics() {
    let examples = corral_files("../examples");
    assert!(!examples.is_empty(), "no examples found");
    for path in examples {
        let (_, compilation) = compile_fixture("../examples", &path);
        assert!(
            compilation.diagnostics.is_empty(),
            "{} should compile cleanly:\n{}",
            path.display(),
            rendered(&compilation)
        );
    }
}

#[test]
fn every_code_is_documented_under_fixed_headings() {
    enter_crate_root();
    let docs = Path::new("../docs/diagnostics");
    let index = std::fs::read_to_string(docs.join("README.md")).expect("docs/diagnostics/README.md");
    let mut problems = Vec::new();
    for code in Code::ALL {
        let file = docs.join(format!("{code}.md"));
        let Ok(text) = std::fs::read_to_string(&file) else {
            problems.push(format!("{}: missing", file.display()));
            continue;
        };
        let title = format!("# {code} {}", code.slug());
        if text.lines().next() != Some(title.as_str()) {
            problems.push(format!("{}: the first line should be `{title}`", file.display()));
        }
        let mut at = 0;
        for heading in ["## What it means", "## Why it matters", "## Example", "## How to fix"] {
            match text.lines().skip(at).position(|l| l == heading) {
                Some(i) => at += i + 1,
                None => {
                    problems.push(format!("{}: no `{heading}` (after the previous heading)", file.display()))
                }
            }
        }
        if !index.contains(&format!("[{code}]({code}.md)")) || !index.contains(code.slug()) {
            problems.push(format!("README.md: no row for {code} `{}`", code.slug()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
