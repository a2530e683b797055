//! The Landlock backend: lowers one policy of the IR to a Landlock ruleset
//! in landlockconfig JSON, resolved against a real file tree.
//!
//! Landlock is allow-only and its rules name paths that exist, so the
//! lowering walks the tree under `root`, grants whole directories where the
//! policy allows everything below them, and carves around denied entries by
//! granting their siblings instead. What it cannot express is reported:
//! broader (C3001, an error with an access the ruleset wrongly allows),
//! narrower (C3002, a warning naming what the agent loses) and unsupported
//! (C3003). The mapping is documented in `docs/backends/landlock.md`.

mod access;
mod apply;
mod files;
mod net;
mod pattern;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::Evaluator;
use corral_compiler::ir::{Effect, Policy, Right};
use serde_json::{Value, json};

pub use access::{LATEST_ABI, fs_accesses, handled_fs};
pub use apply::{Applied, apply, probe_abi};
pub use files::MAX_ENTRIES;

/// Counterexamples listed in one diagnostic; the rest are counted in a note.
const MAX_SHOWN: usize = 5;

/// The result of lowering one policy.
#[derive(Debug)]
pub struct Lowering {
    /// The ruleset, as landlockconfig JSON.
    pub config: Value,
    /// A short human summary of the ruleset and its gaps.
    pub summary: String,
    pub diagnostics: Vec<Diagnostic>,
    /// The ruleset permits exactly what the policy permits on the tree.
    pub exact: bool,
    /// Translation validation: every access the ruleset permits on the
    /// existing entries of the tree is permitted by the policy.
    pub validated: bool,
}

fn with_examples(mut d: Diagnostic, examples: impl IntoIterator<Item = String>) -> Diagnostic {
    let examples: Vec<String> = examples.into_iter().collect();
    for e in examples.iter().take(MAX_SHOWN) {
        d = d.counterexample(e.clone());
    }
    if examples.len() > MAX_SHOWN {
        d = d.note(format!("and {} more", examples.len() - MAX_SHOWN));
    }
    d
}

