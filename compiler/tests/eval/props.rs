//! Property tests where an oracle exists: the indexed evaluator against the
//! straight scan, the path matcher against a naive transcription of §3,
//! and `Access` text against its parser.

use std::fmt::Debug;

use corral_compiler::eval::glob::{expand_braces as expand_glob, matches_parts};
use corral_compiler::eval::{Access, Evaluator, Host, builtin_host_set, decide_by_scan};
use corral_compiler::ir::{
    BindRule, ConnectRule, Device, DeviceMode, DeviceRule, Effect, EndpointAtom, FileRule, HostAtom,
    PathPattern, Policy, PortRange, Proto, Protos, Right, Rights, Segment, Set,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::builder::{empty_policy, origin};

/// Segments of concrete paths: a small tree, with a dot-file and a
/// multi-byte character so that `*` and `?` meet both.
const PATH_SEGS: [&str; 5] = ["a", "b", ".d", "ab", "é"];

const GLOB_SEGS: [&str; 17] = [
    "a", "b", ".d", "ab", "*", "?", "a*", "*b", "{a,b*}", "{,.d}", "?b", "**", "**", "{é,?}", "*.d", "a?",
    "*a*",
];

fn join(segs: &[&str]) -> String {
    if segs.is_empty() { "/".into() } else { segs.iter().map(|s| format!("/{s}")).collect() }
}

fn path_text() -> impl Strategy<Value = String> {
    vec(select(PATH_SEGS.to_vec()), 0..5).prop_map(|segs| join(&segs))
}

fn pattern_text() -> impl Strategy<Value = String> {
    vec(select(GLOB_SEGS.to_vec()), 0..5).prop_map(|segs| join(&segs))
}

// ---------------------------------------------------------------------------
// A naive reference for path matching, written from §3 and the pattern's
// text (not the IR), exponential but fine on tiny inputs.

/// The brace-free forms of one segment.
fn expand_braces(seg: &str) -> Vec<String> {
    let Some(open) = seg.find('{') else { return vec![seg.to_owned()] };
    let close = open + seg[open..].find('}').unwrap();
    let (head, alts, tail) = (&seg[..open], &seg[open + 1..close], &seg[close + 1..]);
    let mut out = Vec::new();
    for alt in alts.split(',') {
        for rest in expand_braces(tail) {
            out.push(format!("{head}{alt}{rest}"));
        }
    }
    out
}

fn glob_ref(p: &[char], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|k| glob_ref(rest, &s[k..])),
        Some(('?', rest)) => !s.is_empty() && glob_ref(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob_ref(rest, &s[1..]),
    }
}

fn segments_ref(p: &[&str], s: &[&str]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((&"**", [])) => !s.is_empty(),
        Some((&"**", rest)) => (0..=s.len()).any(|k| segments_ref(rest, &s[k..])),
        Some((seg, rest)) => {
            let Some((first, tail)) = s.split_first() else { return false };
            let text: Vec<char> = first.chars().collect();
            expand_braces(seg).iter().any(|alt| {
                let alt: Vec<char> = alt.chars().collect();
                glob_ref(&alt, &text)
            }) && segments_ref(rest, tail)
        }
    }
}

