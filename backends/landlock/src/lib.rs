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
mod model;
mod net;
mod pattern;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::Evaluator;
use corral_compiler::ir::{AccessSet, Effect, EndpointAtom, PathPattern, Policy, Protos, Right, Rights, Set};
use corral_verifier::Kind;
use corral_verifier::refine::Verdict;
use serde_json::{Value, json};

pub use access::{LATEST_ABI, fs_accesses, handled_fs};
pub use apply::{Applied, MAX_ABI_VAR, apply, probe_abi};
pub use files::MAX_ENTRIES;
pub use model::model;
pub use validate::Proof;

/// How a lowering is done and checked.
#[derive(Clone, Debug)]
pub struct Options {
    /// The Landlock ABI to build for (clamped to 1..=[`LATEST_ABI`]).
    pub abi: u8,
    /// Run translation validation: the verifier's proof over the model and
    /// the evaluator over the existing entries below every rule.
    pub validate: bool,
    /// Per verifier query; a query that runs out is unknown, never proven.
    pub timeout_ms: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { abi: LATEST_ABI, validate: true, timeout_ms: 10_000 }
    }
}

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
    /// Translation validation passed: the verifier proved that the ruleset
    /// permits nothing the policy denies outside the reported gaps, and
    /// the evaluator found no existing entry it wrongly grants. False when
    /// validation was not run.
    pub validated: bool,
    /// The verifier's verdicts, per kind (empty when validation was not run).
    pub proofs: Vec<Proof>,
    /// What the ruleset permits, as a policy (see `model.rs`).
    pub model: Policy,
}

fn child(dir: &str, name: &str) -> String {
    if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") }
}

fn with_examples(mut d: Diagnostic, examples: impl IntoIterator<Item = String>) -> Diagnostic {
    let examples: Vec<String> = examples.into_iter().collect();
    for e in examples.iter().take(MAX_SHOWN) {
        d = d.counterexample(e.clone());
    }
    if examples.len() >= files::MAX_EXAMPLES {
        d = d.note(format!("and more: the lowering stops collecting at {}", files::MAX_EXAMPLES));
    } else if examples.len() > MAX_SHOWN {
        d = d.note(format!("and {} more", examples.len() - MAX_SHOWN));
    }
    d
}

/// Lowers `policy` for Landlock ABI `abi` (clamped to 1..=[`LATEST_ABI`]),
/// resolving its paths against the tree under `root` (the policy's `/`),
/// with translation validation.
pub fn lower_to_landlock(policy: &Policy, root: &Path, abi: u8) -> Lowering {
    lower(policy, root, &Options { abi, ..Options::default() })
}

