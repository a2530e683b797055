//! `corral lint`: `check`'s diagnostics as a SARIF 2.1.0 log (valid against
//! the OASIS schema, `tests/fixtures/sarif-schema-2.1.0.json`, as published
//! with the SARIF 2.1.0 standard) and as GitHub workflow commands, with
//! `check`'s exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{corral, text};
use serde_json::Value;

/// One assertion that fails (an error with a counterexample) and a write
/// to a shell rc file (the persistence check, an error with help and a
/// note), in a file that also has a warning (a rule that changes nothing).
const FINDINGS: &str = r#"policy p {
    identity local "a"
    allow read under "/home/u"
    allow read "/home/u/notes.txt"
    allow write "~/.bashrc"
    assert never read under "/home/u/.ssh"
}
"#;

const CLEAN: &str = r#"policy q {
    identity local "a"
    allow read under "/srv/data"
    assert never read "/etc/shadow"
}
"#;

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("findings.corral"), FINDINGS).unwrap();
    std::fs::write(dir.path().join("clean.corral"), CLEAN).unwrap();
    dir
}

/// `check --format json`'s diagnostics of `file`: (code, severity, line, column).
fn checked(dir: &Path, file: &str) -> Vec<(String, String, u64, u64)> {
    let out = corral(dir, &["check", file, "--home", "/home/u", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
                d["location"]["line"].as_u64().unwrap(),
                d["location"]["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn sarif_is_valid_and_carries_every_diagnostic_of_check() {
    let dir = setup();
    let out = corral(
        dir.path(),
        &["lint", "findings.corral", "clean.corral", "--home", "/home/u", "--format", "sarif"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&log).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The schema is really applied: a level SARIF does not know is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));

    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let expected = checked(dir.path(), "findings.corral");
    assert!(expected.len() >= 3, "{expected:?}");
    let got: Vec<(String, String, u64, u64)> = results
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "findings.corral");
            // ruleIndex points at the rule of the same id.
            assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"], r["ruleId"]);
            let level = match r["level"].as_str().unwrap() {
                "note" => "info".to_owned(),
                other => other.to_owned(),
            };
            (
                r["ruleId"].as_str().unwrap().to_owned(),
                level,
                region["startLine"].as_u64().unwrap(),
                region["startColumn"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected, "SARIF results and check's diagnostics differ");
    let failed = results.iter().find(|r| r["ruleId"] == "C2001").unwrap();
    assert!(
        failed["message"]["text"].as_str().unwrap().contains("counterexample: read /home/u/.ssh"),
        "{failed}"
    );
    let rule = rules.iter().find(|r| r["id"] == "C2001").unwrap();
    assert_eq!(rule["name"], "assertion-failed");
    assert!(rule["helpUri"].as_str().unwrap().ends_with("/docs/diagnostics/C2001.md"));

    // A clean file: no results, exit 0.
    let out = corral(dir.path(), &["lint", "clean.corral", "--home", "/home/u", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn github_annotations_are_one_escaped_command_per_diagnostic() {
    let dir = setup();
    let out = corral(dir.path(), &["lint", "findings.corral", "--home", "/home/u", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = checked(dir.path(), "findings.corral");
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for ((code, severity, line, column), command) in expected.iter().zip(&lines) {
        let kind = match severity.as_str() {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        };
        let prefix = format!("::{kind} file=findings.corral,line={line},col={column},");
        assert!(command.starts_with(&prefix), "{command} does not start with {prefix}");
        assert!(command.contains(&format!(",title={code} ")), "{command}");
    }
    let failed = lines.iter().find(|l| l.contains("title=C2001 assertion-failed::")).unwrap();
    assert!(
        failed.ends_with("::assertion fails in policy `p`%0Acounterexample: read /home/u/.ssh"),
        "{failed}"
    );
}

#[test]
fn warnings_fail_only_with_deny_warnings_and_human_and_json_are_checks() {
    let dir = tempfile::tempdir().unwrap();
    // A rule that changes nothing: a warning, not an error.
    let source =
        "policy p {\n    identity local \"a\"\n    allow read under \"/srv\"\n    allow read \"/srv/a\"\n}\n";
    std::fs::write(dir.path().join("w.corral"), source).unwrap();
    let expected = checked(dir.path(), "w.corral");
    assert!(!expected.is_empty() && expected.iter().all(|d| d.1 == "warning"), "{expected:?}");
    let out = corral(dir.path(), &["lint", "w.corral", "--format", "github"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("::warning file=w.corral,"), "{}", text(&out));
    let out = corral(dir.path(), &["lint", "w.corral", "--format", "github", "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for format in ["human", "json"] {
        let lint = corral(dir.path(), &["lint", "w.corral", "--format", format]);
        let check = corral(dir.path(), &["check", "w.corral", "--format", format]);
        assert_eq!(
            (lint.status.code(), &lint.stdout, &lint.stderr),
            (check.status.code(), &check.stdout, &check.stderr)
        );
    }
}

#[test]
fn an_unreadable_file_is_a_usage_error() {
    let dir = setup();
    let out = corral(dir.path(), &["lint", "clean.corral", "missing.corral", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.corral"), "{}", text(&out));
}
