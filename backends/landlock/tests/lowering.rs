//! Lowering policies against generated trees: schema validity, carving,
//! glob expansion, the approximation diagnostics, and snapshots of every
//! example's artifact.

// Tests stop at the first thing that is not as expected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use corral_backend_landlock::{LATEST_ABI, Lowering, lower_to_landlock};
use corral_compiler::diagnostics::{Code, Severity};
use corral_compiler::{Options, compile_file, compile_source};
use serde_json::Value;

const HOME: &str = "/home/u";

fn options() -> Options {
    Options { home: HOME.to_owned(), lib_dirs: Vec::new(), params: Vec::new() }
}

/// A small, fixed file system: a project with secrets and build output,
/// a toolchain, system files and a home.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let files = [
        "etc/passwd",
        "etc/hosts",
        "etc/ssl/certs/ca.pem",
        "usr/bin/cargo",
        "usr/bin/git",
        "usr/bin/python3",
        "usr/lib/libc.so",
        "bin/sh",
        "lib/ld.so",
        "dev/null",
        "dev/urandom",
        "tmp/scratch.txt",
        "home/u/.gitconfig",
        "home/u/.bashrc",
        "home/u/.ssh/id_ed25519",
        "home/u/.aws/credentials",
        "home/u/.cargo/registry/index/cache",
        "home/u/.cargo/config.toml",
        "home/u/src/app/Cargo.toml",
        "home/u/src/app/Cargo.lock",
        "home/u/src/app/.env",
        "home/u/src/app/src/main.rs",
        "home/u/src/app/src/lib.rs",
        "home/u/src/app/.git/config",
        "home/u/src/app/.git/hooks/pre-commit",
        "home/u/src/app/target/debug/app",
        "home/u/src/app/notes.md",
        "home/u/notebooks/analysis.ipynb",
        "home/u/data/input.csv",
        "w/a.txt",
        "w/b.py",
        "w/sub/c.py",
        "w/sub/d.txt",
        "w/secret/key",
        "w/proj/.env",
        "w/proj/main.py",
    ];
    for f in files {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create directories");
        std::fs::write(&path, f).expect("write a file");
    }
    std::fs::create_dir_all(dir.path().join("w/empty")).expect("empty directory");
    dir
}

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/anchors/landlockconfig/landlockconfig.schema.json")
}