/// [`lower_to_landlock`] with every option.
pub fn lower(policy: &Policy, root: &Path, options: &Options) -> Lowering {
    let abi = options.abi.clamp(1, LATEST_ABI);
    let eval = Evaluator::new(policy);
    let mut diagnostics = Vec::new();
    let mut not_enforced = Vec::new();

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
    exec_without_read(policy, &mut files);

    for (rule, examples) in &files.broader {
        if let Some(r) = policy.files.get(*rule) {
            let d = Diagnostic::error(Code::ArtifactBroader, "the landlock ruleset allows files this deny could match later")
                .primary(r.origin.span, "files created later under an allowed directory can match this")
                .help("landlock cannot deny inside an allowed directory; narrow the allow, or pass `--accept-broader`");
            diagnostics.push(with_examples(d, examples.iter().cloned()));
        }
    }
    if !files.narrower.is_empty() {
        let mut d = Diagnostic::warning(
            Code::ArtifactNarrower,
            "the landlock ruleset denies accesses the policy allows",
        )
        .help(
            "landlock grants whole directories that exist; carving around a deny or a glob loses new entries",
        )
        .note("landlock runs a file only where it may also read it, and removes an entry only where its directory is granted");
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
            Code::ArtifactNarrower,
            format!(
                "the file tree has more than {MAX_ENTRIES} entries or is too deep; the rest is not granted"
            ),
        ));
    }

    let mut gaps = validate::Gaps {
        files: file_gaps(policy, &files.broader),
        non_accesses: non_accesses(&files.grants),
        ..Default::default()
    };
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
            if !by_rule.is_empty() {
                let gap = port_gap(rules, &lowered.ports);
                match rules {
                    "bind" => gaps.bind = Some(gap),
                    _ => gaps.connect = Some(gap),
                }
            }
            for (rule, examples) in by_rule {
                let span = match rules {
                    "bind" => policy.binds.get(rule).map(|r| r.origin.span),
                    _ => policy.connects.get(rule).map(|r| r.origin.span),
                };
                let mut d = Diagnostic::error(
                    Code::ArtifactBroader,
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
        not_enforced.push("tcp (needs ABI 4)".to_owned());
        let mut d = Diagnostic::warning(
            Code::ArtifactUnsupported,
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
    unsupported(policy, &mut diagnostics, &mut not_enforced);
    if abi < 3 {
        // Without the truncate access, truncation is never restricted.
        not_enforced.push("truncation (needs ABI 3)".to_owned());
        let write = Rights::of(Right::Write);
        let everything = Set::union([Set::Atom(PathPattern::root()), Set::Atom(model::below_path("/"))]);
        gaps.files.push(AccessSet::Files { rights: write, paths: everything });
        let denied_write =
            policy.files.iter().find(|r| r.effect == Effect::Deny && r.rights.contains(Right::Write));
        let mut d = Diagnostic::error(
            Code::ArtifactBroader,
            format!(
                "landlock ABI {abi} cannot restrict truncation; the agent can truncate files it may not write"
            ),
        )
        .note("truncation is a write (LANGUAGE.md §4); landlock handles it from ABI 3")
        .help("build for ABI 3 or later, or pass `--accept-broader`");
        if let Some(r) = denied_write {
            d = d.primary(r.origin.span, "a truncation of these is allowed");
        }
        diagnostics.push(d);
    }

    let config = config_json(abi, &files.grants, &handled_net, net_ports);
    let model = model(&config, root, &policy.name);
    let mut proofs = Vec::new();
    let mut validated = false;
    if options.validate {
        let tree = validate::validate(policy, &eval, root, &files.grants, abi);
        for (right, path) in &tree.violations {
            diagnostics.push(
                Diagnostic::error(
                    Code::ArtifactBroader,
                    format!("the landlock ruleset allows `{right} {path}`, which the policy denies"),
                )
                .counterexample(format!("{right} {path}")),
            );
        }
        // Below ABI 4 tcp is not mediated at all (stated as unsupported).
        let kinds: &[Kind] = if abi >= 4 { &[Kind::File, Kind::Connect, Kind::Bind] } else { &[Kind::File] };
        proofs = validate::prove(policy, &model, kinds, &gaps, options.timeout_ms);
        proof_diagnostics(policy, &proofs, &mut diagnostics);
        validated = tree.ok() && proofs.iter().all(|p| p.broader == Verdict::Holds);
    }
    corral_compiler::diagnostics::sort(&mut diagnostics);
    let exact = diagnostics.is_empty();
    let summary = summary(
        policy,
        root,
        abi,
        &files.grants,
        &net_lines,
        &not_enforced,
        &diagnostics,
        options.validate.then_some(&proofs),
    );
    Lowering { config, summary, diagnostics, exact, validated, proofs, model }
}

/// Translation validation of any landlockconfig ruleset (hand-written
/// ones included) against `policy`: the verifier's verdicts per kind, with
/// no gaps left out. Paths in `config` are policy paths; `root` tells files
/// from directories.
pub fn prove_config(policy: &Policy, config: &Value, root: &Path, timeout_ms: u32) -> Vec<Proof> {
    let model = model(config, root, &policy.name);
    let grants = validate::config_grants(config, root);
    let gaps = validate::Gaps { non_accesses: non_accesses(&grants), ..Default::default() };
    validate::prove(policy, &model, &[Kind::File, Kind::Connect, Kind::Bind], &gaps, timeout_ms)
}

/// The accesses a broader file rule leaves to files created later: its
/// rights on its wildcard patterns (a deny's own, an allow's subtracted
/// ones).
fn file_gaps(policy: &Policy, broader: &BTreeMap<usize, BTreeSet<String>>) -> Vec<AccessSet> {
    let mut out = Vec::new();
    for rule in broader.keys().filter_map(|i| policy.files.get(*i)) {
        let mut atoms = Vec::new();
        match rule.effect {
            Effect::Deny => atoms.extend(rule.paths.atoms()),
            Effect::Allow => files::negative(&rule.paths, &mut atoms),
        }
        let wild: Vec<Set<_>> =
            atoms.into_iter().filter(|p| !p.is_literal()).cloned().map(Set::Atom).collect();
        if !wild.is_empty() {
            out.push(AccessSet::Files { rights: rule.rights, paths: Set::union(wild) });
        }
    }
    out
}

/// Reading, writing or running a directory, and listing a file, are not
/// accesses: the directories the rules name or pass through, and the
/// files they name.
fn non_accesses(grants: &BTreeMap<String, (bool, BTreeSet<Right>)>) -> Vec<AccessSet> {
    let mut dirs: BTreeSet<&str> = BTreeSet::from(["/"]);
    let mut files = Vec::new();
    for (path, (is_dir, _)) in grants {
        if *is_dir {
            dirs.insert(path);
        } else {
            files.push(path.as_str());
        }
        let mut end = path.len();
        while let Some(i) = path[..end].rfind('/') {
            if i > 0 {
                dirs.insert(&path[..i]);
            }
            end = i;
        }
    }
    let literal = |p: &str| Set::Atom(model::literal_path(p));
    let bits = |rights: &[Right]| Rights(rights.iter().fold(0, |acc, r| acc | Rights::of(*r).0));
    let mut out = vec![AccessSet::Files {
        rights: bits(&[Right::Read, Right::Write, Right::Exec]),
        paths: Set::union(dirs.into_iter().map(literal)),
    }];
    if !files.is_empty() {
        out.push(AccessSet::Files {
            rights: bits(&[Right::List]),
            paths: Set::union(files.into_iter().map(literal)),
        });
    }
    out
}

/// Every host on the granted ports: what a port-only rule lets through.
fn port_gap(rules: &str, ports: &[u16]) -> AccessSet {
    let tcp = Protos { tcp: true, udp: false };
    let ports = model::port_ranges(ports.to_vec());
    match rules {
        "bind" => AccessSet::Bind { protos: tcp, ports, from: None },
        _ => AccessSet::Connect {
            protos: tcp,
            endpoints: Set::Atom(EndpointAtom {
                hosts: corral_compiler::ir::host::builtin_set("any").unwrap_or(Set::Empty),
                ports,
            }),
        },
    }
}

/// What the proof found that the lowering had not reported: a broader
/// access (a lowering bug, reported as the gap it is), a lost access, or a
/// question the solver could not decide.
fn proof_diagnostics(policy: &Policy, proofs: &[Proof], diagnostics: &mut Vec<Diagnostic>) {
    let reported = |code: Code| diagnostics.iter().any(|d: &Diagnostic| d.code == code);
    let mut new = Vec::new();
    for proof in proofs {
        let noun = proof.noun();
        match &proof.broader {
            Verdict::Holds => {}
            Verdict::Counterexample(access) => new.push(
                Diagnostic::error(
                    Code::ArtifactBroader,
                    format!("translation validation: the landlock ruleset allows `{access}`, which the policy denies"),
                )
                .primary(policy.span, format!("in policy `{}`", policy.name))
                .counterexample(access.to_string())
                .help("this is a gap the lowering did not report; please report it with the policy"),
            ),
            Verdict::Unknown(why) => new.push(
                Diagnostic::error(
                    Code::VerificationUnknown,
                    format!("translation validation could not decide whether the ruleset stays within the policy ({noun})"),
                )
                .primary(policy.span, format!("in policy `{}`", policy.name))
                .note(why.clone())
                .help("raise the time limit; until then the ruleset is not validated"),
            ),
        }
        if let Verdict::Counterexample(access) = &proof.narrower {
            if !reported(Code::ArtifactNarrower) && !reported(Code::ArtifactUnsupported) {
                new.push(
                    Diagnostic::warning(
                        Code::ArtifactNarrower,
                        format!("the landlock ruleset denies `{access}`, which the policy allows"),
                    )
                    .primary(policy.span, format!("in policy `{}`", policy.name))
                    .counterexample(access.to_string()),
                );
            }
        }
    }
    diagnostics.extend(new);
}

/// Landlock's execve opens the file for reading too: `execute` works only
/// where `read_file` is granted as well (at the path or above). Exec grants
/// without it are losses.
fn exec_without_read(policy: &Policy, files: &mut files::FileLowering) {
    let readable = |path: &str| {
        let mut at = path;
        loop {
            if files.grants.get(at).is_some_and(|(_, r)| r.contains(&Right::Read)) {
                return true;
            }
            match at.rfind('/') {
                Some(0) if at.len() > 1 => at = "/",
                Some(i) if i > 0 => at = &at[..i],
                _ => return false,
            }
        }
    };
    let unreadable: Vec<String> = files
        .grants
        .iter()
        .filter(|(path, (_, r))| r.contains(&Right::Exec) && !readable(path))
        .map(
            |(path, (is_dir, _))| {
                if *is_dir { format!("exec {}", child(path, "new")) } else { format!("exec {path}") }
            },
        )
        .collect();
    if !unreadable.is_empty() {
        files.narrower.extend(unreadable);
        files.narrower_rules.extend(
            policy
                .files
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.effect == Effect::Allow
                        && r.rights.contains(Right::Exec)
                        && !r.rights.contains(Right::Read)
                })
                .map(|(i, _)| i),
        );
    }
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
            Code::ArtifactUnsupported,
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
                Code::ArtifactUnsupported,
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
    proofs: Option<&Vec<Proof>>,
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
        count(Code::ArtifactBroader),
        count(Code::ArtifactNarrower),
        count(Code::ArtifactUnsupported),
    ));
    match proofs {
        None => out.push_str("translation validation: not run\n"),
        Some(proofs) => {
            out.push_str("translation validation (the ruleset's model against the policy):\n");
            for p in proofs {
                let gained = match &p.broader {
                    Verdict::Holds if p.outside_gaps => {
                        "proved within the policy outside the broader gaps above".to_owned()
                    }
                    Verdict::Holds => "proved within the policy".to_owned(),
                    Verdict::Counterexample(a) => format!("BROADER: allows `{a}`"),
                    Verdict::Unknown(_) => "UNKNOWN (not proven)".to_owned(),
                };
                let lost = match &p.narrower {
                    Verdict::Holds => "loses nothing".to_owned(),
                    Verdict::Counterexample(a) => format!("loses e.g. `{a}`"),
                    Verdict::Unknown(_) => "losses unknown".to_owned(),
                };
                out.push_str(&format!("  {}: {gained}; {lost}\n", p.noun()));
            }
        }
    }
    out
}
