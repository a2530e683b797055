//! The concrete evaluator against LANGUAGE.md §3 "Exact matching rules" and
//! §4: every rule with accepting and rejecting cases, decided both by the
//! indexed evaluator and by the straight scan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "eval/access_parse.rs"]
mod access_parse;
#[path = "eval/builder.rs"]
mod builder;
#[path = "eval/props.rs"]
mod props;

use builder::*;
use corral_compiler::eval::{
    Access, Evaluator, Host, RuleRef, builtin_host_set, decide_by_scan, is_permitted,
};
use corral_compiler::ir::{Device, DeviceMode, HostAtom, HostSet, PathPattern, Policy, Proto, Right, Set};

/// Asserts which of `yes` the pattern matches and which of `no` it rejects.
#[track_caller]
fn check_pattern(pattern: &str, yes: &[&str], no: &[&str]) {
    let p = PathPattern::parse(pattern, HOME).unwrap();
    for path in yes {
        assert!(p.matches(path), "`{pattern}` should match `{path}`");
    }
    for path in no {
        assert!(!p.matches(path), "`{pattern}` should not match `{path}`");
    }
}

// ---------------------------------------------------------------------------
// Paths

#[test]
fn star_matches_any_run_within_one_segment() {
    check_pattern("/a/*", &["/a/b", "/a/.hidden", "/a/b.c", "/a/*"], &["/a", "/a/b/c", "/b/c"]);
    check_pattern("/a/*.rs", &["/a/main.rs", "/a/.rs", "/a/x.y.rs"], &["/a/main.rsx", "/a/d/x.rs"]);
    // The run may be empty.
    check_pattern("/a/b*", &["/a/b", "/a/bcd"], &["/a/cb"]);
    check_pattern("/a/x*y", &["/a/xy", "/a/x-y", "/a/xyy"], &["/a/x/y", "/a/xyz"]);
    check_pattern("/*", &["/a", "/.profile"], &["/", "/a/b"]);
}

#[test]
fn question_matches_exactly_one_character() {
    check_pattern("/f?o", &["/foo", "/f.o", "/féo"], &["/fo", "/fooo", "/f/o"]);
    check_pattern("/?", &["/x", "/日"], &["/xy", "/"]);
    check_pattern("/??", &["/ab"], &["/日"]);
}

#[test]
fn braces_match_one_alternative_which_may_hold_wildcards() {
    check_pattern("/x.{rs,toml}", &["/x.rs", "/x.toml"], &["/x.md", "/x.rs.bak", "/x."]);
    check_pattern("/{*.rs,Cargo.?ock}", &["/main.rs", "/Cargo.lock"], &["/Cargo.toml", "/a/b.rs"]);
    check_pattern("/a{,.bak}", &["/a", "/a.bak"], &["/a.ba", "/ab"]);
    check_pattern("/{a,b}/{c,d}", &["/a/c", "/b/d"], &["/a/a", "/c/c", "/a"]);
}

#[test]
fn double_star_at_start_or_middle_matches_zero_or_more_segments() {
    check_pattern("/**/b", &["/b", "/a/b", "/x/y/b"], &["/", "/b/c", "/a/bb"]);
    check_pattern("/a/**/b", &["/a/b", "/a/x/b", "/a/x/y/b"], &["/a", "/a/x", "/b", "/x/a/b"]);
    check_pattern("/a/**/**/b", &["/a/b", "/a/x/y/z/b"], &["/a/b/c"]);
    check_pattern("/**/.git/hooks/*", &["/.git/hooks/pre", "/r/.git/hooks/x"], &["/r/.git/hooks"]);
}

#[test]
fn double_star_at_the_end_matches_one_or_more_segments() {
    check_pattern("/a/**", &["/a/b", "/a/b/c", "/a/.x"], &["/a", "/ab", "/", "/b/a"]);
    check_pattern("/**", &["/a", "/a/b/c"], &["/"]);
    check_pattern("/a/**/b/**", &["/a/b/c", "/a/x/b/c/d"], &["/a/b", "/a/x/b"]);
}

