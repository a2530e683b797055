//! `corral build --target nftables`: the files it writes, the name modes,
//! the JSON report and the exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

mod common;

fn build(dir: &Path, source: &str, extra: &[&str]) -> Output {
    common::build(dir, "nftables", source, extra)
}

#[test]
fn an_address_policy_is_written_in_both_forms_and_proven() {
    let dir = tempfile::tempdir().unwrap();
    let src = "policy p {\n    allow connect tcp \"10.0.0.0/8\":443\n    deny connect tcp \"10.1.0.0/16\":443\n    allow bind tcp 8080 from \"192.0.2.0/24\"\n}";
    let out = build(dir.path(), src, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["target"], "nftables");
    assert_eq!(report["names"], "addresses");
    assert_eq!(report["exact"], true);
    assert_eq!(report["validation"]["proven"], true);
    assert_eq!(report["validation"]["connect"]["narrower"]["verdict"], "holds");
    assert_eq!(report["written"].as_array().unwrap().len(), 3);
    let text = std::fs::read_to_string(dir.path().join("out/nftables.nft")).unwrap();
    assert!(text.contains("10.0.0.0/16 . 443"), "{text}");
    assert!(text.contains("10.2.0.0-10.255.255.255 . 443"), "{text}");
    assert!(text.contains("192.0.2.0/24 . 8080"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/nftables.json")).unwrap())
            .unwrap();
    assert_eq!(json, report["ruleset"]);
    let summary = std::fs::read_to_string(dir.path().join("out/nftables.txt")).unwrap();
    assert!(summary.contains("exact: yes"), "{summary}");
    assert!(summary.contains("permits nothing the policy denies: yes"), "{summary}");
}

#[test]
fn a_denied_name_is_refused_without_accept_broader() {
    let dir = tempfile::tempdir().unwrap();
    let src = "policy p {\n    allow connect tcp any:443\n    deny connect tcp \"evil.example\":443\n}";
    let out = build(dir.path(), src, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("C3001"));
    assert!(!dir.path().join("out/nftables.nft").exists());
    let out = build(dir.path(), src, &["--accept-broader"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.path().join("out/nftables.nft").exists());
}

#[test]
fn proxy_mode_writes_the_allowlist_and_needs_a_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let src = "policy p {\n    proxy \"http://10.0.0.9:3128\"\n    allow connect tcp \"github.com\":443\n}";
    let out = build(dir.path(), src, &["--proxy-mode"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let list = std::fs::read_to_string(dir.path().join("out/proxy-allowlist.txt")).unwrap();
    assert!(list.lines().any(|l| l == "github.com:443"), "{list}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/proxy-allowlist.json")).unwrap())
            .unwrap();
    assert_eq!(json["allow"][0]["host"], "github.com");
    let nft = std::fs::read_to_string(dir.path().join("out/nftables.nft")).unwrap();
    assert!(nft.contains("10.0.0.9 . 3128"), "{nft}");
    assert!(nft.contains("names: proxy"), "{nft}");

    let out = build(dir.path(), "policy p {\n    allow connect tcp \"github.com\":443\n}", &["--proxy-mode"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a `proxy`"));
    let out = build(dir.path(), "policy p {\n}", &["--proxy-mode", "--resolve"]);
    assert_eq!(out.status.code(), Some(2), "the modes exclude each other");
}