/// Lowers `policy` for Landlock ABI `abi` (clamped to 1..=[`LATEST_ABI`]),
/// resolving its paths against the tree under `root` (the policy's `/`).
pub fn lower_to_landlock(policy: &Policy, root: &Path, abi: u8) -> Lowering {
    let abi = abi.clamp(1, LATEST_ABI);
    let eval = Evaluator::new(policy);
    let mut diagnostics = Vec::new();
    let mut gaps = Vec::new();

    let mut files = files::lower_files(policy, &eval, root);
    // Rights Landlock only grants on directories (making and removing
    // entries, listing) cannot be granted on a single file.
    for (path, (is_dir, rights)) in &mut files.grants {
        if !*is_dir {
            for right in [Right::List, Right::Create, Right::Delete] {
                if rights.remove(&right) {
                    files.narrower.insert(format!("{} {path}", right.keyword()));
                }
            }
        }
    }
    files.grants.retain(|_, (_, rights)| !rights.is_empty());

    for (rule, examples) in &files.broader {
        if let Some(r) = policy.files.get(*rule) {
            let d = Diagnostic::error(Code::LandlockBroader, "the landlock ruleset allows files this deny could match later")
                .primary(r.origin.span, "files created later under an allowed directory can match this")
                .help("landlock cannot deny inside an allowed directory; narrow the allow, or pass `--accept-broader`");
            diagnostics.push(with_examples(d, examples.iter().cloned()));
        }
    }
    if !files.narrower.is_empty() {
        let mut d = Diagnostic::warning(
            Code::LandlockNarrower,
            "the landlock ruleset denies accesses the policy allows",
        )
        .help(
            "landlock grants whole directories that exist; carving around a deny or a glob loses new entries",
        );
        for rule in &files.narrower_rules {
            if let Some(r) = policy.files.get(*rule) {
                let label = match r.effect {
                    Effect::Deny => "carved around this",
                    Effect::Allow => "expanded against the files that exist",
                };
                d = d.secondary(r.origin.span, label);
            }
        }
        diagnostics.push(with_examples(d, files.narrower.iter().cloned()));
    }
    if files.truncated {
        diagnostics.push(Diagnostic::warning(
            Code::LandlockNarrower,
            format!(
                "the file tree has more than {MAX_ENTRIES} entries or is too deep; the rest is not granted"
            ),
        ));
    }

    let mut net_ports: Vec<Value> = Vec::new();
    let mut handled_net = Vec::new();
    let mut net_lines = Vec::new();
    if abi >= 4 {
        for (kind, lowered, rules) in [
            ("bind_tcp", net::lower_bind(policy, &eval), "bind"),
            ("connect_tcp", net::lower_connect(policy, &eval), "connect"),
        ] {
            let mut by_rule: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for (rule, example) in &lowered.broader {
                by_rule.entry(*rule).or_default().push(example.clone());
            }
            for (rule, examples) in by_rule {
                let span = match rules {
                    "bind" => policy.binds.get(rule).map(|r| r.origin.span),
                    _ => policy.connects.get(rule).map(|r| r.origin.span),
                };
                let mut d = Diagnostic::error(
                    Code::LandlockBroader,
                    format!("the landlock ruleset allows `{rules}` to peers the policy denies"),
                )
                .help(
                    "landlock matches tcp ports only; enforce hosts with a proxy, or pass `--accept-broader`",
                );
                if let Some(span) = span {
                    d = d.primary(span, "this rule is limited to some hosts");
                }
                diagnostics.push(with_examples(d, examples));
            }
            if lowered.all_ports() {
                net_lines.push(format!("tcp {rules}: every port"));
                continue;
            }
            handled_net.push(kind);
            if lowered.ports.is_empty() {
                net_lines.push(format!("tcp {rules}: no port"));
            } else {
                net_lines.push(format!("tcp {rules}: {}", show_ports(&lowered.ports)));
                net_ports.push(json!({ "allowedAccess": [kind], "port": lowered.ports }));
            }
        }
    } else {
        gaps.push("tcp (needs ABI 4)".to_owned());
        let mut d = Diagnostic::warning(
            Code::LandlockUnsupported,
            format!("landlock ABI {abi} cannot restrict tcp; connect and bind are not enforced"),
        )
        .help("build for ABI 4 or later");
        for r in policy.connects.iter().filter(|r| r.protos.tcp) {
            d = d.secondary(r.origin.span, "not enforced");
        }
        for r in policy.binds.iter().filter(|r| r.protos.tcp) {
            d = d.secondary(r.origin.span, "not enforced");
        }
        diagnostics.push(d);
    }
    unsupported(policy, &mut diagnostics, &mut gaps);

    let config = config_json(abi, &files.grants, &handled_net, net_ports);
    let validation = validate::validate(policy, &eval, root, &files.grants, abi);
    for (right, path) in &validation.violations {
        diagnostics.push(
            Diagnostic::error(
                Code::LandlockBroader,
                format!("the landlock ruleset allows `{right} {path}`, which the policy denies"),
            )
            .counterexample(format!("{right} {path}")),
        );
    }
    corral_compiler::diagnostics::sort(&mut diagnostics);
    let exact = diagnostics.is_empty();
    let summary = summary(policy, root, abi, &files.grants, &net_lines, &gaps, &diagnostics, validation.ok());
    Lowering { config, summary, diagnostics, exact, validated: validation.ok() }
}