#[test]
fn root_pattern_matches_only_the_root() {
    check_pattern("/", &["/"], &["/a", "/.x"]);
}

#[test]
fn under_is_the_directory_and_everything_inside() {
    let p = PolicyBuilder::new().file(Allow, "read", under("/x")).build();
    for yes in ["read /x", "read /x/y", "read /x/y/z"] {
        assert!(permitted(&p, yes), "{yes}");
    }
    for no in ["read /xy", "read /", "read /y/x"] {
        assert!(!permitted(&p, no), "{no}");
    }
    let all = PolicyBuilder::new().file(Allow, "read", under("/")).build();
    assert!(permitted(&all, "read /"));
    assert!(permitted(&all, "read /a/b/c"));
}

#[test]
fn matching_is_case_sensitive() {
    check_pattern("/Users/*", &["/Users/a"], &["/users/a", "/USERS/a"]);
    check_pattern("/a/*.RS", &["/a/x.RS"], &["/a/x.rs"]);
    check_pattern("/a/{X,y}", &["/a/X"], &["/a/x", "/a/Y"]);
}

#[test]
fn tilde_expands_in_patterns_and_accesses() {
    let p = PolicyBuilder::new().file(Allow, "read", path("~/.ssh/*")).build();
    assert!(permitted(&p, "read ~/.ssh/id_rsa"));
    assert!(permitted(&p, "read /home/u/.ssh/id_rsa"));
    assert!(!permitted(&p, "read /home/v/.ssh/id_rsa"));
}

#[test]
fn file_rules_cover_only_their_rights() {
    let p = PolicyBuilder::new().file(Allow, "read, list", under("/usr")).build();
    assert!(permitted(&p, "read /usr/bin/ls"));
    assert!(permitted(&p, "list /usr/bin"));
    for no in ["write /usr/bin/ls", "create /usr/x", "delete /usr/x", "exec /usr/bin/ls"] {
        assert!(!permitted(&p, no), "{no}");
    }
}

#[test]
fn set_operators_union_intersection_difference() {
    let union = Set::union([path("/a/*"), path("/b/*")]);
    let inter = Set::inter([under("/src"), path("/**/*.rs")]);
    let diff = Set::diff(under("/w"), under("/w/.git"));
    assert!(union.contains_path("/a/x") && union.contains_path("/b/x"));
    assert!(!union.contains_path("/c/x"));
    assert!(inter.contains_path("/src/main.rs") && inter.contains_path("/src/a/b.rs"));
    assert!(!inter.contains_path("/src/main.c") && !inter.contains_path("/lib/main.rs"));
    assert!(diff.contains_path("/w/src/x") && diff.contains_path("/w"));
    assert!(!diff.contains_path("/w/.git") && !diff.contains_path("/w/.git/config"));
    assert!(!Set::<PathPattern>::Empty.contains_path("/"));
    let nested = Set::diff(union.clone(), Set::inter([path("/a/*"), path("/*/x")]));
    assert!(nested.contains_path("/a/y") && nested.contains_path("/b/x"));
    assert!(!nested.contains_path("/a/x"));

    // Through the evaluator, with an index over each operator.
    let p = PolicyBuilder::new()
        .file(Allow, "read", union)
        .file(Allow, "write", inter)
        .file(Allow, "create", diff)
        .build();
    assert!(permitted(&p, "read /b/q"));
    assert!(permitted(&p, "write /src/a/b.rs"));
    assert!(!permitted(&p, "write /src/a/b.c"));
    assert!(permitted(&p, "create /w/new"));
    assert!(!permitted(&p, "create /w/.git/hooks/pre-commit"));
}

#[test]
fn glob_characters_in_an_access_are_ordinary_characters() {
    let p = PolicyBuilder::new().file(Allow, "read", path("/a/b")).build();
    assert!(!permitted(&p, "read /a/*"));
    check_pattern("/a/*", &["/a/*", "/a/{x}"], &[]);
}

// ---------------------------------------------------------------------------
// Hosts

fn connect_policy(hosts: HostSet) -> Policy {
    PolicyBuilder::new().connect(Allow, None, endpoint(hosts, any_port())).build()
}

