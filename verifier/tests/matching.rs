//! Hand cases for every matching rule of LANGUAGE.md §3, asked of the
//! verifier both ways: "is this access permitted" (checked against the
//! evaluator too) and "find an access in this set" (checked for the shape
//! of the witness).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{access, policy};
use corral_compiler::eval::{Access, Host, is_permitted};
use corral_compiler::ir::{Policy, Right};
use corral_verifier::{Kind, Literal, Outcome, Query, Solver};

fn solver() -> Solver {
    Solver::new(30_000)
}

/// The verifier's verdict on `text` under `p`, after checking that it is
/// the evaluator's and that the opposite query agrees.
fn permits(p: &Policy, text: &str) -> bool {
    let a = access(text);
    let kind = Kind::of_access(&a);
    let ask = |lit| solver().search(&Query { kind, literals: vec![Literal::Is(a.clone()), lit] });
    let yes = ask(Literal::Permitted { policy: p, right: None });
    let no = ask(Literal::NotPermitted { policy: p, right: None });
    let verdict = match (&yes, &no) {
        (Outcome::Found(_), Outcome::NotFound) => true,
        (Outcome::NotFound, Outcome::Found(_)) => false,
        other => panic!("`{text}`: {other:?}"),
    };
    assert_eq!(verdict, is_permitted(p, &a), "`{text}`: the verifier and the evaluator disagree");
    verdict
}

/// Some access of `kind` that `p` permits, or `None`.
fn any_permitted(p: &Policy, kind: Kind) -> Option<Access> {
    match solver().search(&Query { kind, literals: vec![Literal::Permitted { policy: p, right: None }] }) {
        Outcome::Found(a) => Some(a),
        Outcome::NotFound => None,
        other => panic!("{other:?}"),
    }
}

fn file_witness(p: &Policy) -> String {
    match any_permitted(p, Kind::File) {
        Some(Access::File { path, .. }) => path,
        other => panic!("{other:?}"),
    }
}

