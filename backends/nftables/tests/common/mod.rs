//! Shared by the nftables tests: compiling policies, the example policies,
//! and a seeded generator of random network policies over the
//! namespace-local addresses the real-traffic test uses.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use corral_tests::Rng;

use corral_backend_nftables::{NftLowering, NftOptions, lower_to_nftables};
use corral_compiler::ir::Policy;
use corral_compiler::{Options, compile_file, compile_source};

pub const HOME: &str = "/home/u";

pub fn options() -> Options {
    Options { home: HOME.to_owned(), lib_dirs: Vec::new(), params: Vec::new() }
}

/// The one policy of `body`, compiled; panics with the source on errors.
pub fn policy(source: &str) -> Policy {
    let compilation = compile_source("t.corral", source, None, &options());
    assert!(!compilation.has_errors(), "{source}\n{:#?}", compilation.diagnostics);
    compilation.program.policies.into_iter().next().expect("one policy")
}

/// Every policy of every example: (file stem, policy).
pub fn example_policies() -> Vec<(String, Policy)> {
    let mut out = Vec::new();
    for file in corral_tests::example_files() {
        let compilation = compile_file(&file, &options()).unwrap();
        assert!(!compilation.has_errors(), "{}", file.display());
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        for p in compilation.program.policies {
            out.push((stem.clone(), p));
        }
    }
    out
}

/// Lowers without translation validation (fast).
pub fn lower_fast(policy: &Policy) -> NftLowering {
    let options = NftOptions { validate_timeout_ms: None, ..NftOptions::default() };
    lower_to_nftables(policy, &options).unwrap()
}

const HOSTS: [&str; 18] = [
    "\"svc.example\"",
    "\"*.example\"",
    "\"10.200.0.1\"",
    "\"10.200.0.3\"",
    "\"10.200.0.4\"",
    "\"10.200.0.0/30\"",
    "\"10.200.0.0/24\"",
    "\"10.200.0.2/31\"",
    "\"10.200.0.4/30\"",
    "\"fd00:200::1\"",
    "\"fd00:200::3\"",
    "\"fd00:200::/126\"",
    "\"fd00:200::/64\"",
    "private",
    "any",
    "internet",
    "loopback",
    "\"::ffff:10.200.0.3\"",
];

const PORTS: [&str; 13] = [
    "22",
    "80",
    "443",
    "8080",
    "5432",
    "53",
    "123",
    "5353",
    "*",
    "1..1024",
    "(22 | 443 | 53)",
    "5000..8080",
    "100..5353",
];

fn hosts(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => format!("({} - {})", rng.pick(&HOSTS), rng.pick(&HOSTS)),
        1 => format!("[{}, {}]", rng.pick(&HOSTS), rng.pick(&HOSTS)),
        2 => format!("({} & {})", rng.pick(&HOSTS), rng.pick(&HOSTS)),
        _ => (*rng.pick(&HOSTS)).to_owned(),
    }
}

/// A random policy of 1 to 6 connect and bind rules over the test
/// addresses (10.200.0.0/24, fd00:200::/64), a few well-known sets and
/// two names (which never match an address).
pub fn random_policy(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut body = String::new();
    for _ in 0..1 + rng.below(6) {
        let effect = if rng.below(10) < 7 { "allow" } else { "deny" };
        let proto = rng.pick(&["tcp ", "udp ", ""]);
        if rng.below(10) < 6 {
            let ports = *rng.pick(&PORTS);
            let ports = if ports.contains('|') { ports.to_owned() } else { format!("({ports})") };
            body.push_str(&format!("    {effect} connect {proto}{}:{ports}\n", hosts(&mut rng)));
        } else {
            let from = if rng.below(3) == 0 { String::new() } else { format!(" from {}", hosts(&mut rng)) };
            body.push_str(&format!("    {effect} bind {proto}{}{from}\n", rng.pick(&PORTS)));
        }
    }
    format!("policy random_{seed} {{\n{body}}}\n")
}