#[track_caller]
fn check_hosts(set: &HostSet, yes: &[&str], no: &[&str]) {
    let p = connect_policy(set.clone());
    for h in yes {
        assert!(set.contains_host(&Host::parse(h).unwrap()), "{h} should be in the set");
        let bracketed = if h.contains(':') { format!("[{h}]") } else { (*h).to_owned() };
        assert!(permitted(&p, &format!("connect tcp {bracketed}:1")), "{h}");
    }
    for h in no {
        assert!(!set.contains_host(&Host::parse(h).unwrap()), "{h} should not be in the set");
        let bracketed = if h.contains(':') { format!("[{h}]") } else { (*h).to_owned() };
        assert!(!permitted(&p, &format!("connect tcp {bracketed}:1")), "{h}");
    }
}

#[test]
fn names_compare_in_lower_case_without_trailing_dot() {
    check_hosts(&host("GitHub.com."), &["github.com", "GITHUB.COM", "github.com."], &["github.co"]);
    check_hosts(&host("github.com"), &["GitHub.Com."], &["api.github.com", "github.com.evil"]);
}

#[test]
fn subdomain_wildcard_matches_any_depth_but_not_the_apex() {
    check_hosts(
        &host("*.example.com"),
        &["a.example.com", "a.b.c.example.com", "A.EXAMPLE.COM."],
        &["example.com", "badexample.com", "example.com.evil", "10.0.0.1", "::1"],
    );
}

#[test]
fn cidrs_match_the_addresses_in_them() {
    check_hosts(&host("10.0.0.0/8"), &["10.0.0.0", "10.255.255.255"], &["11.0.0.0", "9.255.255.255"]);
    check_hosts(&host("192.0.2.1"), &["192.0.2.1"], &["192.0.2.2"]);
    check_hosts(&host("2001:db8::/32"), &["2001:db8::1", "2001:db8:ffff::"], &["2001:db9::1", "10.0.0.1"]);
    check_hosts(&host("::/0"), &["::1", "10.0.0.1"], &["example.com"]);
}

#[test]
fn ipv4_mapped_ipv6_is_the_ipv4_address() {
    check_hosts(&host("10.0.0.0/8"), &["::ffff:10.1.2.3", "::ffff:a01:203"], &["::ffff:11.1.2.3"]);
    check_hosts(&host("::ffff:10.0.0.0/104"), &["10.9.9.9"], &["11.0.0.0"]);
    // Only the mapped form: the IPv4-compatible `::a.b.c.d` is another address.
    check_hosts(&host("10.0.0.0/8"), &[], &["::10.1.2.3"]);
}

#[test]
fn names_and_addresses_never_match_each_other() {
    let name_like_cidr = Host::parse("10.example").unwrap();
    assert!(!HostAtom::parse("10.0.0.0/8").unwrap().matches(&name_like_cidr));
    assert!(!HostAtom::AnyAddr.matches(&Host::parse("example.com").unwrap()));
    assert!(!HostAtom::AnyName.matches(&Host::parse("127.0.0.1").unwrap()));
    assert!(HostAtom::AnyName.matches(&Host::parse("example.com").unwrap()));
    assert!(HostAtom::AnyAddr.matches(&Host::parse("::").unwrap()));
    check_hosts(&host("*.com"), &["a.com"], &["1.2.3.4"]);
}

fn builtin(name: &str) -> HostSet {
    builtin_host_set(name).unwrap()
}

#[test]
fn builtin_loopback() {
    check_hosts(
        &builtin("loopback"),
        &["127.0.0.1", "127.255.255.255", "::1", "::ffff:127.0.0.1", "localhost", "a.b.localhost"],
        &["128.0.0.1", "::2", "localhost.example.com", "8.8.8.8", "example.com"],
    );
}

#[test]
fn builtin_private() {
    check_hosts(
        &builtin("private"),
        &["10.1.2.3", "172.16.0.0", "172.31.255.255", "192.168.1.1", "100.64.0.1", "100.127.255.255"],
        &["172.32.0.0", "172.15.255.255", "192.169.0.0", "100.128.0.0", "8.8.8.8", "localhost"],
    );
    check_hosts(&builtin("private"), &["fc00::1", "fdff::1"], &["fe00::1", "fbff::1"]);
}

