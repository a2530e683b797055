//! Lowering to nftables: snapshots of every example in both forms, the
//! name modes and their diagnostics, and translation validation, checked
//! against the concrete evaluator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::IpAddr;

use common::{example_policies, lower_fast, policy, random_policy};
use corral_backend_nftables::{NameMode, NftOptions, Resolver, lower_to_nftables, model_of, validate};
use corral_compiler::diagnostics::{Code, Severity};
use corral_compiler::eval::{Access, Evaluator};
use corral_verifier::refine::Verdict;

struct FakeResolver(Vec<(&'static str, &'static str)>);

impl Resolver for FakeResolver {
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        let found: Vec<IpAddr> =
            self.0.iter().filter(|(n, _)| *n == name).map(|(_, a)| a.parse().unwrap()).collect();
        if found.is_empty() { Err("no such host".to_owned()) } else { Ok(found) }
    }
}

fn codes(l: &corral_backend_nftables::NftLowering) -> Vec<&'static str> {
    l.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

/// Accesses over the test addresses, a few outside them, and both protocols.
fn probe_accesses() -> Vec<String> {
    let hosts = [
        "10.200.0.1",
        "10.200.0.2",
        "10.200.0.3",
        "10.200.0.4",
        "10.200.0.7",
        "10.200.1.1",
        "127.0.0.1",
        "8.8.8.8",
        "192.168.1.1",
        "[fd00:200::1]",
        "[fd00:200::3]",
        "[fd00:200::9]",
        "[::1]",
        "[2001:db8::1]",
    ];
    let ports = [0, 22, 53, 80, 123, 443, 1024, 5000, 5353, 5432, 8080, 9000, 65535];
    let mut out = Vec::new();
    for proto in ["tcp", "udp"] {
        for h in hosts {
            for p in ports {
                out.push(format!("connect {proto} {h}:{p}"));
                out.push(format!(
                    "bind {proto} {p} from {}",
                    h.trim_start_matches('[').trim_end_matches(']')
                ));
            }
        }
    }
    out
}

#[test]
fn snapshots_of_every_example_in_both_forms() {
    let mut seen = 0;
    for (stem, p) in example_policies() {
        let lowering = lower_fast(&p);
        let json = serde_json::to_string_pretty(&lowering.json).unwrap();
        let description = format!("examples/{stem}.corral, policy `{}`, names: addresses", p.name);
        insta::with_settings!({ description => description }, {
            insta::assert_snapshot!(format!("{stem}__{}__nft", p.name), lowering.text);
            insta::assert_snapshot!(format!("{stem}__{}__json", p.name), json);
        });
        if p.proxy.is_some() {
            // The policy names a proxy: proxy mode, with its allowlist.
            let options =
                NftOptions { mode: NameMode::Proxy, validate_timeout_ms: None, ..NftOptions::default() };
            let l = lower_to_nftables(&p, &options).unwrap();
            let list = l.allowlist.as_ref().unwrap();
            let description = format!("examples/{stem}.corral, policy `{}`, names: proxy", p.name);
            insta::with_settings!({ description => description }, {
                insta::assert_snapshot!(format!("{stem}__{}__proxy_nft", p.name), l.text);
                insta::assert_snapshot!(
                    format!("{stem}__{}__proxy_json", p.name),
                    serde_json::to_string_pretty(&l.json).unwrap()
                );
                insta::assert_snapshot!(format!("{stem}__{}__proxy_allowlist", p.name), list.text);
                insta::assert_snapshot!(
                    format!("{stem}__{}__proxy_allowlist_json", p.name),
                    serde_json::to_string_pretty(&list.json).unwrap()
                );
            });
        }
        seen += 1;
    }
    assert!(seen >= 4, "every example file has at least one policy");
}