/// UDP and devices: Landlock has no rules for them.
fn unsupported(policy: &Policy, diagnostics: &mut Vec<Diagnostic>, gaps: &mut Vec<String>) {
    gaps.push("udp".to_owned());
    let udp: Vec<_> = policy
        .connects
        .iter()
        .filter(|r| r.protos.udp)
        .map(|r| r.origin.span)
        .chain(policy.binds.iter().filter(|r| r.protos.udp).map(|r| r.origin.span))
        .collect();
    if !udp.is_empty() {
        let mut d = Diagnostic::warning(
            Code::LandlockUnsupported,
            "landlock cannot restrict udp; udp rules are not enforced",
        )
        .note("the sandbox lets every udp send and bind through")
        .help("write `tcp` in rules meant for landlock, and enforce udp with a firewall");
        for span in udp {
            d = d.secondary(span, "not enforced");
        }
        diagnostics.push(d);
    }
    if !policy.devices.is_empty() {
        gaps.push("devices".to_owned());
    }
    for r in &policy.devices {
        diagnostics.push(
            Diagnostic::warning(
                Code::LandlockUnsupported,
                format!("landlock cannot mediate `{}`; this rule is not enforced", r.device.keyword()),
            )
            .primary(r.origin.span, "not enforced")
            .help("devices need a container or microvm backend"),
        );
    }
}

fn show_ports(ports: &[u16]) -> String {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for &p in ports {
        match ranges.last_mut() {
            Some((_, hi)) if u32::from(*hi) + 1 == u32::from(p) => *hi = p,
            _ => ranges.push((p, p)),
        }
    }
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}..{hi}") })
        .collect();
    parts.join(", ")
}

/// The landlockconfig document; rules are grouped by access set, both sorted.
fn config_json(
    abi: u8,
    grants: &BTreeMap<String, (bool, BTreeSet<Right>)>,
    handled_net: &[&str],
    net_ports: Vec<Value>,
) -> Value {
    let mut groups: BTreeMap<Vec<&'static str>, Vec<&str>> = BTreeMap::new();
    for (path, (is_dir, rights)) in grants {
        let accesses = fs_accesses(rights, *is_dir, abi);
        if !accesses.is_empty() {
            groups.entry(accesses).or_default().push(path);
        }
    }
    let mut ruleset = json!({ "handledAccessFs": handled_fs(abi) });
    if !handled_net.is_empty() {
        ruleset["handledAccessNet"] = json!(handled_net);
    }
    if abi >= 6 {
        ruleset["scoped"] = json!(["abstract_unix_socket", "signal"]);
    }
    let mut config = json!({ "abi": abi, "ruleset": [ruleset] });
    if !groups.is_empty() {
        let beneath: Vec<Value> = groups
            .into_iter()
            .map(|(access, parents)| json!({ "allowedAccess": access, "parent": parents }))
            .collect();
        config["pathBeneath"] = json!(beneath);
    }
    if !net_ports.is_empty() {
        config["netPort"] = json!(net_ports);
    }
    config
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename the arguments
fn summary(
    policy: &Policy,
    root: &Path,
    abi: u8,
    grants: &BTreeMap<String, (bool, BTreeSet<Right>)>,
    net_lines: &[String],
    gaps: &[String],
    diagnostics: &[Diagnostic],
    validated: bool,
) -> String {
    let mut out =
        format!("landlock ruleset for policy `{}` (ABI {abi}, tree {})\n", policy.name, root.display());
    out.push_str("filesystem: deny by default; allowed beneath\n");
    if grants.is_empty() {
        out.push_str("  (nothing)\n");
    }
    for (path, (is_dir, rights)) in grants {
        let words: Vec<&str> = rights.iter().map(|r| r.keyword()).collect();
        let kind = if *is_dir { "" } else { " (file)" };
        out.push_str(&format!("  {path}{kind}: {}\n", words.join(", ")));
    }
    for line in net_lines {
        out.push_str(&format!("{line}\n"));
    }
    if abi >= 6 {
        out.push_str("scoped: abstract unix sockets, signals\n");
    }
    out.push_str(&format!("not enforced: {}\n", gaps.join(", ")));
    let count = |code: Code| diagnostics.iter().filter(|d| d.code == code).count();
    out.push_str(&format!(
        "exact: {} ({} broader, {} narrower, {} unsupported)\n",
        if diagnostics.is_empty() { "yes" } else { "no" },
        count(Code::LandlockBroader),
        count(Code::LandlockNarrower),
        count(Code::LandlockUnsupported),
    ));
    out.push_str(&format!("validated on the tree: {}\n", if validated { "yes" } else { "no" }));
    out
}