#[test]
fn builtin_linklocal() {
    check_hosts(
        &builtin("linklocal"),
        &["169.254.0.1", "169.254.255.255", "fe80::1", "febf::1"],
        &["169.255.0.1", "fec0::1", "fe7f::1", "10.0.0.1"],
    );
}

#[test]
fn builtin_internet_excludes_loopback_private_linklocal() {
    check_hosts(
        &builtin("internet"),
        &["8.8.8.8", "2001:4860::8888", "github.com", "localhost.example.com", "172.32.0.1"],
        &[
            "10.0.0.1",
            "127.0.0.1",
            "169.254.0.1",
            "100.64.0.1",
            "192.168.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "localhost",
            "x.localhost",
            "LOCALHOST.",
        ],
    );
}

#[test]
fn builtin_any_is_every_host() {
    check_hosts(&builtin("any"), &["example.com", "localhost", "10.0.0.1", "::1"], &[]);
}

// ---------------------------------------------------------------------------
// Ports and protocols

#[test]
fn port_ranges_are_inclusive_and_star_is_every_port() {
    let p = PolicyBuilder::new()
        .connect(Allow, Some(Proto::Tcp), endpoint(host("a.com"), ports(8000, 8999)))
        .connect(Allow, Some(Proto::Tcp), endpoint(host("b.com"), any_port()))
        .connect(Allow, Some(Proto::Tcp), endpoint(host("c.com"), Set::union([port(80), port(443)])))
        .build();
    assert!(permitted(&p, "connect tcp a.com:8000"));
    assert!(permitted(&p, "connect tcp a.com:8999"));
    assert!(!permitted(&p, "connect tcp a.com:7999"));
    assert!(!permitted(&p, "connect tcp a.com:9000"));
    assert!(permitted(&p, "connect tcp b.com:0"));
    assert!(permitted(&p, "connect tcp b.com:65535"));
    assert!(permitted(&p, "connect tcp c.com:80"));
    assert!(permitted(&p, "connect tcp c.com:443"));
    assert!(!permitted(&p, "connect tcp c.com:81"));
}

#[test]
fn protocols_tcp_udp_or_both() {
    let p = PolicyBuilder::new()
        .connect(Allow, Some(Proto::Tcp), endpoint(host("t.com"), port(1)))
        .connect(Allow, Some(Proto::Udp), endpoint(host("u.com"), port(1)))
        .connect(Allow, None, endpoint(host("b.com"), port(1)))
        .build();
    assert!(permitted(&p, "connect tcp t.com:1"));
    assert!(!permitted(&p, "connect udp t.com:1"));
    assert!(permitted(&p, "connect udp u.com:1"));
    assert!(!permitted(&p, "connect tcp u.com:1"));
    assert!(permitted(&p, "connect tcp b.com:1"));
    assert!(permitted(&p, "connect udp b.com:1"));
}

#[test]
fn endpoint_sets_are_products_of_hosts_and_ports() {
    let eps = Set::diff(
        Set::union([endpoint(hosts(&["a.com", "b.com"]), port(443)), endpoint(host("c.com"), ports(1, 100))]),
        endpoint(host("b.com"), any_port()),
    );
    let p = PolicyBuilder::new().connect(Allow, None, eps).build();
    assert!(permitted(&p, "connect tcp a.com:443"));
    assert!(!permitted(&p, "connect tcp a.com:80"));
    assert!(!permitted(&p, "connect tcp b.com:443"));
    assert!(permitted(&p, "connect udp c.com:100"));
    assert!(!permitted(&p, "connect udp c.com:443"));
}

// ---------------------------------------------------------------------------
// Decisions

#[test]
fn default_deny_with_no_covering_rule() {
    let empty = PolicyBuilder::new().build();
    for access in ["read /", "connect tcp a.com:1", "bind tcp 1", "camera", "clipboard read"] {
        let d = decide(&empty, access);
        assert!(!d.permitted && d.allows.is_empty() && d.denies.is_empty(), "{access}");
        assert!(d.deciding().is_empty());
    }
}

