//! `corral build --target landlock`: exit codes and the files it writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

mod common;

fn build(dir: &Path, source: &str, extra: &[&str]) -> Output {
    common::build(dir, "landlock", source, &[&["--root", "."], extra].concat())
}

#[test]
fn an_exact_policy_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("usr/bin")).unwrap();
    let out = build(dir.path(), r#"policy p { allow read, list under "/usr" }"#, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/landlock.json")).unwrap())
            .unwrap();
    assert_eq!(json["pathBeneath"][0]["parent"], serde_json::json!(["/usr"]));
    let summary = std::fs::read_to_string(dir.path().join("out/landlock.txt")).unwrap();
    assert!(summary.contains("exact: yes"), "{summary}");
}

#[test]
fn a_broader_artifact_needs_accept_broader() {
    let dir = tempfile::tempdir().unwrap();
    let src = r#"policy p { allow connect tcp "github.com":443 }"#;
    let out = build(dir.path(), src, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("C3001"));
    assert!(!dir.path().join("out/landlock.json").exists());
    let out = build(dir.path(), src, &["--accept-broader", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["exact"], false);
    assert_eq!(report["validated"], true);
    assert_eq!(report["diagnostics"][0]["code"], "C3001");
    assert!(dir.path().join("out/landlock.json").exists());
}

#[test]
fn usage_and_compile_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = build(dir.path(), "policy p { allow read \"/x\" }", &["--abi", "9"]);
    assert_eq!(out.status.code(), Some(2));
    let out = build(dir.path(), "policy p { allow read nowhere }", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("C1001"));
}
