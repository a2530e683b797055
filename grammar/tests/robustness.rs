//! The front end and the whole compiler on hostile input: arbitrary text,
//! token soup, mutated policies, pathological nesting and megabyte inputs.
//! Each must come back with a tree or a program and diagnostics — no panic,
//! no stack overflow, no hang.
//!
//! The deep and long cases run on the test harness's own threads (2 MiB
//! stacks, as in CI), so a recursion that grows with the input shows here
//! as a crash. Sizes are chosen to be far past any limit of the language
//! (the lexer's nesting bound is 64, a definition's is 256) and still keep
//! the whole file well under a minute in a debug build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use corral_compiler::{Compilation, Options, compile_source};
use corral_grammar::{Parsed, parse};
use proptest::prelude::*;

// ---- helpers

fn options() -> Options {
    Options { home: "/home/u".into(), ..Default::default() }
}

fn compile(text: &str) -> Compilation {
    compile_source("t.corral", text, None, &options())
}

/// Parses and compiles `text`; both must return. Returns the parse so that
/// a test can say more about it.
fn survives(text: &str) -> Parsed {
    let parsed = parse(text);
    for e in &parsed.errors {
        assert!(
            e.span.start <= e.span.end && e.span.end as usize <= text.len(),
            "error span {:?} outside the {}-byte input",
            e.span,
            text.len()
        );
    }
    let _ = compile(text);
    parsed
}

/// Parses and compiles `text`, which must be rejected with some error.
#[track_caller]
fn rejected(text: &str) {
    let parsed = parse(text);
    let compiled = compile(text);
    assert!(
        !parsed.errors.is_empty() || compiled.has_errors(),
        "accepted without errors: {}…",
        text.chars().take(80).collect::<String>()
    );
}

/// The policies the project ships: valid inputs to mutate.
const VALID: &[&str] = &[
    include_str!("../../examples/coding-assistant.corral"),
    include_str!("../../examples/browser-agent.corral"),
    include_str!("../../examples/ci-runner.corral"),
    include_str!("../../examples/notebook-agent.corral"),
    include_str!("../../stdlib-policies/std/net.corral"),
    include_str!("../../stdlib-policies/std/persistence.corral"),
    include_str!("../../stdlib-policies/std/secrets.corral"),
    include_str!("../../stdlib-policies/std/toolchains.corral"),
    r#"
policy p extends q within r {
    identity entra "tenant/app"
    isolation microvm
    timeout 30s
    proxy "http://127.0.0.1:8080"
    allow bind udp 53 | 8000..8999 from private
    allow connect "10.0.0.0/8":[80, 443] - "10.0.0.1":*
    deny screen capture
    assert a: isolation >= container or not (can read under "/" and never exec "/x/*/{a,b}?")
        implies true and false because "why"
}
"#,
];

const MIB: usize = 1 << 20;

// ---- random input

/// Every keyword and punctuation token, and shapes of the other tokens
/// (good and bad), for token soup.
#[rustfmt::skip] // one token a line would make this list 120 lines long
const TOKENS: &[&str] = &[
    "import", "as", "let", "param", "policy", "extends", "within", "allow", "deny", "readonly",
    "identity", "local", "entra", "isolation", "timeout", "proxy", "assert", "because", "can",
    "never", "only", "not", "and", "or", "implies", "true", "false", "under", "connect", "bind",
    "from", "tcp", "udp", "read", "list", "write", "create", "delete", "exec", "clipboard",
    "screen", "input", "windows", "camera", "microphone", "location", "browser", "{", "}", "(",
    ")", "[", "]", ",", ":", ".", "..", "|", "&", "-", "*", "=", ">=", "<=", "==", "std.net",
    "std.secrets", "secrets.all", "net.github", "loopback", "private", "internet", "any",
    "paths", "hosts", "ports", "endpoints", "process", "container", "microvm", "capture",
    "inject", "\"/usr/**\"", "\"~/.ssh\"", "\"~\"", "\"*.github.com\"", "\"10.0.0.0/8\"",
    "\"::1\"", "\"/a/{b,c}/?\"", "\"/a//b\"", "\"rel/path\"", "\"\\u{41}\"", "\"\\q\"",
    "\"unterminated", "\"\"", "443", "0..65535", "70000", "99999999999999999999999", "30s",
    "10m", "4h", "x", "_", "a1", "// line\n", "/// doc\n", "/* block */", "/* open", "\n",
    "\t", "#", "é", "\u{0}",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(TOKENS).prop_map(str::to_owned),
            1 => "[a-z_][a-z0-9_]{0,8}",
            1 => "[0-9]{1,6}",
            1 => "\"[ -~]{0,12}\"",
        ],
        0..300,
    )
    .prop_map(|toks| toks.join(" "))
}

