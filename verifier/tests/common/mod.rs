//! Helpers shared by the verifier's tests: compiling policy text to IR.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use corral_compiler::eval::Access;
use corral_compiler::ir::{Policy, Program};
use corral_compiler::{Options, compile_source};

pub const HOME: &str = "/home/u";

/// Compiles `text` (one file) and panics on errors.
pub fn program(text: &str) -> Program {
    let options = Options { home: HOME.into(), ..Default::default() };
    let compiled = compile_source("test.corral", text, None, &options);
    assert!(!compiled.has_errors(), "{text}\n{:#?}", compiled.diagnostics);
    compiled.program
}

/// The one policy `p` with `body` as its statements.
pub fn policy(body: &str) -> Policy {
    let text = format!("policy p {{\n{body}\n}}\n");
    program(&text).policies.into_iter().find(|p| p.name == "p").unwrap()
}

pub fn access(text: &str) -> Access {
    Access::parse(text, HOME).unwrap()
}

/// A small deterministic generator (splitmix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Segment texts of generated paths and patterns: a small alphabet, so
/// that random paths hit random patterns often.
const SEGS: [&str; 7] = ["a", "b", "ab", ".x", "ba", "a.b", "B"];
const GLOBS: [&str; 12] = ["*", "a*", "*b", "?", "??", "{a,b}", "a?", "*.b", "{a*,*x}", "{,a}b", ".*", "*a*"];
const RIGHTS: [&str; 6] = ["read", "list", "write", "create", "delete", "exec"];
const NAMES: [&str; 7] = ["a.com", "b.a.com", "x.b.a.com", "b.com", "localhost", "a.localhost", "x"];
const WILDS: [&str; 4] = ["*.a.com", "*.com", "*.b.a.com", "*.localhost"];
const CIDRS: [&str; 10] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.3",
    "127.0.0.1",
    "::1",
    "fc00::/7",
    "2001:db8::/32",
    "0.0.0.0/0",
    "::/0",
    "192.168.0.0/16",
];
const BUILTINS: [&str; 5] = ["loopback", "private", "linklocal", "internet", "any"];
const ADDRS: [&str; 12] = [
    "10.1.2.3",
    "10.2.0.1",
    "127.0.0.1",
    "::1",
    "fc00::1",
    "fd12::5",
    "2001:db8::1",
    "8.8.8.8",
    "::ffff:10.1.2.3",
    "169.254.1.1",
    "192.168.1.1",
    "2001:db9::1",
];
const PORTS: [&str; 7] = ["80", "443", "8000..8999", "*", "0", "65535", "22..443"];
const ACCESS_PORTS: [u16; 9] = [80, 443, 8000, 8500, 8999, 9000, 0, 65535, 22];
const DEVICES: [&str; 10] = [
    "clipboard",
    "clipboard read",
    "clipboard write",
    "screen",
    "screen capture",
    "input inject",
    "camera",
    "microphone",
    "location",
    "browser",
];

fn path_pattern(rng: &mut Rng) -> String {
    let depth = rng.below(4);
    if depth == 0 && rng.chance(30) {
        return "\"/\"".into();
    }
    let mut segs = Vec::new();
    for i in 0..depth.max(1) {
        let roll = rng.below(10);
        segs.push(if roll < 5 {
            (*rng.pick(&SEGS)).to_owned()
        } else if roll < 8 {
            (*rng.pick(&GLOBS)).to_owned()
        } else if i > 0 || rng.chance(50) {
            "**".to_owned()
        } else {
            (*rng.pick(&SEGS)).to_owned()
        });
    }
    let text = format!("\"/{}\"", segs.join("/"));
    if rng.chance(15) { format!("under {text}") } else { text }
}

fn host_atom(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("\"{}\"", rng.pick(&NAMES)),
        1 => format!("\"{}\"", rng.pick(&WILDS)),
        2 => format!("\"{}\"", rng.pick(&CIDRS)),
        _ => (*rng.pick(&BUILTINS)).to_owned(),
    }
}

/// A set expression of `atom`s with unions, intersections, differences and
/// lists, at most `depth` deep.
fn set_expr(rng: &mut Rng, depth: usize, atom: &mut dyn FnMut(&mut Rng) -> String) -> String {
    if depth == 0 || rng.chance(50) {
        return atom(rng);
    }
    let a = set_expr(rng, depth - 1, atom);
    let b = set_expr(rng, depth - 1, atom);
    match rng.below(4) {
        0 => format!("({a} | {b})"),
        1 => format!("({a} & {b})"),
        2 => format!("({a} - {b})"),
        _ => format!("[{a}, {b}]"),
    }
}

fn rights(rng: &mut Rng) -> String {
    let n = 1 + rng.below(3);
    let mut picked: Vec<&str> = (0..n).map(|_| *rng.pick(&RIGHTS)).collect();
    picked.sort_unstable();
    picked.dedup();
    picked.join(", ")
}

fn proto(rng: &mut Rng) -> &'static str {
    ["", "tcp ", "udp "][rng.below(3)]
}

