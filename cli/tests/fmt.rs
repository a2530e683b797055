//! `corral fmt`: files rewritten in place, `--check`, standard input,
//! syntax errors, exit codes, and `--format json`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{corral, text};
use serde_json::Value;

const MESSY: &str = "policy p {\nallow    read under \"/srv\"\n}\n";
const TIDY: &str = "policy p {\n    allow read under \"/srv\"\n}\n";
const BROKEN: &str = "policy p {\n    allow read\n}\n";

#[test]
fn files_are_rewritten_and_check_lists_them_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in [("messy.corral", MESSY), ("tidy.corral", TIDY)] {
        std::fs::write(dir.path().join(name), source).unwrap();
    }
    let out = corral(dir.path(), &["fmt", "--check", "messy.corral", "tidy.corral"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "would reformat messy.corral\n");
    assert_eq!(std::fs::read_to_string(dir.path().join("messy.corral")).unwrap(), MESSY);

    let out = corral(dir.path(), &["fmt", "messy.corral", "tidy.corral"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "formatted messy.corral\n");
    assert_eq!(std::fs::read_to_string(dir.path().join("messy.corral")).unwrap(), TIDY);
    let out = corral(dir.path(), &["fmt", "--check", "messy.corral"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn standard_input_is_formatted_to_standard_output() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(MESSY.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), TIDY);
}

#[test]
fn syntax_errors_and_unreadable_files_are_reported_with_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.corral"), BROKEN).unwrap();
    let out = corral(dir.path(), &["fmt", "broken.corral"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`broken.corral` has syntax errors; not formatted")
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("broken.corral")).unwrap(), BROKEN);
    let out = corral(dir.path(), &["fmt", "missing.corral"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn json_reports_each_file_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in [("messy.corral", MESSY), ("tidy.corral", TIDY), ("broken.corral", BROKEN)] {
        std::fs::write(dir.path().join(name), source).unwrap();
    }
    let args = [
        "fmt",
        "--check",
        "--format",
        "json",
        "messy.corral",
        "tidy.corral",
        "broken.corral",
        "missing.corral",
    ];
    let out = corral(dir.path(), &args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["check"], true);
    let statuses: Vec<(&str, &str)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("messy.corral", "would-reformat"),
            ("tidy.corral", "unchanged"),
            ("broken.corral", "syntax-errors"),
            ("missing.corral", "unreadable")
        ]
    );
    assert_eq!(report["files"][2]["diagnostics"][0]["code"], "C0001");
    assert_eq!(report["files"][2]["diagnostics"][0]["location"]["line"], 3);
    assert!(report["files"][3]["error"].as_str().unwrap().contains("missing.corral"));
    assert_eq!(
        report["summary"],
        serde_json::json!({ "formatted": 0, "would_reformat": 1, "unchanged": 1, "errors": 2, "ok": false })
    );
}