/// One edit of a byte string; positions are taken modulo its length.
#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Swap(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    let len = 0usize..64;
    prop_oneof![
        (pos, len.clone()).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (pos, len.clone()).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (pos, pos, len).prop_map(|(a, b, n)| Mutation::Swap(a, b, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let range = |at: usize, n: usize| {
        let start = at % bytes.len();
        start..(start + n).min(bytes.len())
    };
    match *m {
        Mutation::Delete(at, n) => {
            bytes.drain(range(at, n));
        }
        Mutation::Duplicate(at, n) => {
            let r = range(at, n);
            let copy = bytes[r.clone()].to_vec();
            bytes.splice(r.end..r.end, copy);
        }
        Mutation::Swap(a, b, n) => {
            let (ra, rb) = (range(a, n), range(b, n));
            // Two equal-length, non-overlapping ranges, or nothing.
            let n = ra.len().min(rb.len());
            let (lo, hi) = if ra.start <= rb.start { (ra.start, rb.start) } else { (rb.start, ra.start) };
            if lo + n <= hi {
                let (left, right) = bytes.split_at_mut(hi);
                left[lo..lo + n].swap_with_slice(&mut right[..n]);
            }
        }
    }
}

fn mutated_policy() -> impl Strategy<Value = String> {
    (prop::sample::select(VALID), prop::collection::vec(mutation(), 1..8)).prop_map(|(src, ms)| {
        let mut bytes = src.as_bytes().to_vec();
        for m in &ms {
            apply(&mut bytes, m);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_returns(text in any::<String>()) {
        survives(&text);
    }

    #[test]
    fn arbitrary_bytes_as_lossy_utf8_return(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        survives(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_returns(text in token_soup()) {
        survives(&text);
    }

    #[test]
    fn token_soup_in_a_policy_body_returns(text in token_soup()) {
        survives(&format!("import std.net\nlet x = \"/x\"\npolicy p {{\n{text}\n}}\n"));
    }

    #[test]
    fn mutated_policies_return(text in mutated_policy()) {
        survives(&text);
    }
}

// ---- the valid inputs stay valid, so the mutations start from good text

#[test]
fn the_seed_policies_parse_without_errors() {
    for src in VALID {
        let parsed = parse(src);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert!(!parsed.module.items.is_empty());
    }
}

// ---- deep nesting: every input is bounded by the lexer, whatever its depth

const DEEP: usize = 100_000;

#[test]
fn hundred_thousand_open_parens() {
    let opens = "(".repeat(DEEP);
    survives(&opens);
    let parsed = survives(&format!("let a = {opens}\"/x\""));
    assert!(!parsed.errors.is_empty());
    rejected(&format!("let a = {opens}\"/x\"{}", ")".repeat(DEEP)));
    rejected(&format!("policy p {{ assert {opens}true{} }}", ")".repeat(DEEP)));
}

#[test]
fn hundred_thousand_open_brackets() {
    let opens = "[".repeat(DEEP);
    survives(&opens);
    rejected(&format!("let a = {opens}\"/x\""));
    rejected(&format!("let a = {opens}\"/x\"{}", "]".repeat(DEEP)));
    rejected(&format!("policy p {{ allow read {opens}\"/x\"{} }}", "]".repeat(DEEP)));
}

#[test]
fn hundred_thousand_mixed_brackets() {
    let opens = "([".repeat(DEEP / 2);
    let closes = "])".repeat(DEEP / 2);
    rejected(&format!("let a = {opens}\"/x\"{closes}"));
    // Closers only: never below depth zero.
    rejected(&format!("let a = \"/x\"{}", ")]".repeat(DEEP)));
}

#[test]
fn hundred_thousand_nots() {
    let nots = "not ".repeat(DEEP);
    survives(&nots);
    rejected(&format!("policy p {{ allow read \"/x\"\n assert {nots}can read \"/x\" }}"));
}

/// Parses only; `and_the_compiler_on_…` below compiles the same text.
fn union_of_names(n: usize) -> String {
    vec!["a"; n].join(" | ")
}

#[test]
fn two_hundred_thousand_operand_union_parses() {
    let chain = union_of_names(200_000);
    let parsed = parse(&format!("let a = \"/x\"\nlet b = {chain}\npolicy p {{ allow read b }}"));
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
    let parsed = parse(&format!("policy p {{ allow read {chain} }}"));
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
    // Not an item: one error, and the parser goes on.
    rejected(&chain);
    // Unknown names in a definition: a diagnostic, still returns.
    rejected(&format!("let b = {chain}"));
}

#[test]
fn two_hundred_thousand_operand_union_compiles() {
    let chain = union_of_names(200_000);
    let compiled = compile(&format!("let a = \"/x\"\nlet b = {chain}\npolicy p {{ allow read b }}"));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics.first());
    let compiled = compile(&format!("let a = \"/x\"\npolicy p {{ allow read {chain} }}"));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics.first());
}

const CHAIN: usize = 100_000;

fn chain(operand: &str, op: &str, n: usize) -> String {
    vec![operand; n].join(&format!(" {op} "))
}

#[test]
fn long_set_operator_chains_parse() {
    for (operand, op) in [("\"x\"", "-"), ("\"/x\"", "-"), ("\"/x\"", "&"), ("\"/x\"", "|")] {
        let text = chain(operand, op, CHAIN);
        for src in [
            format!("let s = {text}"),
            format!("policy p {{ allow read {text} }}"),
            format!("policy p {{ allow connect ({text}):443 }}"),
            format!("policy p {{ assert never read {text} }}"),
        ] {
            let parsed = parse(&src);
            assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());
        }
    }
}

#[test]
fn long_formula_chains_parse() {
    for op in ["and", "or", "implies"] {
        let f = chain("true", op, CHAIN);
        let parsed = parse(&format!("policy p {{ allow read \"/x\"\n assert {f} }}"));
        assert!(parsed.errors.is_empty(), "{op}: {:?}", parsed.errors.first());
    }
}

#[test]
fn long_and_or_chains_compile() {
    for op in ["and", "or"] {
        let f = chain("true", op, CHAIN);
        let compiled = compile(&format!("policy p {{ allow read \"/x\"\n assert {f} }}"));
        assert!(!compiled.has_errors(), "{op}: {:?}", compiled.diagnostics.first());
    }
}

#[test]
fn alternating_union_and_difference_is_bounded() {
    // `a | b - c | d - …` nests one level per switch of operator: past the
    // limit it is a diagnostic, not a deep tree.
    let mut text = String::from("\"/x\"");
    for i in 0..20_000 {
        text.push_str(if i % 2 == 0 { " | \"/y\"" } else { " - \"/z\"" });
    }
    rejected(&format!("let p = {text}"));
    rejected(&format!("policy p {{ allow read {text} }}"));
}

#[test]
fn long_difference_chains_compile() {
    survives(&format!("let h = {}", chain("\"x\"", "-", CHAIN)));
    survives(&format!("let p = {}", chain("\"/x\"", "-", CHAIN)));
    survives(&format!("policy p {{ allow read {} }}", chain("\"/x\"", "-", CHAIN)));
    survives(&format!("policy p {{ allow connect ({}):443 }}", chain("\"x\"", "-", CHAIN)));
    survives(&format!(
        "policy p {{ allow read under \"/\"\n assert never read {} }}",
        chain("\"/x\"", "-", CHAIN)
    ));
}

#[test]
fn long_implies_chain_compiles() {
    survives(&format!("policy p {{ allow read \"/x\"\n assert {} }}", chain("true", "implies", CHAIN)));
}

// ---- the compiler on long chains of definitions and wide sets

/// Each `a{i}` copies the `i` atoms before it: quadratic growth, stopped by
/// the compiler's atom budget with one diagnostic instead of gigabytes.
#[test]
fn five_thousand_deep_let_chain_of_unions() {
    const N: usize = 5_000;
    let mut src = String::from("let a0 = \"/x\"\n");
    for i in 1..=N {
        src.push_str(&format!("let a{i} = a{} | \"/x\"\n", i - 1));
    }
    src.push_str(&format!("policy p {{ allow read a{N} }}\n"));
    let compiled = compile(&src);
    let budget: Vec<_> =
        compiled.diagnostics.iter().filter(|d| d.message.contains("too many patterns")).collect();
    assert_eq!(budget.len(), 1, "one budget diagnostic: {:?}", compiled.diagnostics.first());
}

#[test]
fn five_thousand_deep_let_chain_of_differences() {
    const N: usize = 5_000;
    let mut src = String::from("let a0 = \"/x\"\n");
    for i in 1..=N {
        src.push_str(&format!("let a{i} = a{} - \"/x/y\"\n", i - 1));
    }
    src.push_str(&format!("policy p {{ allow read a{N} }}\n"));
    // Flat (`a - (b | c)`), but quadratic in copies: the atom budget stops it.
    rejected(&src);
}

#[test]
fn five_thousand_deep_let_chain_in_reverse_order() {
    // Definitions used before they are written: the dependency order, not
    // the source order, drives lowering. Shorter than the chain above: each
    // `let` here holds a copy of every atom before it, so 5,000 take 1.4 GB.
    const N: usize = 2_000;
    let mut src = format!("policy p {{ allow read a{N} }}\n");
    for i in (1..=N).rev() {
        src.push_str(&format!("let a{i} = a{} | \"/x\"\n", i - 1));
    }
    src.push_str("let a0 = \"/x\"\n");
    survives(&src);
}

#[test]
fn long_extends_chain() {
    const N: usize = 1_000;
    let mut src = String::from("policy p0 { allow read \"/x\" }\n");
    for i in 1..=N {
        src.push_str(&format!("policy p{i} extends p{} {{ }}\n", i - 1));
    }
    let compiled = compile(&src);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics.first());
}

#[test]
fn wide_unions() {
    const N: usize = 20_000;
    let names: Vec<String> = (0..N).map(|i| format!("\"/w/{i}\"")).collect();
    let list = format!("[{}]", names.join(", "));
    let chain = names.join(" | ");
    for set in [&list, &chain] {
        let compiled = compile(&format!("let w = {set}\npolicy p {{ allow read w }}"));
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics.first());
        assert_eq!(compiled.program.policies[0].files.len(), 1);
    }
    let hosts: Vec<String> = (0..N).map(|i| format!("\"h{i}.example.com\"")).collect();
    let compiled = compile(&format!("policy p {{ allow connect tcp [{}]:443 }}", hosts.join(", ")));
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics.first());
}

#[test]
fn many_rules() {
    const N: usize = 20_000;
    let mut src = String::from("policy p {\n");
    for i in 0..N {
        src.push_str(&format!("    allow read \"/r/{i}\"\n"));
    }
    src.push_str("}\n");
    let compiled = compile(&src);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics.first());
    assert_eq!(compiled.program.policies[0].files.len(), N);
}