/// One random rule statement.
pub fn rule(rng: &mut Rng) -> String {
    let effect = if rng.chance(60) { "allow" } else { "deny" };
    match rng.below(10) {
        0..=4 => format!("{effect} {} {}", rights(rng), set_expr(rng, 2, &mut path_pattern)),
        5 => format!("readonly {}", set_expr(rng, 1, &mut path_pattern)),
        6 | 7 => {
            let hosts = set_expr(rng, 2, &mut host_atom);
            let ports = rng.pick(&PORTS);
            format!("{effect} connect {}({hosts}):({ports})", proto(rng))
        }
        8 => {
            let ports = rng.pick(&PORTS);
            let from = if rng.chance(50) {
                format!(" from {}", set_expr(rng, 1, &mut host_atom))
            } else {
                String::new()
            };
            format!("{effect} bind {}{ports}{from}", proto(rng))
        }
        _ => format!("{effect} {}", rng.pick(&DEVICES)),
    }
}

/// A random file of two policies, `base` and `p extends base`, with
/// `rules` rules in all.
pub fn policy_source(rng: &mut Rng, rules: usize) -> String {
    let split = rng.below(rules + 1);
    let body = |rng: &mut Rng, n: usize| (0..n).map(|_| format!("    {}\n", rule(rng))).collect::<String>();
    let base = body(rng, split);
    let own = body(rng, rules - split);
    format!("policy base {{\n{base}}}\n\npolicy p extends base {{\n{own}}}\n")
}

fn concrete_path(rng: &mut Rng) -> String {
    const PATH_SEGS: [&str; 10] = ["a", "b", "ab", ".x", "ba", "a.b", "B", "zz", "x", "bab"];
    let depth = rng.below(5);
    let segs: Vec<&str> = (0..depth).map(|_| *rng.pick(&PATH_SEGS)).collect();
    format!("/{}", segs.join("/"))
}

fn concrete_host(rng: &mut Rng) -> String {
    if rng.chance(50) {
        (*rng.pick(&NAMES)).to_owned()
    } else {
        let a = *rng.pick(&ADDRS);
        if a.contains(':') { format!("[{a}]") } else { a.to_owned() }
    }
}

/// A random concrete access, in the command-line syntax.
pub fn access_text(rng: &mut Rng) -> String {
    let proto = ["tcp", "udp"][rng.below(2)];
    match rng.below(10) {
        0..=4 => format!("{} {}", rng.pick(&RIGHTS), concrete_path(rng)),
        5 | 6 => format!("connect {proto} {}:{}", concrete_host(rng), rng.pick(&ACCESS_PORTS)),
        7 | 8 => {
            let port = rng.pick(&ACCESS_PORTS);
            if rng.chance(50) {
                let peer = concrete_host(rng).trim_start_matches('[').trim_end_matches(']').to_owned();
                format!("bind {proto} {port} from {peer}")
            } else {
                format!("bind {proto} {port}")
            }
        }
        _ => (*rng.pick(&[
            "clipboard read",
            "clipboard write",
            "screen capture",
            "input inject",
            "camera",
            "browser",
        ]))
        .to_owned(),
    }
}

/// Compiles generated source; `None` when it does not compile (a random
/// set can be malformed, e.g. an empty port range).
pub fn try_program(text: &str) -> Option<Program> {
    let options = Options { home: HOME.into(), ..Default::default() };
    let compiled = compile_source("gen.corral", text, None, &options);
    (!compiled.has_errors()).then_some(compiled.program)
}

use corral_compiler::eval::Host;
use corral_compiler::ir::{Effect, GlobPart, HostAtom, HostSet, PortSet, Segment, Set};

fn pick_atom<'a, A>(rng: &mut Rng, set: &'a Set<A>) -> Option<&'a A> {
    let atoms = set.atoms();
    (!atoms.is_empty()).then(|| *rng.pick(&atoms))
}

fn glob_text(rng: &mut Rng, parts: &[GlobPart], out: &mut String) {
    for part in parts {
        match part {
            GlobPart::Literal(l) => out.push_str(l),
            GlobPart::Star => out.push_str(["", "a", "x", "ab"][rng.below(4)]),
            GlobPart::Question => out.push_str(["a", "b", "x"][rng.below(3)]),
            GlobPart::Alternatives(alts) => {
                if !alts.is_empty() {
                    let alt = &alts[rng.below(alts.len())];
                    glob_text(rng, alt, out);
                }
            }
        }
    }
}

fn host_in(rng: &mut Rng, set: &HostSet) -> Host {
    match pick_atom(rng, set) {
        Some(HostAtom::Name(n)) => Host::Name(n.clone()),
        Some(HostAtom::Subdomains(s)) => Host::Name(format!("{}.{s}", ["x", "b", "a"][rng.below(3)])),
        Some(HostAtom::Cidr(c)) => {
            let span = c.last() - c.first();
            let offset = [0, 1, span / 2, span][rng.below(4)].min(span);
            Host::Addr(c.first() + offset)
        }
        Some(HostAtom::AnyName) => Host::Name((*rng.pick(&NAMES)).to_owned()),
        _ => Host::parse(ADDRS[rng.below(ADDRS.len())]).unwrap(),
    }
}