#[test]
fn every_example_is_validated_as_permitting_nothing_denied() {
    for (stem, p) in example_policies() {
        let lowering = lower_to_nftables(&p, &NftOptions::default()).unwrap();
        let v = lowering.validation.as_ref().unwrap();
        assert!(v.proven(), "{stem}/{}: {v:?}", p.name);
        assert!(!lowering.diagnostics.iter().any(|d| d.severity == Severity::Error), "{stem}/{}", p.name);
        // What the ruleset permits, the policy permits, on concrete accesses.
        let model = model_of(&lowering.json, &p);
        for a in probe_accesses() {
            let access = Access::parse(&a, "/home/u").unwrap();
            if Evaluator::new(&model).decide(&access).permitted {
                assert!(Evaluator::new(&p).decide(&access).permitted, "{stem}/{}: {a}", p.name);
            }
        }
    }
}

#[test]
fn the_ruleset_permits_exactly_the_policys_addresses_on_random_policies() {
    for seed in 0..80 {
        let source = random_policy(seed);
        let p = policy(&source);
        let lowering = lower_fast(&p);
        let model = model_of(&lowering.json, &p);
        let (policy_eval, model_eval) = (Evaluator::new(&p), Evaluator::new(&model));
        for a in probe_accesses() {
            let access = Access::parse(&a, "/home/u").unwrap();
            assert_eq!(
                model_eval.decide(&access).permitted,
                policy_eval.decide(&access).permitted,
                "{a}\n{source}\n{}",
                lowering.text
            );
        }
    }
}

#[test]
fn translation_validation_proves_random_policies_and_names_what_they_lose() {
    for seed in 100..130 {
        let source = random_policy(seed);
        let p = policy(&source);
        let lowering = lower_to_nftables(&p, &NftOptions::default()).unwrap();
        let v = lowering.validation.unwrap();
        assert!(v.proven(), "{source}\n{v:?}");
        assert_eq!(v.bind_narrower, Verdict::Holds, "{source}");
        // Only names are lost: every address the policy allows is in the ruleset.
        if let Verdict::Counterexample(a) = &v.connect_narrower {
            assert!(
                matches!(a, Access::Connect { host: corral_compiler::eval::Host::Name(_), .. }),
                "{a}\n{source}"
            );
        }
    }
}

#[test]
fn translation_validation_catches_a_ruleset_that_allows_more() {
    let p = policy(
        "policy p {\n    allow connect tcp \"10.0.0.0/8\":443\n    deny connect tcp \"10.1.0.0/16\":443\n}",
    );
    let lowering = lower_fast(&p);
    assert!(
        lowering.text.contains("10.0.0.0/16 . 443,\n\t\t\t10.2.0.0-10.255.255.255 . 443"),
        "{}",
        lowering.text
    );
    let mut json = lowering.json.clone();
    // Widen the ruleset by hand: the denied /16 comes back.
    let sets = json["nftables"].as_array_mut().unwrap();
    let set = sets.iter_mut().find(|c| c["add"]["set"]["name"] == "connect_tcp_v4").unwrap();
    set["add"]["set"]["elem"].as_array_mut().unwrap().push(serde_json::json!({
        "concat": [{ "prefix": { "addr": "10.1.0.0", "len": 16 } }, 443]
    }));
    let model = model_of(&json, &p);
    let v = validate(&model, &p, 10_000);
    let Verdict::Counterexample(a) = &v.connect_broader else { panic!("{v:?}") };
    assert!(a.to_string().starts_with("connect tcp 10.1."), "{a}");
    assert!(!Evaluator::new(&p).decide(a).permitted);
    assert!(!v.proven());
    // The untouched ruleset holds.
    assert!(validate(&model_of(&lowering.json, &p), &p, 10_000).proven());
}

