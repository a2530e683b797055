//! Fixture-driven verifier suite.
//!
//! Every `fixtures/verify/CODE-description.corral` is a policy that compiles
//! cleanly but fails a proof or an analysis; it is verified with `~` bound
//! to `/home/u` and its findings are snapshotted with the source above them.
//! Beyond the snapshot: the code in the file name is reported, every
//! counterexample is a well-formed access that the policy really permits
//! (checked again with the concrete evaluator), and every verifier code
//! except `C2002` (an unknown, which has no fixed input) has a fixture.
//! `fixtures/verify-ok/` and `../examples/` must verify without findings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use corral_compiler::diagnostics::render::{HumanStyle, render_human};
use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::{Access, is_permitted};
use corral_compiler::{Compilation, Options, compile_source};
use corral_verifier::checks::{CheckOptions, verify_program};

fn files(dir: &str) -> Vec<PathBuf> {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "corral"))
        .collect();
    out.sort();
    out
}

fn verify(dir: &str, path: &Path) -> (String, Compilation, Vec<Diagnostic>) {
    let source = std::fs::read_to_string(path).unwrap();
    let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
    let options = Options { home: "/home/u".into(), ..Default::default() };
    let compilation = compile_source(&name, &source, Some(Path::new(dir)), &options);
    assert!(
        compilation.diagnostics.is_empty(),
        "{name} must compile cleanly: {:#?}",
        compilation.diagnostics
    );
    let findings = verify_program(
        &compilation.program,
        &CheckOptions { timeout_ms: 60_000, analyses: true, analysis_budget_ms: 600_000 },
    );
    (source, compilation, findings)
}

fn code_of(path: &Path) -> Code {
    let name = path.file_name().unwrap().to_string_lossy();
    let prefix = name.split('-').next().unwrap();
    *Code::ALL.iter().find(|c| c.as_str() == prefix).unwrap_or_else(|| panic!("no code `{prefix}`"))
}

#[test]
fn verifier_fixtures_snapshot_their_findings() {
    for path in files("fixtures/verify") {
        let (source, compilation, findings) = verify("fixtures/verify", &path);
        let code = code_of(&path);
        assert!(
            findings.iter().any(|d| d.code == code),
            "{}: expected {code}, found {:?}",
            path.display(),
            findings.iter().map(|d| d.code.as_str()).collect::<Vec<_>>()
        );
        assert!(findings.iter().all(|d| d.code != Code::Internal), "{}: internal error", path.display());
        let rendered = render_human(&findings, compilation.sources(), HumanStyle::Plain);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "snapshots/verify" }, {
            insta::assert_snapshot!(stem, format!("{source}\n─── findings ───\n{rendered}"));
        });
    }
}

#[test]
fn counterexamples_are_accesses_the_policy_permits() {
    let mut checked = 0;
    for path in files("fixtures/verify") {
        let (_, compilation, findings) = verify("fixtures/verify", &path);
        for d in findings.iter().filter(|d| !d.counterexamples.is_empty()) {
            // The finding names its policy in backticks: `policy `NAME` …`
            // or `… in policy `NAME``.
            let policy = compilation
                .program
                .policies
                .iter()
                .find(|p| d.message.contains(&format!("policy `{}`", p.name)))
                .unwrap_or_else(|| panic!("{}: no policy named in {:?}", path.display(), d.message));
            for text in &d.counterexamples {
                let access =
                    Access::parse(text, "/home/u").unwrap_or_else(|e| panic!("`{text}`: {}", e.message()));
                assert!(
                    is_permitted(policy, &access),
                    "{}: `{text}` is not permitted by `{}`",
                    path.display(),
                    policy.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} counterexamples checked");
}

#[test]
fn every_verifier_code_has_a_fixture() {
    let named: BTreeSet<Code> = files("fixtures/verify").iter().map(|p| code_of(p)).collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| {
            // Unknowns and a spent analysis budget depend on time, not input.
            (c.as_str().starts_with("C2") || c.as_str().starts_with("C4"))
                && !matches!(c, Code::VerificationUnknown | Code::AnalysesIncomplete)
        })
        .filter(|c| !named.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "no verifier fixture is named after {missing:?}");
}

#[test]
fn valid_policies_and_examples_verify_without_findings() {
    let mut paths: Vec<(String, PathBuf)> =
        files("fixtures/verify-ok").into_iter().map(|p| ("fixtures/verify-ok".to_owned(), p)).collect();
    paths.extend(files("../examples").into_iter().map(|p| ("../examples".to_owned(), p)));
    assert!(paths.len() >= 5);
    for (dir, path) in paths {
        let (_, compilation, findings) = verify(&dir, &path);
        assert!(
            findings.is_empty(),
            "{}:\n{}",
            path.display(),
            render_human(&findings, compilation.sources(), HumanStyle::Plain)
        );
    }
}
