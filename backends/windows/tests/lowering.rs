//! Lowering to AppContainer manifests and MXC configs: schema validity,
//! the mapping, translation validation with its counterexamples, the
//! scripts, and snapshots of every example for both targets.

// Tests stop at the first thing that is not as expected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use corral_backend_windows::{Lowering, WindowsOptions, lower_to_appcontainer, lower_to_mxc, sid};
use corral_compiler::diagnostics::{Code, Severity};
use corral_compiler::ir::Policy;
use corral_compiler::{Options, compile_file, compile_source};
use serde_json::Value;

const HOME: &str = "/home/u";

fn options() -> Options {
    Options { home: HOME.to_owned(), lib_dirs: Vec::new(), params: Vec::new() }
}

fn mxc_schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/anchors/mxc/mxc-config.schema.0.8.0-alpha.json")
}

fn manifest_schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/appcontainer-manifest.schema.json")
}

fn assert_valid_against(schema: &Path, doc: &Value) {
    let text = std::fs::read_to_string(schema).expect("the schema");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> =
        validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{doc:#}\n{}", errors.join("\n"));
}

fn policy_of(source: &str) -> Policy {
    let compilation = compile_source("test.corral", source, None, &options());
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    compilation.program.policies.first().expect("one policy").clone()
}

fn appcontainer(source: &str) -> Lowering {
    let l = lower_to_appcontainer(&policy_of(source), HOME, &WindowsOptions::default());
    assert_valid_against(&manifest_schema_path(), &l.artifact);
    l
}

fn mxc(source: &str) -> Lowering {
    let l = lower_to_mxc(&policy_of(source), HOME, &WindowsOptions::default());
    assert_valid_against(&mxc_schema_path(), &l.artifact);
    l
}

fn counterexamples(l: &Lowering, code: Code) -> Vec<String> {
    l.diagnostics.iter().filter(|d| d.code == code).flat_map(|d| d.counterexamples.clone()).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

fn aces(l: &Lowering) -> Vec<(String, String, String)> {
    l.artifact["files"]["aces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_owned(),
                a["path"].as_str().unwrap().to_owned(),
                a["inheritance"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_anchor_examples_validate_against_the_schema_used_here() {
    // The validator and schema path are the ones every artifact is checked
    // with; the 0.8 example must pass and a broken copy must not.
    let dir = mxc_schema_path().parent().unwrap().join("examples");
    let text = std::fs::read_to_string(dir.join("30_network_0_8_directional.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid_against(&mxc_schema_path(), &doc);
    doc["network"]["egress"]["default"] = Value::from("maybe");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(mxc_schema_path()).unwrap()).unwrap();
    assert!(!jsonschema::validator_for(&schema).unwrap().is_valid(&doc));
}

#[test]
fn a_glob_deny_inside_an_allowed_tree_is_broader_with_a_concrete_file() {
    // MXC's read-only paths also grant exec, so the policy grants it too.
    let src = r#"policy p { allow read, list, exec under "/work"  deny read "/**/.env" }"#;
    for l in [appcontainer(src), mxc(src)] {
        let broader = counterexamples(&l, Code::ArtifactBroader);
        assert_eq!(broader.len(), 3, "up to three, each excluding the ones before: {:?}", l.diagnostics);
        for c in &broader {
            assert!(c.starts_with("read /work/") && c.ends_with("/.env"), "{broader:?}");
        }
        assert!(!l.validated && !l.exact);
        let d = l.diagnostics.iter().find(|d| d.code == Code::ArtifactBroader).unwrap();
        assert_eq!(d.severity, Severity::Error);
        assert!(d.primary_span().is_some(), "the diagnostic points at the deny");
    }
}

#[test]
fn a_literal_prefix_deny_becomes_an_inheritable_deny_ace() {
    let l = appcontainer(
        r#"policy p { allow read, list, write, create, delete under "~"  deny read, write under "~/.ssh" }"#,
    );
    let aces = aces(&l);
    assert!(aces.contains(&("deny".into(), r"%USERPROFILE%\.ssh".into(), "tree".into())), "{aces:?}");
    assert!(aces.contains(&("allow".into(), r"%USERPROFILE%\".into(), "tree".into())), "{aces:?}");
    assert!(l.validated, "{:?}", l.diagnostics);
    assert!(counterexamples(&l, Code::ArtifactBroader).is_empty());
    // What the agent loses: creating the home itself (decided on its
    // parent, which has no ACE), listing `~/.ssh` (one bit with reading),
    // and creating or deleting it (a deny ACE also denies DELETE).
    let lost = counterexamples(&l, Code::ArtifactNarrower);
    assert_eq!(lost.first().map(String::as_str), Some("create /home/u"));
    for c in &lost {
        assert!(
            c == "create /home/u"
                || c == "list /home/u/.ssh"
                || c.starts_with("create /home/u/.ssh")
                || c.starts_with("delete /home/u/.ssh"),
            "{lost:?}"
        );
    }
    // MXC's read-write paths grant every right, exec included.
    let m = mxc(
        r#"policy p { allow read, list, write, create, delete, exec under "~"  deny read, list, write, create, delete, exec under "~/.ssh" }"#,
    );
    assert_eq!(strings(&m.artifact["filesystem"]["deniedPaths"]), [r"%USERPROFILE%\.ssh"]);
    assert!(m.validated, "{:?}", m.diagnostics);
}

#[test]
fn a_deny_the_agent_could_create_must_exist_when_applied() {
    let l = appcontainer(
        r#"policy p {
            allow read, write "/work/dir"
            allow read, list, write, create under "/srv"
            deny read "/work/dir/secret"
            deny read "/srv/key"
            deny read "/etc/shadow"
        }"#,
    );
    let must: Vec<(String, bool)> = l.artifact["files"]["aces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "deny")
        .map(|a| (a["path"].as_str().unwrap().to_owned(), a["mustExist"].as_bool().unwrap()))
        .collect();
    assert!(must.contains(&(r"C:\work\dir\secret".to_owned(), true)), "{must:?}");
    assert!(must.contains(&(r"C:\srv\key".to_owned(), true)), "{must:?}");
    assert!(must.contains(&(r"C:\etc\shadow".to_owned(), false)), "{must:?}");
    let apply = &l.scripts[0].1;
    // Checked before any ACE is written, and denies are written first.
    let check = apply.find(r"ExpandEnvironmentVariables('C:\srv\key')").expect("a check");
    let first_deny = apply.find("-Type 'Deny'").unwrap();
    let first_allow = apply.find("-Type 'Allow'").unwrap();
    assert!(check < first_deny && first_deny < first_allow, "{apply}");
    assert!(
        apply.contains(
            r"-Path 'C:\srv\key' -Mask 0x00010009 -Inheritance 'none' -Type 'Deny' -MustExist $true"
        ),
        "{apply}"
    );
}

#[test]
fn a_deny_on_a_name_windows_reads_as_a_stream_is_not_enforced_and_reported() {
    // `C:\work\a:b` is the stream `b` of the file `a`, readable under the tree.
    let l = mxc(r#"policy p { allow read, list, exec under "/work"  deny read "/work/a:b" }"#);
    assert_eq!(l.artifact["filesystem"]["deniedPaths"], Value::Null);
    assert_eq!(counterexamples(&l, Code::ArtifactBroader), ["read /work/a:b"]);
}

#[test]
fn case_is_folded_so_a_deny_in_another_case_still_holds() {
    // `C:\work\proj\secret` lies inside `C:\work\Proj` on Windows.
    let src = r#"policy p { allow read, list, exec under "/work/Proj"  deny read, list, exec under "/work/proj/secret" }"#;
    for l in [appcontainer(src), mxc(src)] {
        assert!(l.validated, "{:?}", l.diagnostics);
    }
    let l = appcontainer(src);
    assert!(aces(&l).contains(&("deny".into(), r"C:\work\proj\secret".into(), "tree".into())));
}

#[test]
fn allow_and_deny_that_differ_only_in_case_are_reported() {
    let l = appcontainer(r#"policy p { allow read "/work/A"  deny read "/work/a" }"#);
    let case =
        l.diagnostics.iter().find(|d| d.message.contains("name one file on windows")).expect("reported");
    assert_eq!(case.code, Code::ArtifactNarrower);
    assert!(case.message.contains("`/work/A`") && case.message.contains("`/work/a`"), "{}", case.message);
}

#[test]
fn an_ace_written_in_one_case_covers_every_spelling_in_the_model() {
    // The policy denies `/work/SECRET` only in upper case; on Windows the
    // path `C:\work\SECRET` covers `c:\work\secret` too: nothing is broader.
    let l = mxc(
        r#"policy p { allow read, list, exec under "/work"  deny read, list, exec under "/work/SECRET" }"#,
    );
    assert!(l.validated, "{:?}", l.diagnostics);
    assert_eq!(strings(&l.artifact["filesystem"]["deniedPaths"]), [r"C:\work\SECRET"]);
    // `--drive` chooses the drive of paths outside the home.
    let d = lower_to_mxc(
        &policy_of(r#"policy p { allow read, list, exec under "/data" }"#),
        HOME,
        &WindowsOptions { drive: 'D', ..WindowsOptions::default() },
    );
    assert_eq!(strings(&d.artifact["filesystem"]["readonlyPaths"]), [r"D:\data"]);
    assert!(d.validated && d.exact, "{:?}", d.diagnostics);
}

#[test]
fn private_egress_without_ingress_is_broader_on_appcontainer() {
    let l = appcontainer(r#"policy p { allow connect tcp "10.20.0.0/16":5432 }"#);
    let caps: Vec<String> = l.artifact["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(caps, ["privateNetworkClientServer"]);
    let broader = counterexamples(&l, Code::ArtifactBroader);
    // The capability opens listening and private peers: a bind the policy denies.
    assert!(broader.iter().any(|c| c.starts_with("bind ")), "{broader:?}");
    // Connect itself is held to the allowlist by the block rules.
    assert!(!broader.iter().any(|c| c.starts_with("connect ")), "{broader:?}");
    assert!(!l.artifact["firewall"].as_array().unwrap().is_empty());
}

#[test]
fn firewall_block_rules_are_the_complement_of_the_allowlist() {
    let l = appcontainer(r#"policy p { allow connect tcp "192.0.2.0/24":443 }"#);
    let rules: Vec<(String, String, String, Vec<String>)> = l.artifact["firewall"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["direction"].as_str().unwrap().to_owned(),
                r["protocol"].as_str().unwrap().to_owned(),
                r["ports"].as_str().unwrap().to_owned(),
                strings(&r["remoteAddresses"]),
            )
        })
        .collect();
    let ports: Vec<(&str, &str)> = rules.iter().map(|r| (r.1.as_str(), r.2.as_str())).collect();
    assert_eq!(ports, [("TCP", "0-442"), ("TCP", "443"), ("TCP", "444-65535"), ("UDP", "Any")], "{rules:?}");
    assert!(rules.iter().all(|r| r.0 == "outbound"));
    // On 443 every internet address but the allowed /24 is blocked.
    let on_443 = &rules[1].3;
    assert!(
        on_443.contains(&"192.0.3.0/24".to_owned()) && on_443.contains(&"192.0.0.0/23".to_owned()),
        "{on_443:?}"
    );
    assert!(!on_443.iter().any(|c| c.starts_with("192.0.2.")), "{on_443:?}");
    assert!(!on_443.iter().any(|c| c.starts_with("10.")), "private addresses are not opened at all");
    assert_eq!(rules[0].3, rules[2].3);
    // Read back, every address is held to the allowlist; only names, which a
    // firewall cannot see, and the bind the capability opens are broader.
    let broader = counterexamples(&l, Code::ArtifactBroader);
    for c in broader.iter().filter(|c| c.starts_with("connect")) {
        let host = c.split(' ').nth(2).and_then(|e| e.rsplit_once(':')).map(|(h, _)| h).unwrap();
        assert!(host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('['), "{broader:?}");
    }
    assert!(broader.iter().any(|c| c.starts_with("connect")), "names are open: {broader:?}");
    assert!(counterexamples(&l, Code::ArtifactNarrower).is_empty(), "{:?}", l.diagnostics);
}

#[test]
fn cidr_egress_becomes_an_exact_mxc_rule() {
    let l = mxc(r#"policy p { allow connect tcp "192.0.2.0/24":443 }"#);
    assert_eq!(
        l.artifact["network"]["egress"],
        serde_json::json!({
            "default": "deny",
            "allow": [{ "to": [{ "cidr": "192.0.2.0/24" }], "ports": [{ "protocol": "tcp", "port": 443 }] }]
        })
    );
    assert!(l.validated && l.exact, "{:?}", l.diagnostics);
    // `::/1` holds the IPv4 addresses (as `::ffff:a.b.c.d`); MXC reads an
    // IPv6 CIDR as IPv6 only, so IPv4 is written apart.
    let v6 = mxc(r#"policy p { allow connect tcp ("::/1" - loopback - private - linklocal):443 }"#);
    let to: Vec<&str> = v6.artifact["network"]["egress"]["allow"][0]["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cidr"].as_str().unwrap())
        .collect();
    assert!(to.contains(&"224.0.0.0/3") && !to.contains(&"::/1") && !to.contains(&"::/64"), "{to:?}");
    assert!(v6.validated && v6.exact, "{:?}", v6.diagnostics);
}

#[test]
fn a_bind_capability_opens_every_port_to_its_peers_on_mxc() {
    let l = mxc(r#"policy p { allow bind tcp 8443 from "198.51.100.0/24" }"#);
    let caps = strings(&l.artifact["processContainer"]["capabilities"]);
    assert_eq!(caps, ["internetClientServer"]);
    let broader = counterexamples(&l, Code::ArtifactBroader);
    assert!(broader.iter().any(|c| c.starts_with("bind ")), "{broader:?}");
    assert!(!l.validated);
}

#[test]
fn lan_egress_opens_lan_ingress_on_mxc_too() {
    let l = mxc(r#"policy p { allow connect tcp "10.20.0.0/16":5432 }"#);
    assert_eq!(l.artifact["network"]["ingress"]["default"], "deny");
    assert_eq!(strings(&l.artifact["processContainer"]["capabilities"]), ["privateNetworkClientServer"]);
    let broader = counterexamples(&l, Code::ArtifactBroader);
    assert!(broader.iter().all(|c| c.starts_with("bind ")) && !broader.is_empty(), "{broader:?}");
}

#[test]
fn names_without_a_proxy_are_lost_and_with_one_are_delegated() {
    let lost = mxc(r#"policy p { allow connect tcp "github.com":443 }"#);
    assert_eq!(counterexamples(&lost, Code::ArtifactNarrower), ["connect tcp github.com:443"]);
    assert!(lost.validated);
    let kept = mxc(r#"policy p { proxy "http://127.0.0.1:8080"  allow connect tcp "github.com":443 }"#);
    assert_eq!(kept.artifact["network"]["proxy"]["url"], "http://127.0.0.1:8080");
    assert!(counterexamples(&kept, Code::ArtifactNarrower).is_empty(), "{:?}", kept.diagnostics);
    // AppContainer has no proxy: internetClient reaches every name.
    let ac = appcontainer(r#"policy p { allow connect tcp "github.com":443 }"#);
    let broader = counterexamples(&ac, Code::ArtifactBroader);
    assert!(
        broader.iter().any(|c| c.starts_with("connect ") && !c.contains("github.com:443")),
        "{broader:?}"
    );
}

#[test]
fn a_higher_isolation_tier_is_an_error() {
    for l in [
        appcontainer(r#"policy p { isolation container  allow read under "/work" }"#),
        mxc(r#"policy p { isolation microvm  allow read under "/work" }"#),
    ] {
        let d = l.diagnostics.iter().find(|d| d.code == Code::WindowsIsolationWeaker).expect("C3010");
        assert_eq!(d.severity, Severity::Error);
    }
    let ok = mxc(r#"policy p { isolation process  allow read, list under "/work" }"#);
    assert!(ok.diagnostics.iter().all(|d| d.code != Code::WindowsIsolationWeaker));
    assert_eq!(ok.artifact["containment"], "processcontainer");
}

#[test]
fn ui_limits_set_a_bit_for_each_denied_ui_access() {
    let l = appcontainer(r#"policy p { allow clipboard write  allow camera }"#);
    let flags = strings(&l.artifact["uiLimits"]["flags"]);
    assert!(flags.contains(&"JOB_OBJECT_UILIMIT_READCLIPBOARD".to_owned()));
    assert!(!flags.contains(&"JOB_OBJECT_UILIMIT_WRITECLIPBOARD".to_owned()));
    assert!(flags.contains(&"JOB_OBJECT_UILIMIT_HANDLES".to_owned()));
    assert_eq!(l.artifact["uiLimits"]["mask"], 0x02 | 0x01 | 0x20 | 0x08 | 0x10 | 0x40 | 0x80);
    let caps: Vec<&str> =
        l.artifact["capabilities"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(caps, ["webcam"]);
    assert!(l.validated && l.exact, "{:?}", l.diagnostics);
    let m = mxc(r#"policy p { allow clipboard write  allow camera }"#);
    assert_eq!(
        m.artifact["ui"],
        serde_json::json!({ "disable": false, "clipboard": "write", "injection": false })
    );
    assert_eq!(m.artifact["processContainer"]["ui"]["isolation"], "container");
    assert!(m.validated && m.exact, "{:?}", m.diagnostics);
}

#[test]
fn input_injection_cannot_be_granted_to_an_appcontainer() {
    let l = appcontainer(r#"policy p { allow input inject }"#);
    assert_eq!(counterexamples(&l, Code::ArtifactNarrower), ["input inject"]);
    let m = mxc(r#"policy p { allow input inject }"#);
    assert_eq!(m.artifact["ui"]["injection"], true);
}

#[test]
fn the_manifest_carries_the_derived_sids() {
    let l = appcontainer(r#"policy p { identity local "copilot-cli"  allow connect tcp internet:443 }"#);
    assert_eq!(l.artifact["profile"]["name"], "corral.copilot-cli");
    assert_eq!(l.artifact["profile"]["sid"], sid::profile_sid("corral.copilot-cli").unwrap());
    let cap = &l.artifact["capabilities"][0];
    assert_eq!(cap["name"], "internetClient");
    assert_eq!(cap["sid"], "S-1-15-3-1");
    assert!(cap["groupSid"].as_str().unwrap().starts_with("S-1-5-32-"));
    let lpac = lower_to_appcontainer(
        &policy_of(r#"policy p { allow read, list under "/work" }"#),
        HOME,
        &WindowsOptions { lpac: true, ..WindowsOptions::default() },
    );
    assert_eq!(lpac.artifact["profile"]["packageGroupSid"], sid::ALL_RESTRICTED_APPLICATION_PACKAGES);
    let m = lower_to_mxc(
        &policy_of(r#"policy p { allow read, list under "/work" }"#),
        HOME,
        &WindowsOptions { lpac: true, ..WindowsOptions::default() },
    );
    assert_eq!(m.artifact["processContainer"]["leastPrivilege"], true);
}

#[test]
fn the_scripts_apply_and_revert_every_entry_with_quoted_paths() {
    let l = appcontainer(
        r#"policy p {
            allow read, list, write, create under "~/my project's files"
            deny write under "~/my project's files/locked"
            allow connect tcp "192.0.2.0/24":443
        }"#,
    );
    let apply = &l.scripts.iter().find(|(n, _)| *n == "apply.ps1").unwrap().1;
    let revert = &l.scripts.iter().find(|(n, _)| *n == "revert.ps1").unwrap().1;
    let entries = l.artifact["files"]["aces"].as_array().unwrap();
    assert!(entries.len() >= 2);
    for a in entries {
        let quoted = corral_backend_windows::paths::ps_quote(a["path"].as_str().unwrap());
        assert!(quoted.contains("''"), "the quote is doubled: {quoted}");
        let line = format!(
            "Add-CorralAce -Path {quoted} -Mask {} -Inheritance '{}' -Type '{}'",
            a["maskHex"].as_str().unwrap(),
            a["inheritance"].as_str().unwrap(),
            if a["type"] == "deny" { "Deny" } else { "Allow" }
        );
        assert!(apply.contains(&line), "{line}\n{apply}");
        assert!(revert.contains(&format!("    {quoted}\n")), "{quoted}\n{revert}");
    }
    let rules = l.artifact["firewall"].as_array().unwrap();
    assert!(!rules.is_empty());
    for r in rules {
        assert!(apply.contains(&format!("-Name '{}'", r["name"].as_str().unwrap())), "{apply}");
    }
    assert!(apply.contains("-Package $ProfileSid") && revert.contains("Remove-NetFirewallRule"));
    assert!(revert.contains("PurgeAccessRules($Sid)"));
    // No unquoted path: every line naming the home placeholder quotes it.
    for line in apply.lines().chain(revert.lines()).filter(|l| l.contains("%USERPROFILE%")) {
        assert!(line.contains("'%USERPROFILE%"), "{line}");
    }
}

#[test]
fn lowering_is_deterministic() {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/notebook-agent.corral"),
    )
    .unwrap();
    let compile = || compile_source("notebook-agent.corral", &src, None, &options());
    let (a, b) = (compile(), compile());
    let (pa, pb) = (&a.program.policies[0], &b.program.policies[0]);
    let o = WindowsOptions::default();
    assert_eq!(
        lower_to_appcontainer(pa, HOME, &o).artifact.to_string(),
        lower_to_appcontainer(pb, HOME, &o).artifact.to_string()
    );
    assert_eq!(
        lower_to_mxc(pa, HOME, &o).artifact.to_string(),
        lower_to_mxc(pb, HOME, &o).artifact.to_string()
    );
}

fn render(l: &Lowering, artifact: &str) -> String {
    let mut out = String::new();
    out.push_str(&l.summary);
    out.push_str(&format!("\n--- {artifact}\n"));
    out.push_str(&serde_json::to_string_pretty(&l.artifact).unwrap_or_default());
    for (name, text) in &l.scripts {
        out.push_str(&format!("\n--- {name}\n{text}"));
    }
    out.push_str("\n--- diagnostics\n");
    out.push_str(&corral_tests::diagnostics_text(&l.diagnostics));
    out
}

#[test]
fn every_example_lowers_to_valid_snapshots_for_both_targets() {
    let o = WindowsOptions::default();
    for file in corral_tests::example_files() {
        let compilation = compile_file(&file, &options()).expect("readable example");
        assert!(!compilation.has_errors(), "{}: {:?}", file.display(), compilation.diagnostics);
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("example").to_owned();
        for policy in &compilation.program.policies {
            let ac = lower_to_appcontainer(policy, HOME, &o);
            assert_valid_against(&manifest_schema_path(), &ac.artifact);
            insta::assert_snapshot!(
                format!("appcontainer__{stem}__{}", policy.name),
                render(&ac, "appcontainer.json")
            );
            let m = lower_to_mxc(policy, HOME, &o);
            assert_valid_against(&mxc_schema_path(), &m.artifact);
            insta::assert_snapshot!(format!("mxc__{stem}__{}", policy.name), render(&m, "mxc.json"));
        }
    }
}

/// Policies of whole trees with every right, allowed and denied at random
/// among nested paths (in mixed case): both targets can express them, so
/// validation must prove them. MXC is exact; AppContainer loses only the
/// creation of an allowed tree's root, which is decided on its parent.
#[test]
fn literal_trees_are_always_validated() {
    let paths = ["/a", "/a/b", "/a/B/c", "/a/b/c/d", "/e", "~/x", "~/x/Y", "~"];
    let mut seed: u64 = 0x5eed;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        usize::try_from(seed >> 33).unwrap() % n
    };
    for round in 0..64 {
        let mut rules = Vec::new();
        let mut roots = Vec::new();
        for _ in 0..1 + next(4) {
            let p = paths[next(paths.len())];
            let effect = if next(3) == 0 { "deny" } else { "allow" };
            if effect == "allow" {
                roots.push(p.replace('~', HOME).to_lowercase());
            }
            rules.push(format!("{effect} read, list, write, create, delete, exec under \"{p}\""));
        }
        let src = format!("policy p {{ {} }}", rules.join("  "));
        let m = mxc(&src);
        assert!(m.validated && m.exact, "round {round}: {src}\n{:?}", m.diagnostics);
        let a = appcontainer(&src);
        assert!(a.validated, "round {round}: {src}\n{:?}", a.diagnostics);
        for c in counterexamples(&a, Code::ArtifactNarrower) {
            let root = c.strip_prefix("create ").unwrap_or_else(|| panic!("round {round}: {src}: {c}"));
            assert!(roots.iter().any(|r| r == root), "round {round}: {src}: {c}");
        }
    }
}

/// Trees, children and single paths with rights Windows grants apart
/// (`read, list`; `write, create`; `delete`; `exec`), allowed and denied at
/// random: the AppContainer artifact never permits more than the policy.
#[test]
fn appcontainer_trees_with_separate_rights_are_validated() {
    let paths = ["/a", "/a/b", "/a/B/c", "/e", "~/x", "~"];
    let rights =
        ["read, list", "write, create", "delete", "exec", "read, list, exec", "read, list, write, create"];
    let mut seed: u64 = 0xacce55;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        usize::try_from(seed >> 33).unwrap() % n
    };
    for round in 0..48 {
        let rules: Vec<String> = (0..1 + next(4))
            .map(|_| {
                let effect = if next(3) == 0 { "deny" } else { "allow" };
                let (path, r) = (paths[next(paths.len())], rights[next(rights.len())]);
                match next(3) {
                    0 => format!("{effect} {r} under \"{path}\""),
                    1 => format!("{effect} {r} \"{path}/**\""),
                    // Adding entries is a directory's write bit: on a
                    // single object only rights without it are exact.
                    _ if r.contains("write") => format!("{effect} {r} under \"{path}\""),
                    _ => format!("{effect} {r} \"{path}\""),
                }
            })
            .collect();
        let src = format!("policy p {{ {} }}", rules.join("  "));
        let a = appcontainer(&src);
        assert!(a.validated, "round {round}: {src}\n{:?}", a.diagnostics);
    }
}

/// Random policies mixing globs, set operators, hosts, ports and devices:
/// both targets lower them to schema-valid artifacts, and every broader
/// counterexample is an access the policy denies.
#[test]
fn random_policies_lower_to_valid_artifacts() {
    let paths = [
        "under \"/a\"",
        "\"/a/**/.env\"",
        "\"~/.ssh/id_*\"",
        "under \"~\" & \"/**/target/**\"",
        "under \"/a\" - \"/a/b\"",
        "\"/a/{x,y}.txt\"",
        "under \"/\"",
    ];
    let nets = [
        "allow connect tcp \"10.0.0.0/8\":22",
        "allow connect \"github.com\":443",
        "allow connect udp any:53",
        "deny connect tcp \"10.1.0.0/16\":*",
        "allow bind tcp 8000..8999 from loopback",
        "allow bind udp 5353",
        "allow connect tcp (internet - \"192.0.2.0/24\"):(80 | 443)",
    ];
    let devices =
        ["allow clipboard", "allow screen capture", "allow windows", "allow input inject", "allow camera"];
    let rights = ["read, list", "write, create", "delete", "exec", "read, list, write, create, delete, exec"];
    let mut seed: u64 = 0xfeed;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        usize::try_from(seed >> 33).unwrap() % n
    };
    for round in 0..24 {
        let mut rules = Vec::new();
        for _ in 0..1 + next(4) {
            let effect = if next(3) == 0 { "deny" } else { "allow" };
            rules.push(format!("{effect} {} {}", rights[next(rights.len())], paths[next(paths.len())]));
        }
        rules.push(nets[next(nets.len())].to_owned());
        rules.push(devices[next(devices.len())].to_owned());
        if next(2) == 0 {
            rules.push("proxy \"http://127.0.0.1:3128\"".to_owned());
        }
        let src = format!("policy p {{ {} }}", rules.join("\n"));
        let policy = policy_of(&src);
        let folded = corral_backend_windows::validate::fold_case(&policy);
        for l in [appcontainer(&src), mxc(&src)] {
            for c in counterexamples(&l, Code::ArtifactBroader) {
                let access = corral_compiler::eval::Access::parse(&c, HOME).unwrap();
                let eval = corral_compiler::eval::Evaluator::new(&folded);
                assert!(!eval.is_permitted(&access), "round {round}: {src}: {c}");
            }
        }
    }
}