// ---- megabyte inputs

#[test]
fn one_mib_string_literal() {
    let body = "a".repeat(MIB);
    survives(&format!("let a = \"{body}\""));
    survives(&format!("let a = \"/{body}\""));
    survives(&format!("policy p {{ allow read \"/{body}\" }}"));
    let host = format!("{}.com", "a.".repeat(MIB / 2));
    survives(&format!("policy p {{ allow connect \"{host}\":443 }}"));
    let segments = "/a".repeat(MIB / 2);
    survives(&format!("policy p {{ allow read \"{segments}\" }}"));
    let globs = "/*".repeat(MIB / 2);
    survives(&format!("policy p {{ allow read \"{globs}\" }}"));
    let escapes = "\\u{41}".repeat(MIB / 6);
    survives(&format!("let a = \"/{escapes}\""));
}

#[test]
fn one_mib_comments() {
    let text = "x".repeat(MIB);
    survives(&format!("// {text}"));
    survives(&format!("/// {text}\nlet a = \"/x\""));
    survives(&format!("/* {text} */"));
    rejected(&format!("/* {text}"));
    survives(&"/// d\n".repeat(MIB / 6));
    survives(&"/* */".repeat(MIB / 5));
}

#[test]
fn one_mib_of_slashes() {
    survives(&"/".repeat(MIB));
    rejected(&format!("let a = {}", "/".repeat(MIB)));
    rejected(&format!("let a = \"/x\" {}", "/ ".repeat(MIB / 2)));
}

#[test]
fn unterminated_one_mib_string() {
    rejected(&format!("let a = \"{}", "a".repeat(MIB)));
    rejected(&format!("let a = \"{}", "\\\"".repeat(MIB / 2)));
}

#[test]
fn one_mib_of_random_bytes() {
    // A fixed linear congruential generator: the same bytes on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let bytes: Vec<u8> = (0..MIB)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    survives(&String::from_utf8_lossy(&bytes));
    // Printable ASCII only, so that more of it lexes as tokens.
    let printable: String = bytes.iter().map(|b| char::from(b' ' + b % 95)).collect();
    survives(&printable);
}

#[test]
fn one_mib_of_token_soup() {
    let mut state: u64 = 7;
    let mut text = String::new();
    while text.len() < MIB {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        text.push_str(TOKENS[(state >> 33) as usize % TOKENS.len()]);
        text.push(' ');
    }
    survives(&text);
    survives(&format!("policy p {{ {text} }}"));
}