fn port_in(rng: &mut Rng, set: &PortSet) -> u16 {
    match pick_atom(rng, set) {
        Some(r) => [r.lo, r.hi, r.lo / 2 + r.hi / 2][rng.below(3)],
        None => 80,
    }
}

/// An access built from one of `policy`'s allow rules: likely, not
/// certainly, permitted (a deny or a set difference may remove it). `None`
/// when the rule yields no well-formed access.
pub fn access_near(rng: &mut Rng, policy: &Policy) -> Option<Access> {
    use corral_compiler::ir::Proto;
    let proto =
        |rng: &mut Rng, protos: corral_compiler::ir::Protos| match (protos.tcp, protos.udp, rng.chance(50)) {
            (true, false, _) | (true, true, true) => Proto::Tcp,
            _ => Proto::Udp,
        };
    match rng.below(4) {
        0 => {
            let rules: Vec<_> = policy.files.iter().filter(|r| r.effect == Effect::Allow).collect();
            let rule = *rules.get(rng.below(rules.len().max(1)))?;
            let pattern = pick_atom(rng, &rule.paths)?;
            let mut segs = Vec::new();
            let n = pattern.segments.len();
            for (i, seg) in pattern.segments.iter().enumerate() {
                match seg {
                    Segment::Literal(l) => segs.push(l.clone()),
                    Segment::Glob(parts) => {
                        let mut text = String::new();
                        glob_text(rng, parts, &mut text);
                        segs.push(text);
                    }
                    Segment::AnyDepth => {
                        let extra = rng.below(3) + usize::from(i + 1 == n);
                        segs.extend((0..extra).map(|_| (*rng.pick(&["a", "x", "b", ".x"])).to_owned()));
                    }
                }
            }
            let path = format!("/{}", segs.join("/"));
            corral_compiler::eval::path_segments(&path)?;
            let rights: Vec<_> = rule.rights.iter().collect();
            Some(Access::File { right: *rng.pick(&rights), path })
        }
        1 => {
            let rules: Vec<_> = policy.connects.iter().filter(|r| r.effect == Effect::Allow).collect();
            let rule = *rules.get(rng.below(rules.len().max(1)))?;
            let endpoint = pick_atom(rng, &rule.endpoints)?;
            Some(Access::Connect {
                proto: proto(rng, rule.protos),
                host: host_in(rng, &endpoint.hosts),
                port: port_in(rng, &endpoint.ports),
            })
        }
        2 => {
            let rules: Vec<_> = policy.binds.iter().filter(|r| r.effect == Effect::Allow).collect();
            let rule = *rules.get(rng.below(rules.len().max(1)))?;
            let peer = match &rule.from {
                Some(from) if rng.chance(70) => Some(host_in(rng, from)),
                _ if rng.chance(30) => Some(Host::parse(ADDRS[rng.below(ADDRS.len())]).unwrap()),
                _ => None,
            };
            Some(Access::Bind { proto: proto(rng, rule.protos), port: port_in(rng, &rule.ports), peer })
        }
        _ => {
            let rules: Vec<_> = policy.devices.iter().filter(|r| r.effect == Effect::Allow).collect();
            let rule = *rules.get(rng.below(rules.len().max(1)))?;
            Some(Access::Device { device: rule.device, mode: *rng.pick(&rule.modes) })
        }
    }
}

/// One random `assert can …` statement, for the sets it carries.
pub fn assertion(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 | 1 => format!("assert can {} {}", rights(rng), set_expr(rng, 2, &mut path_pattern)),
        2 => {
            let hosts = set_expr(rng, 2, &mut host_atom);
            format!("assert can connect {}({hosts}):({})", proto(rng), rng.pick(&PORTS))
        }
        _ => {
            let from = if rng.chance(50) {
                format!(" from {}", set_expr(rng, 1, &mut host_atom))
            } else {
                String::new()
            };
            format!("assert can bind {}{}{from}", proto(rng), rng.pick(&PORTS))
        }
    }
}

/// Does `lit` hold for `access` under the concrete semantics?
pub fn holds(lit: &corral_verifier::Literal<'_>, access: &Access) -> bool {
    use corral_compiler::eval::is_permitted;
    use corral_compiler::eval::sets::{rule_covers, with_right};
    use corral_verifier::Literal;
    let permitted = |policy, right: &Option<corral_compiler::ir::Right>| match right {
        Some(r) => is_permitted(policy, &with_right(access, *r)),
        None => is_permitted(policy, access),
    };
    match lit {
        Literal::In(set) => set.contains(access),
        Literal::NotIn(set) => !set.contains(access),
        Literal::Permitted { policy, right } => permitted(policy, right),
        Literal::NotPermitted { policy, right } => !permitted(policy, right),
        Literal::Covered { policy, rule } => rule_covers(policy, *rule, access),
        Literal::NotCovered { policy, rule } => !rule_covers(policy, *rule, access),
        Literal::Is(a) => a == access,
    }
}