fn split(text: &str) -> Vec<&str> {
    if text == "/" { Vec::new() } else { text[1..].split('/').collect() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn path_matching_agrees_with_the_naive_reference(
        pattern in pattern_text(),
        paths in vec(path_text(), 8),
    ) {
        let compiled = PathPattern::parse(&pattern, "/h").unwrap();
        for path in paths {
            let expected = segments_ref(&split(&pattern), &split(&path));
            prop_assert_eq!(compiled.matches(&path), expected, "`{}` vs `{}`", pattern, path);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Globs of several stars and `?` within one segment, against texts
    /// with a multi-byte character: the brace-free fast path and the
    /// automaton both agree with the reference.
    #[test]
    fn segment_globs_agree_with_the_naive_reference(
        glob in vec(select(vec!['a', 'b', 'é', '*', '?', '.']), 1..9),
        texts in vec(vec(select(vec!['a', 'b', 'é', '.']), 1..9), 8),
    ) {
        let glob: String = glob.into_iter().collect();
        prop_assume!(!glob.contains("**") && glob != "." );
        let Ok(pattern) = PathPattern::parse(&format!("/{glob}"), "/h") else { return Ok(()) };
        let with_braces = PathPattern::parse(&format!("/{{{glob},{glob}}}"), "/h").unwrap();
        let g: Vec<char> = glob.chars().collect();
        for text in texts {
            let text: String = text.into_iter().collect();
            if text == "." || text == ".." {
                continue;
            }
            let expected = glob_ref(&g, &text.chars().collect::<Vec<_>>());
            let path = format!("/{text}");
            prop_assert_eq!(pattern.matches(&path), expected, "`{}` vs `{}`", glob, text);
            prop_assert_eq!(with_braces.matches(&path), expected, "braces: `{}` vs `{}`", glob, text);
            if let Some(Segment::Glob(parts)) = with_braces.segments.first() {
                let expanded = expand_glob(parts, 8).unwrap();
                prop_assert_eq!(expanded.iter().any(|g| matches_parts(g, &text)), expected, "expanded: `{}`", glob);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Random policies and accesses.

/// Sets over `leaf` with unions, intersections and differences.
fn set_of<A: Clone + Debug + 'static>(leaf: BoxedStrategy<Set<A>>) -> BoxedStrategy<Set<A>> {
    let leaf = prop_oneof![12 => leaf, 1 => Just(Set::Empty)];
    leaf.prop_recursive(3, 10, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 1..4).prop_map(Set::Union),
            vec(inner.clone(), 1..3).prop_map(Set::Inter),
            (inner.clone(), inner).prop_map(|(a, b)| Set::Diff(Box::new(a), Box::new(b))),
        ]
    })
    .boxed()
}

fn path_set() -> BoxedStrategy<Set<PathPattern>> {
    set_of(pattern_text().prop_map(|t| Set::Atom(PathPattern::parse(&t, "/h").unwrap())).boxed())
}

const HOST_ATOMS: [&str; 16] = [
    "a.com",
    "b.a.com",
    "c.b.a.com",
    "x.org",
    "*.a.com",
    "*.b.a.com",
    "*.com",
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.3",
    "::1",
    "fc00::/7",
    "2001:db8::/32",
    "0.0.0.0/0",
    "::/0",
    "::ffff:10.1.0.0/112",
];

fn host_set() -> BoxedStrategy<Set<HostAtom>> {
    let leaf = prop_oneof![
        8 => select(HOST_ATOMS.to_vec()).prop_map(|h| Set::Atom(HostAtom::parse(h).unwrap())),
        1 => Just(Set::Atom(HostAtom::AnyName)),
        1 => Just(Set::Atom(HostAtom::AnyAddr)),
        2 => select(vec!["loopback", "private", "linklocal", "internet", "any"])
            .prop_map(|n| builtin_host_set(n).unwrap()),
    ];
    set_of(leaf.boxed())
}

const RANGES: [(u16, u16); 6] = [(0, 0), (80, 80), (443, 443), (80, 443), (0, 65535), (1000, 9000)];

fn port_set() -> BoxedStrategy<Set<PortRange>> {
    set_of(select(RANGES.to_vec()).prop_map(|(lo, hi)| Set::Atom(PortRange { lo, hi })).boxed())
}

fn endpoint_set() -> BoxedStrategy<Set<EndpointAtom>> {
    let leaf =
        (host_set(), port_set()).prop_map(|(hosts, ports)| Set::Atom(EndpointAtom { hosts, ports })).boxed();
    let leaf = prop_oneof![12 => leaf, 1 => Just(Set::Empty)];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 1..3).prop_map(Set::Union),
            vec(inner.clone(), 2..3).prop_map(Set::Inter),
            (inner.clone(), inner).prop_map(|(a, b)| Set::Diff(Box::new(a), Box::new(b))),
        ]
    })
    .boxed()
}

