//! `corral sid` and `corral build --target appcontainer|mxc`: exit codes,
//! output formats and the files written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

mod common;

use common::corral;

fn build(dir: &Path, source: &str, target: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("p.corral"), source).unwrap();
    let mut args = vec!["build", "--home", "/home/u", "p.corral", "--target", target, "--out", "out"];
    args.extend(extra);
    corral(dir, &args)
}

#[test]
fn sid_capability_prints_capability_and_group_sids() {
    let dir = tempfile::tempdir().unwrap();
    let out = corral(dir.path(), &["sid", "capability", "registryRead", "internetClient"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(
        "registryRead  S-1-15-3-1024-1065365936-1281604716-3511738428-1654721687-432734479-3232135806-4053264122-3456934681  S-1-5-32-1065365936-"
    ));
    assert!(lines[1].starts_with("internetClient  S-1-15-3-1  S-1-5-32-"), "{}", lines[1]);
    let out = corral(dir.path(), &["sid", "capability", "lpacCom", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(
        json["capabilities"][0]["sid"],
        "S-1-15-3-1024-2405443489-874036122-4286035555-1823921565-1746547431-2453885448-3625952902-991631256"
    );
}

#[test]
fn sid_profile_prints_the_appcontainer_sid() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        corral(dir.path(), &["sid", "profile", "Microsoft.MicrosoftEdge_8wekyb3d8bbwe", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["profile"]["sid"],
        "S-1-15-2-3624051433-2125758914-1423191267-1740899205-1073925389-3782572162-737981194"
    );
}

#[test]
fn sid_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["sid", "capability"],
        vec!["sid", "capability", "a,b"],
        vec!["sid", "profile", ""],
        vec!["sid", "profile", "a", "b"],
    ] {
        let out = corral(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let long = "x".repeat(65);
    let out = corral(dir.path(), &["sid", "profile", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 64"));
}

#[test]
fn an_exact_appcontainer_build_writes_the_manifest_and_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let src = r#"policy p { identity local "agent"  allow read, list, exec under "/opt/tools"  allow clipboard write }"#;
    let out = build(dir.path(), src, "appcontainer", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["appcontainer.json", "apply.ps1", "revert.ps1", "appcontainer.txt"] {
        assert!(dir.path().join("out").join(f).exists(), "{f}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/appcontainer.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["profile"]["name"], "corral.agent");
    assert_eq!(manifest["files"]["aces"][0]["path"], r"C:\opt\tools");
    let summary = std::fs::read_to_string(dir.path().join("out/appcontainer.txt")).unwrap();
    assert!(summary.contains("exact: yes"), "{summary}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote out/apply.ps1"));
}

#[test]
fn a_broader_windows_artifact_needs_accept_broader() {
    let dir = tempfile::tempdir().unwrap();
    let src = r#"policy p { allow read, list, exec under "/w"  deny read "/**/.env" }"#;
    for target in ["appcontainer", "mxc"] {
        let out = build(dir.path(), src, target, &[]);
        assert_eq!(out.status.code(), Some(1), "{target}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("C3001") && err.contains("counterexample: read /w/"), "{err}");
        assert!(!dir.path().join(format!("out/{target}.json")).exists());
        let out = build(dir.path(), src, target, &["--accept-broader", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{target}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["target"], target);
        assert_eq!(report["validated"], false);
        assert_eq!(report["exact"], false);
        assert!(
            report["validation"]["broader"]["file"]["counterexamples"][0]
                .as_str()
                .unwrap()
                .ends_with("/.env"),
            "{report:#}"
        );
        assert_eq!(report["summary"]["ok"], true);
        assert!(dir.path().join(format!("out/{target}.json")).exists());
    }
}

#[test]
fn mxc_build_writes_a_config_with_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let src = r#"policy p { timeout 30s  allow read, list, exec under "/data" }"#;
    let out = build(dir.path(), src, "mxc", &["--lpac", "--drive", "d", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/mxc.json")).unwrap()).unwrap();
    assert_eq!(config["version"], "0.8.0-alpha");
    assert_eq!(config["filesystem"]["readonlyPaths"], serde_json::json!([r"D:\data"]));
    assert_eq!(config["process"]["timeout"], 30_000);
    assert_eq!(config["processContainer"]["leastPrivilege"], true);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["validated"], true);
    assert_eq!(report["config"], config);
    assert!(dir.path().join("out/mxc.txt").exists());
    for bad in [&["--drive", "CD"], &["--drive", "1"], &["--profile-dir", ""]] {
        let out = build(dir.path(), src, "mxc", bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}