#[test]
fn deny_overrides_allow_and_every_covering_rule_is_listed() {
    let p = PolicyBuilder::new()
        .file(Allow, "read", under("/w"))
        .file(Deny, "read", path("/w/**/.env"))
        .file(Allow, "read, write", path("/w/*"))
        .file(Deny, "write", under("/"))
        .file(Deny, "read", path("/w/.env"))
        .build();
    let d = decide(&p, "read /w/.env");
    assert!(!d.permitted);
    assert_eq!(d.allows, [RuleRef::File(0), RuleRef::File(2)]);
    assert_eq!(d.denies, [RuleRef::File(1), RuleRef::File(4)]);
    assert_eq!(d.deciding(), [RuleRef::File(1), RuleRef::File(4)]);

    let d = decide(&p, "read /w/main.rs");
    assert!(d.permitted);
    assert_eq!(d.allows, [RuleRef::File(0), RuleRef::File(2)]);
    assert!(d.denies.is_empty());
    assert_eq!(d.deciding(), [RuleRef::File(0), RuleRef::File(2)]);

    let d = decide(&p, "write /w/main.rs");
    assert!(!d.permitted);
    assert_eq!((d.allows, d.denies), (vec![RuleRef::File(2)], vec![RuleRef::File(3)]));

    let d = decide(&p, "write /elsewhere");
    assert!(!d.permitted && d.allows.is_empty());
    assert_eq!(d.denies, [RuleRef::File(3)]);
}

#[test]
fn deny_overrides_allow_for_connect() {
    let p = PolicyBuilder::new()
        .connect(Allow, None, endpoint(builtin("internet"), any_port()))
        .connect(Deny, Some(Proto::Tcp), endpoint(host("*.evil.com"), any_port()))
        .build();
    assert!(permitted(&p, "connect tcp good.com:443"));
    let d = decide(&p, "connect tcp x.evil.com:443");
    assert!(!d.permitted);
    assert_eq!((d.allows, d.denies), (vec![RuleRef::Connect(0)], vec![RuleRef::Connect(1)]));
    assert!(permitted(&p, "connect udp x.evil.com:443"));
    assert!(!permitted(&p, "connect tcp 10.0.0.1:443"));
}

#[test]
fn bind_allow_without_from_covers_listening_and_every_peer() {
    let p = PolicyBuilder::new().bind(Allow, Some(Proto::Tcp), port(8080), None).build();
    assert!(permitted(&p, "bind tcp 8080"));
    assert!(permitted(&p, "bind tcp 8080 from 192.0.2.1"));
    assert!(permitted(&p, "bind tcp 8080 from example.com"));
    assert!(!permitted(&p, "bind tcp 8081"));
    assert!(!permitted(&p, "bind udp 8080"));
}

#[test]
fn bind_allow_with_from_covers_listening_and_only_its_peers() {
    let p = PolicyBuilder::new().bind(Allow, None, ports(8000, 8999), Some(host("192.0.2.0/24"))).build();
    assert!(permitted(&p, "bind tcp 8080"));
    assert!(permitted(&p, "bind udp 8999"));
    assert!(permitted(&p, "bind tcp 8080 from 192.0.2.1"));
    assert!(!permitted(&p, "bind tcp 8080 from 198.51.100.1"));
    assert!(!permitted(&p, "bind tcp 9000"));
}

#[test]
fn bind_deny_with_from_refuses_its_peers_but_not_listening() {
    let p = PolicyBuilder::new()
        .bind(Allow, None, any_port(), None)
        .bind(Deny, None, port(8080), Some(host("192.0.2.0/24")))
        .build();
    let d = decide(&p, "bind tcp 8080");
    assert!(d.permitted);
    assert_eq!((d.allows, d.denies), (vec![RuleRef::Bind(0)], vec![]));
    let d = decide(&p, "bind tcp 8080 from 192.0.2.7");
    assert!(!d.permitted);
    assert_eq!(d.denies, [RuleRef::Bind(1)]);
    assert!(permitted(&p, "bind tcp 8080 from 198.51.100.1"));
}