fn effect() -> impl Strategy<Value = Effect> {
    prop_oneof![3 => Just(Effect::Allow), 2 => Just(Effect::Deny)]
}

fn proto() -> impl Strategy<Value = Proto> {
    prop_oneof![Just(Proto::Tcp), Just(Proto::Udp)]
}

fn protos() -> impl Strategy<Value = Protos> {
    proptest::option::of(proto()).prop_map(Protos::from_option)
}

fn device() -> impl Strategy<Value = Device> {
    select(Device::ALL.to_vec())
}

fn policy() -> impl Strategy<Value = Policy> {
    let file = (effect(), 1u8..64, path_set()).prop_map(|(effect, mask, paths)| FileRule {
        effect,
        rights: Rights(mask),
        paths,
        origin: origin(),
    });
    let connect = (effect(), protos(), endpoint_set()).prop_map(|(effect, protos, endpoints)| ConnectRule {
        effect,
        protos,
        endpoints,
        origin: origin(),
    });
    let bind = (effect(), protos(), port_set(), proptest::option::of(host_set()))
        .prop_map(|(effect, protos, ports, from)| BindRule { effect, protos, ports, from, origin: origin() });
    let dev = (effect(), device(), any::<u8>()).prop_map(|(effect, device, mask)| {
        let modes = DeviceMode::modes_of(device)
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, m)| *m)
            .collect();
        DeviceRule { effect, device, modes, origin: origin() }
    });
    (vec(file, 0..12), vec(connect, 0..8), vec(bind, 0..5), vec(dev, 0..5)).prop_map(
        |(files, connects, binds, devices)| Policy { files, connects, binds, devices, ..empty_policy() },
    )
}

const HOSTS: [&str; 17] = [
    "a.com",
    "b.a.com",
    "c.b.a.com",
    "d.c.b.a.com",
    "com",
    "x.org",
    "localhost",
    "y.localhost",
    "10.1.2.3",
    "10.2.0.1",
    "::ffff:10.1.2.3",
    "::1",
    "fc00::5",
    "2001:db8::1",
    "8.8.8.8",
    "127.0.0.1",
    "169.254.1.1",
];

const PORTS: [u16; 7] = [0, 80, 443, 444, 1000, 8080, 65535];

fn host() -> impl Strategy<Value = Host> {
    select(HOSTS.to_vec()).prop_map(|h| Host::parse(h).unwrap())
}

fn access() -> impl Strategy<Value = Access> {
    let port = || select(PORTS.to_vec());
    let all_modes =
        vec![DeviceMode::Read, DeviceMode::Write, DeviceMode::Capture, DeviceMode::Inject, DeviceMode::Use];
    prop_oneof![
        4 => (select(Right::ALL.to_vec()), path_text())
            .prop_map(|(right, path)| Access::File { right, path }),
        3 => (proto(), host(), port())
            .prop_map(|(proto, host, port)| Access::Connect { proto, host, port }),
        2 => (proto(), port(), proptest::option::of(host()))
            .prop_map(|(proto, port, peer)| Access::Bind { proto, port, peer }),
        1 => (device(), select(all_modes))
            .prop_map(|(device, mode)| Access::Device { device, mode }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2500))]

    #[test]
    fn indexed_decide_equals_straight_scan(policy in policy(), accesses in vec(access(), 16)) {
        let evaluator = Evaluator::new(&policy);
        for access in &accesses {
            let indexed = evaluator.decide(access);
            let scanned = decide_by_scan(&policy, access);
            prop_assert_eq!(&indexed, &scanned, "access `{}`", access);
            prop_assert_eq!(
                indexed.permitted,
                !indexed.allows.is_empty() && indexed.denies.is_empty()
            );
        }
    }

    #[test]
    fn access_text_parses_back_to_the_access(access in access()) {
        // Device modes the device lacks have no text; skip them.
        if let Access::Device { device, mode } = &access {
            prop_assume!(DeviceMode::modes_of(*device).contains(mode));
        }
        let text = access.to_string();
        prop_assert_eq!(Access::parse(&text, "/h").unwrap(), access, "`{}`", text);
    }
}
