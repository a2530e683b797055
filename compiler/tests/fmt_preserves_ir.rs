//! `corral fmt` keeps the meaning: a formatted file lowers to the same IR
//! (spans aside) and the same diagnostics as the original, and formatting
//! is idempotent. Checked on every bundled policy and on random policies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use corral_compiler::{Options, compile_source};
use corral_grammar::fmt::format_source;
use proptest::prelude::*;
use serde_json::Value;

fn options() -> Options {
    Options { home: "/home/u".into(), ..Default::default() }
}

fn strip_spans(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("span");
            map.remove("files");
            map.values_mut().for_each(strip_spans);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// The IR without spans, and the diagnostics as (code, message).
fn meaning(name: &str, text: &str, dir: Option<&Path>) -> (Value, Vec<(String, String)>) {
    let c = compile_source(name, text, dir, &options());
    let mut ir = serde_json::to_value(&c.program).unwrap();
    strip_spans(&mut ir);
    let diags = c.diagnostics.iter().map(|d| (d.code.to_string(), d.message.clone())).collect();
    (ir, diags)
}

fn assert_same_meaning(name: &str, text: &str, dir: Option<&Path>) {
    let formatted = format_source(text).unwrap_or_else(|| panic!("{name} does not parse"));
    assert_eq!(format_source(&formatted).as_deref(), Some(formatted.as_str()), "{name}: not idempotent");
    let before = meaning(name, text, dir);
    let after = meaning(name, &formatted, dir);
    assert_eq!(before, after, "{name}: formatting changed the meaning\n--- formatted:\n{formatted}");
}

fn corral_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "corral"))
        .collect();
    files.sort();
    files
}

#[test]
fn formatting_keeps_the_ir_of_examples_and_stdlib() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seen = 0;
    for dir in [root.join("examples"), root.join("stdlib-policies/std")] {
        for file in corral_files(&dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            let (ir, diags) = meaning(&file.to_string_lossy(), &text, Some(&dir));
            assert!(diags.is_empty(), "{}: {diags:?}", file.display());
            assert!(ir["policies"].is_array());
            assert_same_meaning(&file.to_string_lossy(), &text, Some(&dir));
            seen += 1;
        }
    }
    assert!(seen >= 8, "expected the examples and the std modules, saw {seen}");
}

// ---- random policies ------------------------------------------------------

fn path_literal() -> impl Strategy<Value = String> {
    let seg = prop::sample::select(vec!["a", "b", "src", ".git", "*", "**", "x?", "{a,b}", "*.rs", "~"]);
    prop::collection::vec(seg, 1..4).prop_map(|segs| {
        let mut out = String::new();
        for (i, s) in segs.iter().enumerate() {
            if *s == "~" {
                if i == 0 {
                    out.push('~');
                }
                continue;
            }
            out.push('/');
            out.push_str(s);
        }
        if out.is_empty() { "/".to_owned() } else { out }
    })
}

fn host_literal() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "github.com",
        "*.github.com",
        "10.0.0.0/8",
        "::1",
        "fc00::/7",
        "Example.ORG.",
        "192.168.1.1",
    ])
    .prop_map(str::to_owned)
}

fn port_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..70000).prop_map(|p| p.to_string()),
        (0u32..65536, 0u32..65536).prop_map(|(a, b)| format!("{}..{}", a.min(b), a.max(b))),
        Just("*".to_owned()),
        Just("[80, 443]".to_owned()),
    ]
}

fn paths_expr() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        path_literal().prop_map(|p| format!("{p:?}")),
        path_literal().prop_map(|p| format!("under {p:?}")),
        Just("ws".to_owned()),
        Just("secrets.ssh".to_owned()),
    ];
    atom.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), prop::sample::select(vec!["|", "&", "-"]), inner.clone())
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            prop::collection::vec(inner, 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
        ]
    })
}

fn hosts_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        host_literal().prop_map(|h| format!("{h:?}")),
        Just("internet".to_owned()),
        Just("loopback | private".to_owned()),
        Just("net.github".to_owned()),
    ]
}

fn statement() -> impl Strategy<Value = String> {
    let rights = prop::sample::subsequence(vec!["read", "list", "write", "create", "delete", "exec"], 1..4)
        .prop_map(|r| r.join(", "));
    let effect = prop::sample::select(vec!["allow", "deny"]);
    let proto = prop::sample::select(vec!["", "tcp ", "udp "]);
    prop_oneof![
        (effect.clone(), rights.clone(), paths_expr()).prop_map(|(e, r, p)| format!("{e} {r} {p}")),
        (effect.clone(), proto.clone(), hosts_expr(), port_expr())
            .prop_map(|(e, pr, h, p)| format!("{e} connect {pr}({h}):({p})")),
        (effect.clone(), proto, port_expr(), prop::option::of(hosts_expr())).prop_map(
            |(e, pr, p, f)| match f {
                Some(f) => format!("{e} bind {pr}{p} from {f}"),
                None => format!("{e} bind {pr}{p}"),
            }
        ),
        (effect, prop::sample::select(vec!["clipboard", "clipboard read", "screen capture", "camera"]))
            .prop_map(|(e, d)| format!("{e} {d}")),
        paths_expr().prop_map(|p| format!("readonly {p}")),
        (prop::sample::select(vec!["never", "can", "only"]), rights, paths_expr())
            .prop_map(|(q, r, p)| format!("assert {q} {r} {p} because \"why\"")),
        Just("assert not (can read secrets.all and can connect internet)".to_owned()),
        Just("assert isolation >= process implies true".to_owned()),
    ]
}

fn separator() -> impl Strategy<Value = String> {
    prop::sample::select(vec![" ", "\n", "\n\n", "  // note\n", " /* c */ ", "\n    /// doc\n"])
        .prop_map(str::to_owned)
}

fn module() -> impl Strategy<Value = String> {
    (
        paths_expr(),
        prop::collection::vec((statement(), separator()), 1..8),
        prop::collection::vec((statement(), separator()), 0..4),
        separator(),
    )
        .prop_map(|(ws, base, child, sep)| {
            let mut s = String::from("import std.secrets\nimport std.net\n");
            s.push_str(&format!("param ws: paths = {ws}{sep}"));
            s.push_str("policy base {\n");
            for (stmt, sep) in base {
                s.push_str(&format!("{stmt}{sep}\n"));
            }
            s.push_str("}\npolicy child extends base {");
            for (stmt, sep) in child {
                s.push_str(&format!("{sep}{stmt}\n"));
            }
            s.push_str("}\n");
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn formatting_keeps_the_ir_of_random_policies(text in module()) {
        assert_same_meaning("random.corral", &text, None);
    }
}