fn assert_valid(config: &Value) {
    let text = std::fs::read_to_string(schema_path()).expect("the landlockconfig schema beside the checkout");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> =
        validator.iter_errors(config).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{config:#}\n{}", errors.join("\n"));
}

fn lower(source: &str, root: &Path, abi: u8) -> Lowering {
    let compilation = compile_source("test.corral", source, None, &options());
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let policy = compilation.program.policies.first().expect("one policy");
    let lowering = lower_to_landlock(policy, root, abi);
    assert_valid(&lowering.config);
    lowering
}

/// Every `parent` granted exactly the given accesses.
fn parents_with(config: &Value, accesses: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for rule in config["pathBeneath"].as_array().into_iter().flatten() {
        let granted: Vec<&str> =
            rule["allowedAccess"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if granted == accesses {
            out.extend(
                rule["parent"].as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from),
            );
        }
    }
    out
}

fn all_parents(config: &Value) -> Vec<String> {
    let mut out: Vec<String> = config["pathBeneath"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["parent"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(String::from))
        .collect();
    out.sort();
    out
}

fn codes(l: &Lowering) -> Vec<(Code, Severity)> {
    l.diagnostics.iter().map(|d| (d.code, d.severity)).collect()
}

fn counterexamples(l: &Lowering, code: Code) -> Vec<String> {
    l.diagnostics.iter().filter(|d| d.code == code).flat_map(|d| d.counterexamples.clone()).collect()
}

#[test]
fn a_plain_allow_is_one_rule_and_exact() {
    let t = tree();
    let l = lower(r#"policy p { allow read, list under "/usr" }"#, t.path(), LATEST_ABI);
    assert_eq!(parents_with(&l.config, &["read_file", "read_dir"]), ["/usr"]);
    assert!(l.exact, "{:?}", l.diagnostics);
    assert!(l.validated);
    assert_eq!(l.config["abi"], 7);
    assert_eq!(l.config["ruleset"][0]["handledAccessFs"].as_array().map(Vec::len), Some(16));
    // No tcp rule: every connect and bind is denied, so both are handled.
    assert_eq!(l.config["ruleset"][0]["handledAccessNet"], serde_json::json!(["bind_tcp", "connect_tcp"]));
}

#[test]
fn the_abi_limits_the_handled_accesses() {
    let t = tree();
    let l = lower(r#"policy p { allow read, write, create, delete under "/w" }"#, t.path(), 1);
    let handled = l.config["ruleset"][0]["handledAccessFs"].as_array().map(Vec::len);
    assert_eq!(handled, Some(13));
    assert!(l.config["ruleset"][0].get("handledAccessNet").is_none());
    assert!(l.diagnostics.iter().any(|d| d.code == Code::ArtifactUnsupported));
    // Truncation is a write that ABI 1 and 2 cannot restrict: broader.
    assert!(
        l.diagnostics.iter().any(|d| d.code == Code::ArtifactBroader && d.message.contains("truncation"))
    );
    assert!(l.summary.contains("truncation (needs ABI 3)"), "{}", l.summary);
    // TCP is outside what ABI 1 enforces: stated, and not part of the proof.
    assert!(l.proofs.iter().all(|p| p.kind == corral_verifier::Kind::File), "{:?}", l.proofs);
    let l3 = lower(r#"policy p { allow read, write, create, delete under "/w" }"#, t.path(), 3);
    let granted = &l3.config["pathBeneath"][0]["allowedAccess"];
    assert!(
        granted.as_array().is_some_and(|a| a.contains(&"truncate".into()) && a.contains(&"refer".into()))
    );
    assert!(!granted.as_array().is_some_and(|a| a.contains(&"ioctl_dev".into())));
}

#[test]
fn a_denied_entry_is_carved_out_of_its_directory() {
    let t = tree();
    let l = lower(r#"policy p { allow read under "/w"  deny read "/w/secret/key" }"#, t.path(), LATEST_ABI);
    let parents = parents_with(&l.config, &["read_file"]);
    assert_eq!(parents, ["/w/a.txt", "/w/b.py", "/w/empty", "/w/proj", "/w/sub"]);
    assert!(!all_parents(&l.config).iter().any(|p| p.starts_with("/w/secret")));
    // Files created later directly in `/w` are lost: a warning, not an error.
    assert_eq!(codes(&l), [(Code::ArtifactNarrower, Severity::Warning)]);
    assert!(counterexamples(&l, Code::ArtifactNarrower).contains(&"read /w/new".to_owned()));
    assert!(l.validated);
}

#[test]
fn globs_are_expanded_against_the_tree() {
    let t = tree();
    let l = lower(r#"policy p { allow read "/w/**/*.py" }"#, t.path(), LATEST_ABI);
    assert_eq!(parents_with(&l.config, &["read_file"]), ["/w/b.py", "/w/proj/main.py", "/w/sub/c.py"]);
    let lost = counterexamples(&l, Code::ArtifactNarrower);
    assert!(lost.iter().any(|c| c.ends_with(".py") && c.contains("new")), "{lost:?}");
    assert!(!l.exact);
    assert!(l.validated);
}

#[test]
fn a_deny_that_future_files_could_match_is_broader() {
    let t = tree();
    let l = lower(
        r#"policy p { allow read, write, create under "/w/sub"  deny read, write, create "/**/.env" }"#,
        t.path(),
        LATEST_ABI,
    );
    assert!(all_parents(&l.config).contains(&"/w/sub".to_owned()));
    let broader = counterexamples(&l, Code::ArtifactBroader);
    assert!(broader.contains(&"write /w/sub/new/.env".to_owned()), "{broader:?}");
    assert!(
        l.diagnostics.iter().any(|d| d.code == Code::ArtifactBroader && d.is_error() && !d.labels.is_empty())
    );
    // The existing entries are still all permitted: validation passes.
    assert!(l.validated);
}

#[test]
fn an_existing_match_of_a_wildcard_deny_is_carved() {
    let t = tree();
    let l = lower(r#"policy p { allow read under "/w"  deny read "/**/.env" }"#, t.path(), LATEST_ABI);
    let parents = all_parents(&l.config);
    assert!(!parents.contains(&"/w/proj/.env".to_owned()));
    assert!(parents.contains(&"/w/proj/main.py".to_owned()), "{parents:?}");
    assert!(l.validated);
}

#[test]
fn a_host_specific_connect_is_broader_and_ports_are_granted() {
    let t = tree();
    let l = lower(r#"policy p { allow connect tcp "github.com":443 }"#, t.path(), LATEST_ABI);
    assert_eq!(l.config["netPort"], serde_json::json!([{ "allowedAccess": ["connect_tcp"], "port": [443] }]));
    let broader = counterexamples(&l, Code::ArtifactBroader);
    assert_eq!(broader.first().map(String::as_str), Some("connect tcp corral-probe.invalid:443"));
}

#[test]
fn udp_and_devices_are_unsupported() {
    let t = tree();
    let l =
        lower(r#"policy p { allow connect udp "192.0.2.9":53  allow clipboard read }"#, t.path(), LATEST_ABI);
    let unsupported = l.diagnostics.iter().filter(|d| d.code == Code::ArtifactUnsupported).count();
    assert_eq!(unsupported, 2, "{:?}", l.diagnostics);
    assert!(l.diagnostics.iter().all(|d| !d.is_error()));
}

#[test]
fn bind_ports_are_listed() {
    let t = tree();
    let l = lower(r#"policy p { allow bind tcp 8000..8002 }"#, t.path(), LATEST_ABI);
    assert_eq!(
        l.config["netPort"],
        serde_json::json!([{ "allowedAccess": ["bind_tcp"], "port": [8000, 8001, 8002] }])
    );
    assert!(l.exact, "{:?}", l.diagnostics);
}

#[test]
fn output_is_deterministic() {
    let t = tree();
    let src =
        r#"policy p { allow read, list, write under "/"  deny read "/**/.env"  deny write under "/etc" }"#;
    let a = lower(src, t.path(), LATEST_ABI);
    // Unrelated solver work in between must not change the counterexamples
    // (each validation has a z3 context of its own).
    let other = lower(
        r#"policy q { allow connect tcp "github.com":443  allow bind tcp 8000..8100 from "10.0.0.0/8" }"#,
        t.path(),
        LATEST_ABI,
    );
    assert!(!other.exact);
    let b = lower(src, t.path(), LATEST_ABI);
    assert_eq!(a.config, b.config);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.diagnostics, b.diagnostics);
}

/// Paths in the snapshots are the policy's, so they do not depend on
/// where the temporary tree is.
fn render(l: &Lowering) -> String {
    let mut out = String::new();
    out.push_str(&l.summary.replace(&*l.summary_root(), "<tree>"));
    out.push_str("\n--- landlock.json\n");
    out.push_str(&serde_json::to_string_pretty(&l.config).unwrap_or_default());
    out.push_str("\n--- diagnostics\n");
    out.push_str(&corral_tests::diagnostics_text(&l.diagnostics));
    out
}

trait SummaryRoot {
    fn summary_root(&self) -> String;
}

impl SummaryRoot for Lowering {
    fn summary_root(&self) -> String {
        let first = self.summary.lines().next().unwrap_or_default();
        let start = first.find("tree ").map_or(first.len(), |i| i + 5);
        first[start..].trim_end_matches(')').to_owned()
    }
}

#[test]
fn every_example_lowers_to_a_valid_snapshot() {
    let t = tree();
    for file in corral_tests::example_files() {
        let compilation = compile_file(&file, &options()).expect("readable example");
        assert!(!compilation.has_errors(), "{}: {:?}", file.display(), compilation.diagnostics);
        for policy in &compilation.program.policies {
            let lowering = lower_to_landlock(policy, t.path(), LATEST_ABI);
            assert_valid(&lowering.config);
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("example");
            insta::assert_snapshot!(format!("{stem}__{}", policy.name), render(&lowering));
        }
    }
}

#[test]
fn a_literal_deny_that_does_not_exist_is_carved_not_granted() {
    let t = tree();
    let l = lower(
        r#"policy p { allow read, write, create under "/w"  deny create "/w/.env" }"#,
        t.path(),
        LATEST_ABI,
    );
    // Read and write keep the whole directory; create is carved.
    assert!(
        parents_with(&l.config, &["write_file", "read_file", "truncate", "ioctl_dev"])
            .contains(&"/w".to_owned())
    );
    assert!(l.diagnostics.iter().all(|d| !d.is_error()), "{:?}", l.diagnostics);
    assert!(counterexamples(&l, Code::ArtifactNarrower).contains(&"create /w/new".to_owned()));
    assert!(l.validated);
}

#[test]
fn a_bind_limited_to_peers_is_broader() {
    let t = tree();
    let l = lower(r#"policy p { allow bind tcp 8080 from "10.0.0.0/8" }"#, t.path(), LATEST_ABI);
    assert_eq!(l.config["netPort"][0]["port"], serde_json::json!([8080]));
    assert_eq!(counterexamples(&l, Code::ArtifactBroader), ["bind tcp 8080 from corral-probe.invalid"]);
}

/// Translation validation on hand-written rulesets: the verifier's proof
/// catches a ruleset that grants a directory with a denied file inside,
/// one that ignores a deny nobody has created yet, and one that lets
/// truncation through below ABI 3; and it proves the carved ruleset.
mod translation_validation {
    use super::*;
    use corral_backend_landlock::{Proof, prove_config};
    use corral_compiler::eval::Evaluator;
    use corral_verifier::Kind;
    use corral_verifier::refine::Verdict;
    use serde_json::json;

    fn policy(source: &str) -> corral_compiler::ir::Policy {
        let compilation = compile_source("test.corral", source, None, &options());
        assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
        compilation.program.policies.into_iter().next().expect("one policy")
    }

    fn files(proofs: &[Proof]) -> &Proof {
        proofs.iter().find(|p| p.kind == Kind::File).expect("a file proof")
    }

    fn ruleset(abi: u8, handled: &[&str], rules: Value) -> Value {
        json!({ "abi": abi, "ruleset": [{ "handledAccessFs": handled }], "pathBeneath": rules })
    }

    const ALL: [&str; 16] = [
        "execute",
        "write_file",
        "read_file",
        "read_dir",
        "remove_dir",
        "remove_file",
        "make_char",
        "make_dir",
        "make_reg",
        "make_sock",
        "make_fifo",
        "make_block",
        "make_sym",
        "refer",
        "truncate",
        "ioctl_dev",
    ];

    #[test]
    fn a_directory_granted_over_a_denied_file_is_broader_with_that_file() {
        let t = tree();
        let p = policy(r#"policy p { allow read, list under "/w"  deny read "/w/secret/key" }"#);
        let wrong =
            ruleset(7, &ALL, json!([{ "allowedAccess": ["read_file", "read_dir"], "parent": ["/w"] }]));
        let proofs = prove_config(&p, &wrong, t.path(), 10_000);
        let Verdict::Counterexample(access) = &files(&proofs).broader else { panic!("{proofs:?}") };
        assert_eq!(access.to_string(), "read /w/secret/key");
        assert!(!Evaluator::new(&p).decide(access).permitted);
    }

    #[test]
    fn a_deny_on_a_path_that_does_not_exist_yet_still_counts() {
        let t = tree();
        let p = policy(r#"policy p { allow read, list under "/w"  deny read under "/w/later" }"#);
        let wrong =
            ruleset(7, &ALL, json!([{ "allowedAccess": ["read_file", "read_dir"], "parent": ["/w"] }]));
        let proofs = prove_config(&p, &wrong, t.path(), 10_000);
        let Verdict::Counterexample(access) = &files(&proofs).broader else { panic!("{proofs:?}") };
        assert!(access.to_string().starts_with("read /w/later"), "{access}");
    }

    #[test]
    fn truncation_left_unhandled_below_abi_3_is_broader() {
        let t = tree();
        let p = policy(r#"policy p { allow read, list under "/w" }"#);
        let abi2: Vec<&str> = ALL.into_iter().filter(|a| !matches!(*a, "truncate" | "ioctl_dev")).collect();
        let config =
            ruleset(2, &abi2, json!([{ "allowedAccess": ["read_file", "read_dir"], "parent": ["/w"] }]));
        let proofs = prove_config(&p, &config, t.path(), 10_000);
        let Verdict::Counterexample(access) = &files(&proofs).broader else { panic!("{proofs:?}") };
        assert!(access.to_string().starts_with("write "), "{access}");
    }

    #[test]
    fn the_carved_ruleset_is_proved_and_what_it_loses_is_named() {
        let t = tree();
        let source = r#"policy p { allow read, list under "/w"  deny read "/w/secret/key" }"#;
        let l = lower(source, t.path(), LATEST_ABI);
        assert!(l.validated, "{}", l.summary);
        let f = files(&l.proofs);
        assert_eq!(f.broader, Verdict::Holds);
        // `/w` itself cannot be granted (the deny is below it): new
        // entries directly in `/w` are lost.
        let Verdict::Counterexample(lost) = &f.narrower else { panic!("{:?}", l.proofs) };
        assert!(Evaluator::new(&policy(source)).decide(lost).permitted, "{lost}");
        assert!(!Evaluator::new(&l.model).decide(lost).permitted, "{lost}");
        assert!(l.summary.contains("files: proved within the policy"), "{}", l.summary);
    }

    #[test]
    fn a_port_only_connect_rule_is_proved_outside_the_reported_gap() {
        let t = tree();
        let l = lower(r#"policy p { allow connect tcp "github.com":443 }"#, t.path(), LATEST_ABI);
        assert!(counterexamples(&l, Code::ArtifactBroader).iter().any(|c| c.ends_with(":443")));
        let connect = l.proofs.iter().find(|p| p.kind == Kind::Connect).unwrap();
        assert_eq!(connect.broader, Verdict::Holds);
        assert!(connect.outside_gaps);
        // Without the gap left out, the proof finds another host on 443.
        let proofs = prove_config(
            &policy(r#"policy p { allow connect tcp "github.com":443 }"#),
            &l.config,
            t.path(),
            10_000,
        );
        let connect = proofs.iter().find(|p| p.kind == Kind::Connect).unwrap();
        let Verdict::Counterexample(access) = &connect.broader else { panic!("{proofs:?}") };
        assert!(
            access.to_string().starts_with("connect tcp ") && access.to_string().ends_with(":443"),
            "{access}"
        );
    }
}