#[test]
fn bind_deny_without_from_refuses_listening_and_every_peer() {
    let p = PolicyBuilder::new()
        .bind(Allow, None, any_port(), None)
        .bind(Deny, Some(Proto::Udp), port(53), None)
        .build();
    assert!(!permitted(&p, "bind udp 53"));
    assert!(!permitted(&p, "bind udp 53 from 192.0.2.1"));
    assert!(permitted(&p, "bind tcp 53"));
    assert!(permitted(&p, "bind udp 54"));
}

#[test]
fn devices_and_modes() {
    let p = PolicyBuilder::new()
        .device(Allow, Device::Clipboard, None)
        .device(Deny, Device::Clipboard, Some(DeviceMode::Read))
        .device(Allow, Device::Screen, None)
        .device(Allow, Device::Camera, None)
        .device(Allow, Device::Microphone, None)
        .device(Deny, Device::Microphone, None)
        .build();
    assert!(permitted(&p, "clipboard write"));
    let d = decide(&p, "clipboard read");
    assert!(!d.permitted);
    assert_eq!((d.allows, d.denies), (vec![RuleRef::Device(0)], vec![RuleRef::Device(1)]));
    assert!(permitted(&p, "screen capture"));
    assert!(permitted(&p, "camera"));
    assert!(!permitted(&p, "microphone"));
    for no in ["input inject", "location", "browser", "windows"] {
        assert!(!permitted(&p, no), "{no}");
    }
    let write_only = PolicyBuilder::new().device(Allow, Device::Clipboard, Some(DeviceMode::Write)).build();
    assert!(permitted(&write_only, "clipboard write"));
    assert!(!permitted(&write_only, "clipboard read"));
}

#[test]
fn rule_refs_lead_back_to_their_origin() {
    let mut p = PolicyBuilder::new().file(Allow, "read", under("/")).build();
    p.files[0].origin.policy = "base".into();
    let d = decide(&p, "read /x");
    assert_eq!(d.allows[0].origin(&p).policy, "base");
    assert_eq!(RuleRef::Connect(7).origin(&p).policy, "");
    assert_eq!(RuleRef::File(0).effect(&p), Some(Allow));
    assert_eq!(RuleRef::Bind(0).effect(&p), None);
}

#[test]
fn malformed_access_paths_are_denied() {
    let p = PolicyBuilder::new().file(Allow, "read", under("/")).build();
    for path in ["relative", "/a/../b", "/a/", "/a//b"] {
        let access = Access::File { right: Right::Read, path: path.into() };
        assert!(!Evaluator::new(&p).decide(&access).permitted, "{path}");
        assert!(!is_permitted(&p, &access), "{path}");
    }
}

#[test]
fn large_policy_index_agrees_with_scan() {
    let mut b = PolicyBuilder::new();
    for i in 0..10_000 {
        let effect = if i % 7 == 0 { Deny } else { Allow };
        b = b.file(effect, "read, write", under(&format!("/home/u/p{i}")));
        b = b.connect(effect, None, endpoint(host(&format!("h{i}.example.com")), port(443)));
    }
    b = b.file(Deny, "write", path("/**/.git/hooks/*"));
    b = b.connect(Allow, None, endpoint(host("10.3.0.0/16"), any_port()));
    let p = b.build();
    let ev = Evaluator::new(&p);
    for access in [
        "read /home/u/p42/src/main.rs",
        "read /home/u/p49/x",
        "write /home/u/p1/.git/hooks/pre-commit",
        "read /home/u/p99999",
        "connect tcp h42.example.com:443",
        "connect tcp h49.example.com:443",
        "connect tcp 10.3.1.1:22",
        "connect tcp 10.4.1.1:22",
    ] {
        let a = Access::parse(access, HOME).unwrap();
        assert_eq!(ev.decide(&a), decide_by_scan(&p, &a), "{access}");
    }
    assert!(ev.is_permitted(&Access::parse("read /home/u/p43/src", HOME).unwrap()));
    assert!(!ev.is_permitted(&Access::parse("read /home/u/p49/src", HOME).unwrap()));
}