#[test]
fn names_are_dropped_in_address_mode_with_a_warning_and_no_dns_is_reported() {
    let p = policy(
        "policy p {\n    allow connect tcp \"github.com\":443\n    allow connect tcp \"10.0.0.1\":22\n}",
    );
    let l = lower_to_nftables(&p, &NftOptions::default()).unwrap();
    assert_eq!(codes(&l), ["C3002", "C3004"]);
    assert!(l.diagnostics[0].message.contains("`github.com`"));
    let v = l.validation.unwrap();
    assert!(v.proven());
    assert_eq!(
        v.connect_narrower,
        Verdict::Counterexample(Access::parse("connect tcp github.com:443", "/").unwrap())
    );
    let with_dns = policy(
        "policy p {\n    allow connect tcp \"github.com\":443\n    allow connect udp \"10.0.0.53\":53\n}",
    );
    let l = lower_fast(&with_dns);
    assert_eq!(codes(&l), ["C3002"], "dns is allowed, so only the name is reported");
}

#[test]
fn a_denied_name_is_broader_without_resolve_and_exact_with_it() {
    let p = policy(
        "policy p {\n    allow connect tcp any:443\n    deny connect tcp \"evil.example\":443\n    allow connect udp \"10.0.0.53\":53\n}",
    );
    let l = lower_fast(&p);
    let broader: Vec<_> = l.diagnostics.iter().filter(|d| d.code == Code::ArtifactBroader).collect();
    assert_eq!(broader.len(), 1);
    assert_eq!(broader[0].severity, Severity::Error);
    assert_eq!(broader[0].counterexamples, ["connect tcp evil.example:443"]);

    let resolver = FakeResolver(vec![("evil.example", "203.0.113.7")]);
    let options = NftOptions {
        mode: NameMode::Resolve { resolver: &resolver, at: "2026-11-27T02:00:00Z".to_owned() },
        ..NftOptions::default()
    };
    let l = lower_to_nftables(&p, &options).unwrap();
    assert!(!l.diagnostics.iter().any(|d| d.code == Code::ArtifactBroader), "{:?}", l.diagnostics);
    // The resolved address is carved out of `any`.
    assert!(l.text.contains("203.0.113.6 . 443"), "{}", l.text);
    assert!(l.text.contains("203.0.113.8-255.255.255.255 . 443"), "{}", l.text);
    assert!(l.validation.unwrap().proven());
}

#[test]
fn resolve_records_the_addresses_and_the_time_and_reports_shared_addresses() {
    let p = policy(
        "policy p {\n    allow connect tcp \"api.example\":443\n    allow connect udp \"10.0.0.53\":53\n    deny connect tcp \"ads.example\":443\n    allow connect tcp \"*.cdn.example\":443\n}",
    );
    let resolver = FakeResolver(vec![
        ("api.example", "192.0.2.10"),
        ("api.example", "2001:db8::10"),
        ("ads.example", "192.0.2.10"),
    ]);
    let at = "2026-11-27T02:00:00Z".to_owned();
    let options = NftOptions {
        mode: NameMode::Resolve { resolver: &resolver, at: at.clone() },
        ..NftOptions::default()
    };
    let l = lower_to_nftables(&p, &options).unwrap();
    assert_eq!(l.mode, "resolve");
    assert!(l.text.contains(&format!("# names resolved at {at}:")), "{}", l.text);
    assert!(l.text.contains("#   api.example = 192.0.2.10, 2001:db8::10"), "{}", l.text);
    let meta = &l.json["nftables"][0]["metainfo"]["corral"];
    assert_eq!(meta["resolved_at"], at.as_str());
    assert_eq!(meta["resolved"]["ads.example"][0], "192.0.2.10");
    // The deny wins for the shared address, the IPv6 one stays.
    assert!(!l.text.contains("192.0.2.10 . 443"), "{}", l.text);
    assert!(l.text.contains("2001:db8::10 . 443"), "{}", l.text);
    // The wildcard cannot be enumerated: lost, with a warning on its rule.
    let narrower: Vec<_> = l.diagnostics.iter().filter(|d| d.code == Code::ArtifactNarrower).collect();
    assert_eq!(narrower.len(), 1);
    assert!(narrower[0].message.contains("`*.cdn.example`"), "{}", narrower[0].message);
    assert!(l.validation.unwrap().proven());

    // Sharing the other way round: an allowed name's address serves a denied one.
    let p = policy(
        "policy p {\n    allow connect tcp \"api.example\":443\n    allow connect udp \"10.0.0.53\":53\n    deny connect tcp \"ads.example\":80\n}",
    );
    let l = lower_to_nftables(&p, &options).unwrap();
    let shared = l.diagnostics.iter().find(|d| d.message.contains("shared")).expect("a shared address");
    assert_eq!(shared.severity, Severity::Error);
    assert_eq!(shared.counterexamples, ["connect tcp ads.example:443"]);
    assert!(
        !Evaluator::new(&p).decide(&Access::parse("connect tcp ads.example:443", "/").unwrap()).permitted
    );
}