#[test]
fn star_stays_in_one_segment_and_matches_dot_files() {
    let p = policy(r#"allow read "/a/*""#);
    assert!(permits(&p, "read /a/x"));
    assert!(permits(&p, "read /a/.hidden"));
    assert!(!permits(&p, "read /a/x/y"));
    assert!(!permits(&p, "read /a"));
    let p = policy(r#"allow read "/a/x*y""#);
    assert!(permits(&p, "read /a/xy"));
    assert!(permits(&p, "read /a/x-y"));
    assert!(!permits(&p, "read /a/x/y"));
}

#[test]
fn question_mark_is_one_character() {
    let p = policy(r#"allow read "/?""#);
    assert!(permits(&p, "read /a"));
    assert!(permits(&p, "read /é"));
    assert!(!permits(&p, "read /ab"));
    assert!(!permits(&p, "read /"));
}

#[test]
fn braces_are_alternatives_with_globs_inside() {
    let p = policy(r#"allow read "/a/{x*,y?}z""#);
    assert!(permits(&p, "read /a/xqqz"));
    assert!(permits(&p, "read /a/yqz"));
    assert!(!permits(&p, "read /a/yqqz"));
    let p = policy(r#"allow read "/a/b{,.bak}""#);
    assert!(permits(&p, "read /a/b"));
    assert!(permits(&p, "read /a/b.bak"));
    assert!(!permits(&p, "read /a/b.ba"));
}

#[test]
fn double_star_at_start_middle_and_end() {
    let p = policy(r#"allow read "/**/.env""#);
    assert!(permits(&p, "read /.env"));
    assert!(permits(&p, "read /a/b/.env"));
    assert!(!permits(&p, "read /a/.env/x"));
    let p = policy(r#"allow read "/a/**/b""#);
    assert!(permits(&p, "read /a/b"));
    assert!(permits(&p, "read /a/x/y/b"));
    assert!(!permits(&p, "read /a/x/y"));
    let p = policy(r#"allow read "/a/**""#);
    assert!(permits(&p, "read /a/x"));
    assert!(permits(&p, "read /a/x/y/z"));
    assert!(!permits(&p, "read /a"));
    // `under` adds the directory itself.
    let p = policy(r#"allow read under "/a""#);
    assert!(permits(&p, "read /a"));
    assert!(permits(&p, "read /a/b/c"));
    assert!(!permits(&p, "read /ab"));
}

#[test]
fn the_root_and_under_root() {
    let p = policy(r#"allow list "/""#);
    assert!(permits(&p, "list /"));
    assert!(!permits(&p, "list /a"));
    assert_eq!(file_witness(&p), "/");
    let p = policy(r#"allow list "/**""#);
    assert!(!permits(&p, "list /"));
    assert!(permits(&p, "list /a"));
    let p = policy(r#"allow list under "/""#);
    assert!(permits(&p, "list /"));
    assert!(permits(&p, "list /x/y"));
}

#[test]
fn matching_is_case_sensitive() {
    let p = policy(r#"allow read "/Home/*.TXT""#);
    assert!(permits(&p, "read /Home/a.TXT"));
    assert!(!permits(&p, "read /home/a.TXT"));
    assert!(!permits(&p, "read /Home/a.txt"));
}

#[test]
fn deny_wins_and_rights_are_separate() {
    let p = policy("allow read, write under \"/w\"\ndeny write \"/w/**/*.lock\"\nreadonly \"/w/Cargo.toml\"");
    assert!(permits(&p, "write /w/src/main.rs"));
    assert!(!permits(&p, "write /w/a/b.lock"));
    assert!(permits(&p, "read /w/a/b.lock"));
    assert!(!permits(&p, "write /w/Cargo.toml"));
    assert!(permits(&p, "list /w/Cargo.toml"));
    assert!(!permits(&p, "exec /w/x"));
}

#[test]
fn a_witness_avoids_every_deny() {
    // The only permitted files are below /a but outside /a/x and /a/y.
    let p = policy("allow read \"/a/**\"\ndeny read \"/a/{x,y}\"\ndeny read \"/a/*/**\"");
    let path = file_witness(&p);
    assert!(path.starts_with("/a/") && !["/a/x", "/a/y"].contains(&path.as_str()), "{path}");
    assert_eq!(path.matches('/').count(), 2, "{path}");
    // Everything below /a is denied but /a itself is allowed only by `under`.
    let p = policy("allow read under \"/a\"\ndeny read \"/a/**\"");
    assert_eq!(file_witness(&p), "/a");
    let p = policy("allow read \"/a/**\"\ndeny read under \"/a\"");
    assert_eq!(any_permitted(&p, Kind::File), None);
}

#[test]
fn names_and_subdomains_at_any_depth() {
    let p = policy(r#"allow connect tcp "*.example.com":443"#);
    assert!(permits(&p, "connect tcp a.example.com:443"));
    assert!(permits(&p, "connect tcp a.b.c.example.com:443"));
    assert!(!permits(&p, "connect tcp example.com:443"));
    assert!(!permits(&p, "connect tcp badexample.com:443"));
    assert!(!permits(&p, "connect udp a.example.com:443"));
    assert!(permits(&p, "connect tcp A.Example.COM:443"));
    match any_permitted(&p, Kind::Connect) {
        Some(Access::Connect { host: Host::Name(n), port: 443, .. }) => {
            assert!(n.ends_with(".example.com"), "{n}");
            assert_eq!(Host::parse(&n).unwrap(), Host::Name(n.clone()));
        }
        other => panic!("{other:?}"),
    }
    // A deny of one subdomain level leaves the deeper ones.
    let p =
        policy("allow connect \"*.a.com\":80\ndeny connect \"*.b.a.com\":80\ndeny connect \"x.a.com\":80");
    assert!(permits(&p, "connect tcp y.a.com:80"));
    assert!(!permits(&p, "connect tcp z.b.a.com:80"));
    assert!(!permits(&p, "connect tcp x.a.com:80"));
    assert!(permits(&p, "connect tcp b.a.com:80"));
}

#[test]
fn cidrs_v4_v6_and_mapped() {
    let p = policy(
        "allow connect \"10.0.0.0/8\":53\nallow connect \"2001:db8::/32\":53\ndeny connect \"10.1.0.0/16\":53",
    );
    assert!(permits(&p, "connect udp 10.2.3.4:53"));
    assert!(permits(&p, "connect udp [::ffff:10.2.3.4]:53"));
    assert!(!permits(&p, "connect udp 10.1.3.4:53"));
    assert!(!permits(&p, "connect udp 11.0.0.1:53"));
    assert!(permits(&p, "connect udp [2001:db8:ffff::1]:53"));
    assert!(!permits(&p, "connect udp [2001:db9::1]:53"));
    // A name never matches a CIDR.
    assert!(!permits(&p, "connect udp ten.example:53"));
    let p = policy("allow connect \"::ffff:10.0.0.1\":80");
    assert!(permits(&p, "connect tcp 10.0.0.1:80"));
}

#[test]
fn builtin_host_sets() {
    let p = policy("allow connect internet:443");
    assert!(permits(&p, "connect tcp 8.8.8.8:443"));
    assert!(permits(&p, "connect tcp example.org:443"));
    assert!(!permits(&p, "connect tcp 10.0.0.1:443"));
    assert!(!permits(&p, "connect tcp 127.0.0.1:443"));
    assert!(!permits(&p, "connect tcp [::1]:443"));
    assert!(!permits(&p, "connect tcp [fe80::1]:443"));
    assert!(!permits(&p, "connect tcp localhost:443"));
    assert!(!permits(&p, "connect tcp a.localhost:443"));
    assert!(!permits(&p, "connect tcp 100.64.0.1:443"));
    let p = policy("allow connect loopback:*");
    assert!(permits(&p, "connect tcp 127.255.0.1:1"));
    assert!(permits(&p, "connect udp x.localhost:0"));
}

#[test]
fn port_edges() {
    let p = policy("allow connect \"a.com\":(0 | 65535 | 8000..8999)");
    for (port, ok) in [
        (0, true),
        (1, false),
        (65535, true),
        (65534, false),
        (8000, true),
        (8999, true),
        (7999, false),
        (9000, false),
    ] {
        assert_eq!(permits(&p, &format!("connect tcp a.com:{port}")), ok, "{port}");
    }
    let p = policy("allow connect \"a.com\":*\ndeny connect tcp \"a.com\":22");
    assert!(permits(&p, "connect udp a.com:22"));
    assert!(!permits(&p, "connect tcp a.com:22"));
}

#[test]
fn bind_peers() {
    let p = policy("allow bind tcp 8000..8999 from loopback\ndeny bind tcp 8080 from \"127.0.0.2\"");
    // Listening at all: allowed by an allow with `from`; a deny with `from` does not refuse it.
    assert!(permits(&p, "bind tcp 8080"));
    assert!(permits(&p, "bind tcp 8080 from 127.0.0.1"));
    assert!(!permits(&p, "bind tcp 8080 from 127.0.0.2"));
    assert!(!permits(&p, "bind tcp 8080 from 192.0.2.1"));
    assert!(!permits(&p, "bind udp 8080"));
    let p = policy("allow bind 53\ndeny bind 53");
    assert!(!permits(&p, "bind udp 53"));
    assert!(!permits(&p, "bind udp 53 from 10.0.0.1"));
    let p = policy("allow bind 53\ndeny bind 53 from private");
    assert!(permits(&p, "bind udp 53"));
    assert!(!permits(&p, "bind udp 53 from 10.0.0.1"));
    assert!(permits(&p, "bind udp 53 from 8.8.8.8"));
}

#[test]
fn devices_and_modes() {
    let p = policy("allow clipboard\ndeny clipboard read\nallow screen\nallow camera");
    assert!(permits(&p, "clipboard write"));
    assert!(!permits(&p, "clipboard read"));
    assert!(permits(&p, "screen capture"));
    assert!(permits(&p, "camera"));
    assert!(!permits(&p, "microphone"));
    assert!(!permits(&p, "input inject"));
}

#[test]
fn another_right_on_the_same_path() {
    // Executable and writable: the exec_writable safety check's question.
    let p = policy(
        "allow exec under \"/opt/tools\"\nallow write \"/opt/tools/**/*.sh\"\nallow write \"/tmp/**\"",
    );
    let q = Query {
        kind: Kind::File,
        literals: vec![
            Literal::Permitted { policy: &p, right: Some(Right::Exec) },
            Literal::Permitted { policy: &p, right: Some(Right::Write) },
        ],
    };
    match solver().search(&q) {
        Outcome::Found(Access::File { path, .. }) => {
            assert!(path.starts_with("/opt/tools/") && path.ends_with(".sh"), "{path}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_accesses_are_outside_the_domain() {
    let p = policy("allow read under \"/\"");
    for path in ["/a/../b", "/a//b", "/a/", "a", "/a/./b"] {
        let a = Access::File { right: Right::Read, path: path.into() };
        for lit in [
            Literal::Permitted { policy: &p, right: None },
            Literal::NotPermitted { policy: &p, right: None },
        ] {
            let q = Query { kind: Kind::File, literals: vec![Literal::Is(a.clone()), lit] };
            assert_eq!(solver().search(&q), Outcome::NotFound, "{path}");
        }
    }
}

#[test]
fn literals_of_another_kind_hold_no_access() {
    let p = policy("allow read under \"/\"\nallow connect any:*");
    let file_rule = corral_compiler::eval::RuleRef::File(0);
    let q = Query { kind: Kind::Connect, literals: vec![Literal::Covered { policy: &p, rule: file_rule }] };
    assert_eq!(solver().search(&q), Outcome::NotFound);
    let q =
        Query { kind: Kind::Connect, literals: vec![Literal::NotCovered { policy: &p, rule: file_rule }] };
    assert!(matches!(solver().search(&q), Outcome::Found(Access::Connect { .. })));
}

#[test]
fn smtlib_declares_the_access_and_checks() {
    let p = policy("allow connect tcp \"*.example.com\":443");
    let q = Query { kind: Kind::Connect, literals: vec![Literal::Permitted { policy: &p, right: None }] };
    let text = solver().smtlib(&q);
    for needle in [
        "(declare-fun port () (_ BitVec 16))",
        "host_name_class",
        "; name class 0: x.example.com",
        "(check-sat)",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    let p = policy("allow read \"/a/*.rs\"");
    let q = Query { kind: Kind::File, literals: vec![Literal::Permitted { policy: &p, right: None }] };
    let text = solver().smtlib(&q);
    assert!(text.contains("(declare-fun path () String)") && text.contains("str.in_re"), "{text}");
}

#[test]
fn running_out_of_time_is_unknown_never_not_found() {
    let text = corral_benches::generate_policy(3_000);
    let program = common::program(&text);
    let p = program.policy(corral_benches::POLICY).unwrap();
    let q = Query {
        kind: Kind::File,
        literals: vec![
            Literal::Permitted { policy: p, right: Some(Right::Exec) },
            Literal::Permitted { policy: p, right: Some(Right::Write) },
        ],
    };
    let outcome = Solver::new(1).search(&q);
    assert!(matches!(outcome, Outcome::Unknown(_) | Outcome::Found(_)), "{outcome:?}");
    // With time, the witness exists.
    assert!(matches!(Solver::new(0).search(&q), Outcome::Found(_)));
}
