//! `corral diff OLD NEW`: accesses gained and lost with witnesses that the
//! evaluator (`corral eval`) confirms, settings that changed, exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{corral, text};

fn write(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

fn diff_json(dir: &Path, old: &str, new: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["diff", old, new, "--home", "/home/u", "--format", "json"];
    args.extend_from_slice(extra);
    let out = corral(dir, &args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(&out)));
    (out.status.code(), report)
}

/// `corral eval FILE --access ACCESS`: whether FILE's policy permits it.
fn permits(dir: &Path, file: &str, access: &str) -> bool {
    let out = corral(dir, &["eval", file, "--home", "/home/u", "--access", access]);
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("{}", text(&out)),
    }
}

fn classes(list: &serde_json::Value) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(|e| e["class"].as_str().unwrap().to_owned()).collect()
}

const OLD: &str = r#"import std.secrets

policy p {
    identity local "bot"
    allow read, list, write under "~/src/app"
    deny read secrets.all
    allow connect tcp "github.com":443
    allow clipboard write
}
"#;

const NEW: &str = r#"import std.secrets

policy p {
    identity local "bot"
    isolation container
    allow read, list, write, create under "~/src/app"
    allow read under "~/notes"
    deny read secrets.all
    deny write "~/src/app/**/*.lock"
    allow connect tcp "*.github.com":443
    allow clipboard read
    allow clipboard write
}
"#;

#[test]
fn gained_and_lost_accesses_come_with_witnesses_the_evaluator_confirms() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.corral", OLD);
    write(dir.path(), "new.corral", NEW);
    let (code, report) = diff_json(dir.path(), "old.corral", "new.corral", &[]);
    assert_eq!(code, Some(1));
    assert_eq!(report["equal"], false);
    assert_eq!(
        classes(&report["gained"]),
        ["clipboard read", "connect tcp", "create", "read"].map(str::to_owned).into()
    );
    assert_eq!(classes(&report["lost"]), ["connect tcp", "write"].map(str::to_owned).into());
    for (list, yes, no) in [("gained", "new.corral", "old.corral"), ("lost", "old.corral", "new.corral")] {
        for entry in report[list].as_array().unwrap() {
            let access = entry["access"].as_str().unwrap();
            assert!(permits(dir.path(), yes, access), "{list} `{access}` is not permitted by {yes}");
            assert!(!permits(dir.path(), no, access), "{list} `{access}` is permitted by {no}");
            let (yes_side, no_side) = if list == "gained" { ("new", "old") } else { ("old", "new") };
            assert_eq!(entry[yes_side]["decision"], "allowed");
            assert_eq!(entry[no_side]["decision"], "denied");
        }
    }
    // The lost write is the new deny's, and names it.
    let write = report["lost"].as_array().unwrap().iter().find(|e| e["class"] == "write").unwrap();
    assert!(write["access"].as_str().unwrap().ends_with(".lock"), "{write}");
    assert_eq!(write["new"]["rules"][0]["text"], r#"deny write "~/src/app/**/*.lock""#);
    assert_eq!(write["new"]["rules"][0]["line"], 9);
    assert_eq!(
        report["settings"],
        serde_json::json!([{ "setting": "isolation", "old": "process", "new": "container" }])
    );
    assert!(report["unknown"].as_array().unwrap().is_empty());
    assert!(report["same"].as_array().unwrap().iter().any(|c| c == "exec"), "{report}");
}

#[test]
fn the_same_policy_is_equal_and_the_human_report_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.corral", OLD);
    // Reformatted, with a comment: the same policy.
    write(dir.path(), "new.corral", &format!("// reviewed\n{}", OLD.replace("    ", "  ")));
    let (code, report) = diff_json(dir.path(), "old.corral", "new.corral", &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["equal"], true);
    let out = corral(dir.path(), &["diff", "old.corral", "new.corral", "--home", "/home/u"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("equal: no access is gained or lost"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_human_report_names_the_deciding_rules_of_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.corral", OLD);
    write(dir.path(), "new.corral", NEW);
    let out = corral(dir.path(), &["diff", "old.corral", "new.corral", "--home", "/home/u"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("gained (the new version permits, the old one denies):"), "{stdout}");
    assert!(stdout.contains("new  allow new.corral:11:5  allow clipboard read"), "{stdout}");
    assert!(stdout.contains("old  deny  no rule allows it (default deny)"), "{stdout}");
    assert!(stdout.contains("old  allow old.corral:7:5  allow connect tcp \"github.com\":443"), "{stdout}");
    assert!(stdout.contains("isolation         process → container"), "{stdout}");
    // docs/cli.md shows this very report.
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md")).unwrap();
    let start =
        docs.find("```\npolicy `p`: old.corral → new.corral\n").expect("the report in docs/cli.md") + 4;
    let end = start + docs[start..].find("```").unwrap();
    assert_eq!(&docs[start..end], stdout, "docs/cli.md's `diff` report is out of date");
}

#[test]
fn an_example_with_a_readonly_removed_gains_writes_to_the_pinned_files() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/coding-assistant.corral");
    let source = std::fs::read_to_string(&example).unwrap();
    write(dir.path(), "old.corral", &source);
    let edited = source
        .replace("    readonly pinned\n", "")
        .replace("    assert never write, create, delete pinned\n", "")
        .replace("        because \"dependency and toolchain changes are reviewed by a human\"\n", "");
    assert_ne!(edited, source);
    write(dir.path(), "new.corral", &edited);
    let (code, report) = diff_json(dir.path(), "old.corral", "new.corral", &["--policy", "coding_assistant"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(classes(&report["gained"]), ["create", "delete", "write"].map(str::to_owned).into());
    assert!(report["lost"].as_array().unwrap().is_empty());
    for entry in report["gained"].as_array().unwrap() {
        let access = entry["access"].as_str().unwrap();
        assert!(access.ends_with("/Cargo.lock") || access.ends_with("/rust-toolchain.toml"), "{access}");
        assert_eq!(entry["old"]["rules"][0]["text"], "readonly pinned");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.corral", OLD);
    write(dir.path(), "broken.corral", "policy p {\n    allow read\n}\n");
    write(dir.path(), "two.corral", "policy a {\n}\npolicy b {\n}\n");
    for args in [
        &["diff", "old.corral", "broken.corral"][..],
        &["diff", "old.corral", "missing.corral"],
        &["diff", "old.corral", "old.corral", "--policy", "q"],
        &["diff", "two.corral", "two.corral"],
    ] {
        let out = corral(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", text(&out));
    }
    let out = corral(dir.path(), &["diff", "two.corral", "two.corral", "--policy", "b"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