#[test]
fn proxy_mode_routes_names_through_the_proxy_and_writes_the_allowlist() {
    let p = policy(
        "policy p {\n    proxy \"http://10.0.0.9:3128\"\n    allow connect tcp [\"github.com\", \"*.crates.io\"]:443\n    deny connect tcp \"gist.github.com\":443\n    allow connect tcp \"192.0.2.0/24\":22\n}",
    );
    let options = NftOptions { mode: NameMode::Proxy, ..NftOptions::default() };
    let l = lower_to_nftables(&p, &options).unwrap();
    assert_eq!(l.mode, "proxy");
    assert!(l.text.contains("10.0.0.9 . 3128"), "{}", l.text);
    assert!(l.text.contains("192.0.2.0/24 . 22"), "{}", l.text);
    let list = l.allowlist.as_ref().unwrap();
    let lines: Vec<&str> = list.text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines, ["!gist.github.com:443", "*.crates.io:443", "github.com:443"]);
    assert_eq!(list.json["allow"][1]["host"], "github.com");
    assert_eq!(list.json["proxy"], "http://10.0.0.9:3128");
    // Names are the proxy's job: no narrower warning, no dns warning.
    assert!(
        !l.diagnostics.iter().any(|d| d.code == Code::ArtifactNarrower || d.code == Code::NamesWithoutDns),
        "{:?}",
        l.diagnostics
    );
    assert!(l.validation.unwrap().proven());

    let no_proxy = policy("policy p {\n    allow connect tcp \"github.com\":443\n}");
    let err = lower_to_nftables(&no_proxy, &options).unwrap_err();
    assert!(err.0.contains("needs a `proxy`"), "{}", err.0);
    let named = policy("policy p {\n    proxy \"http://proxy.internal:3128\"\n}");
    assert!(lower_to_nftables(&named, &options).unwrap_err().0.contains("not an IP address"));
}

#[test]
fn ipv4_mapped_and_ipv6_land_in_their_families() {
    let p = policy(
        "policy p {\n    allow connect tcp [\"::ffff:10.0.0.1\", \"fd00::/8\"]:443\n    allow bind udp 53 from \"::/0\"\n}",
    );
    let l = lower_fast(&p);
    assert!(l.text.contains("set connect_tcp_v4 {"), "{}", l.text);
    assert!(l.text.contains("10.0.0.1 . 443"), "{}", l.text);
    assert!(l.text.contains("fd00::/8 . 443"), "{}", l.text);
    // `::/0` holds every IPv4 address too (as mapped addresses).
    assert!(l.text.contains("0.0.0.0/0 . 53"), "{}", l.text);
    assert!(l.text.contains("ip saddr . udp dport @bind_udp_v4 accept"), "{}", l.text);
}

#[test]
fn lowering_is_deterministic() {
    for (_, p) in example_policies() {
        let (a, b) = (lower_fast(&p), lower_fast(&p));
        assert_eq!(a.text, b.text);
        assert_eq!(a.json, b.json);
    }
}
