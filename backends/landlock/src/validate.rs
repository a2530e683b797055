//! Translation validation, in two parts:
//! - [`prove`]: the verifier compares the ruleset's model (`model.rs`)
//!   with the policy, per access kind, over every path, host and port —
//!   files created later included — outside the gaps the lowering already
//!   reported as broader;
//! - [`validate`]: every access the emitted rules grant on the existing
//!   entries of the tree is checked with the evaluator, which covers the
//!   existing entries inside those gaps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::{AccessSet, Policy, Right};
use corral_verifier::refine::{self, Verdict};
use corral_verifier::{Kind, Literal, Solver};

use crate::access::{access_rights, fs_accesses};
use crate::files::{MAX_ENTRIES, relevant};

#[derive(Debug, Default)]
pub struct Validation {
    /// (right, path) the rules grant and the policy denies.
    pub violations: BTreeSet<(&'static str, String)>,
    /// The tree was too large to enumerate completely.
    pub incomplete: bool,
}

impl Validation {
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && !self.incomplete
    }
}

struct Check<'a, 'p> {
    eval: &'a Evaluator<'p>,
    out: Validation,
    visited: usize,
}

impl Check<'_, '_> {
    /// Checks `rights` on `path` and, for a directory, on everything below.
    /// `below` is false for the rule's own path: making or removing it is
    /// decided by its parent's rule.
    fn entry(&mut self, fs: &Path, path: &str, rights: &BTreeSet<Right>, below: bool) {
        self.visited += 1;
        if self.visited > MAX_ENTRIES {
            self.out.incomplete = true;
            return;
        }
        let Ok(meta) = std::fs::symlink_metadata(fs) else { return };
        let is_dir = meta.is_dir();
        for &right in rights {
            let own = matches!(right, Right::Create | Right::Delete) && !below;
            if own || !relevant(right, is_dir) {
                continue;
            }
            if !self.eval.is_permitted(&Access::File { right, path: path.to_owned() }) {
                self.out.violations.insert((right.keyword(), path.to_owned()));
            }
        }
        if !is_dir {
            return;
        }
        let Ok(entries) = std::fs::read_dir(fs) else { return };
        let mut names: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
        names.sort();
        for name in names {
            let child = if path == "/" { format!("/{name}") } else { format!("{path}/{name}") };
            self.entry(&fs.join(&name), &child, rights, true);
        }
    }
}

/// Reads the rights back from the emitted accesses and checks them on
/// every existing entry beneath each granted path.
pub fn validate(
    policy: &Policy,
    eval: &Evaluator<'_>,
    root: &Path,
    grants: &BTreeMap<String, (bool, BTreeSet<Right>)>,
    abi: u8,
) -> Validation {
    debug_assert!(policy.files.len() == eval.policy().files.len());
    let mut check = Check { eval, out: Validation::default(), visited: 0 };
    for (path, (is_dir, rights)) in grants {
        let emitted: BTreeSet<Right> =
            fs_accesses(rights, *is_dir, abi).into_iter().flat_map(access_rights).collect();
        let fs = root.join(path.trim_start_matches('/'));
        check.entry(&fs, path, &emitted, false);
    }
    check.out
}

/// The accesses the lowering reported as broader (C3001): the proof looks
/// outside them, and reports them as accepted gaps.
#[derive(Debug, Default)]
pub struct Gaps {
    pub files: Vec<AccessSet>,
    /// Not accesses at all: reading, writing or running the directories
    /// the rules name or pass through, listing the files they name.
    pub non_accesses: Vec<AccessSet>,
    pub connect: Option<AccessSet>,
    pub bind: Option<AccessSet>,
}

/// The verifier's verdicts for one access kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    pub kind: Kind,
    /// Something the ruleset permits and the policy denies, outside the
    /// reported gaps.
    pub broader: Verdict,
    /// Something the policy permits and the ruleset denies.
    pub narrower: Verdict,
    /// The proof left out accesses the lowering reported as broader.
    pub outside_gaps: bool,
}

impl Proof {
    pub fn noun(&self) -> &'static str {
        match self.kind {
            Kind::File => "files",
            Kind::Connect => "tcp connect",
            Kind::Bind => "tcp bind",
            Kind::Device => "devices",
        }
    }
}

/// Proves, for each of `kinds` (those the ruleset mediates), that `model`
/// permits nothing `policy` denies outside `gaps`, and finds what the
/// agent loses.
pub fn prove(policy: &Policy, model: &Policy, kinds: &[Kind], gaps: &Gaps, timeout_ms: u32) -> Vec<Proof> {
    let solver = Solver::new(timeout_ms);
    let tcp = corral_compiler::ir::Protos { tcp: true, udp: false };
    let any = corral_compiler::ir::host::builtin_set("any").unwrap_or(corral_compiler::ir::Set::Empty);
    let all_ports = corral_compiler::ir::Set::Atom(corral_compiler::ir::PortRange::ALL);
    let tcp_connect = AccessSet::Connect {
        protos: tcp,
        endpoints: corral_compiler::ir::Set::Atom(corral_compiler::ir::EndpointAtom {
            hosts: any,
            ports: all_ports.clone(),
        }),
    };
    let tcp_bind = AccessSet::Bind { protos: tcp, ports: all_ports, from: None };
    let mut out = Vec::new();
    for &kind in kinds {
        let mut scope: Vec<Literal<'_>> = Vec::new();
        let mut outside: Vec<Literal<'_>> = Vec::new();
        match kind {
            Kind::File => {
                scope.extend(gaps.non_accesses.iter().map(Literal::NotIn));
                outside.extend(gaps.files.iter().map(Literal::NotIn));
            }
            Kind::Connect => {
                scope.push(Literal::In(&tcp_connect));
                outside.extend(gaps.connect.iter().map(Literal::NotIn));
            }
            _ => {
                scope.push(Literal::In(&tcp_bind));
                outside.extend(gaps.bind.iter().map(Literal::NotIn));
            }
        }
        let outside_gaps = !outside.is_empty();
        let mut gained_scope = scope.clone();
        gained_scope.extend(outside);
        // A model of many rules (a carved tree) is asked about rule by rule
        // at once; a small one as a whole first.
        let broader = if kind == Kind::File && model.files.len() > RULE_BY_RULE {
            rule_by_rule(policy, model, &gained_scope, &solver)
        } else {
            match one(refine::broader(model, policy, &[kind], &gained_scope, &solver)) {
                Verdict::Unknown(_) if kind == Kind::File => {
                    rule_by_rule(policy, model, &gained_scope, &solver)
                }
                verdict => verdict,
            }
        };
        let narrower = one(refine::narrower(model, policy, &[kind], &scope, &solver));
        out.push(Proof { kind, broader, narrower, outside_gaps });
    }
    out
}

/// The paths a ruleset names, with whether each is a directory in the
/// tree under `root` (missing ones count as directories).
pub fn config_grants(config: &serde_json::Value, root: &Path) -> BTreeMap<String, (bool, BTreeSet<Right>)> {
    let mut out = BTreeMap::new();
    for rule in config["pathBeneath"].as_array().into_iter().flatten() {
        for parent in rule["parent"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_str) {
            let fs = root.join(parent.trim_start_matches('/'));
            let is_dir = std::fs::symlink_metadata(&fs).map_or(true, |m| m.is_dir());
            out.insert(parent.to_owned(), (is_dir, BTreeSet::new()));
        }
    }
    out
}

/// Above this many file rules in the model, the file question is asked
/// rule by rule from the start.
const RULE_BY_RULE: usize = 32;

/// The file question asked again for one rule of the model at a time:
/// each query is confined below one granted path, which the search
/// decides where the whole question was too large. Unknown only if some
/// rule stays unknown, and that rule is named.
fn rule_by_rule(policy: &Policy, model: &Policy, scope: &[Literal<'_>], solver: &Solver) -> Verdict {
    let mut unknown = None;
    for (i, rule) in model.files.iter().enumerate() {
        let mut literals = scope.to_vec();
        literals.push(Literal::Covered { policy: model, rule: corral_compiler::eval::RuleRef::File(i) });
        match one(refine::broader(model, policy, &[Kind::File], &literals, solver)) {
            Verdict::Holds => {}
            Verdict::Counterexample(access) => return Verdict::Counterexample(access),
            Verdict::Unknown(why) => {
                unknown.get_or_insert_with(|| format!("{why} (below `{}`)", show_paths(&rule.paths)));
            }
        }
    }
    unknown.map_or(Verdict::Holds, Verdict::Unknown)
}

fn show_paths(paths: &corral_compiler::ir::PathSet) -> String {
    paths.atoms().iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" | ")
}

fn one(verdicts: Vec<refine::KindVerdict>) -> Verdict {
    verdicts.into_iter().next().map_or(Verdict::Unknown("no verdict".to_owned()), |v| v.verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_compiler::{Options, compile_source};

    /// A rule on `/w` that ignores the deny on `/w/secret` is caught.
    #[test]
    fn a_grant_over_a_denied_entry_is_a_violation() {
        let dir = std::env::temp_dir().join(format!("corral-validate-{}", std::process::id()));
        let made = std::fs::create_dir_all(dir.join("w/secret"))
            .and_then(|()| std::fs::write(dir.join("w/secret/key"), "k"));
        assert!(made.is_ok());
        let options = Options { home: "/home/u".to_owned(), lib_dirs: Vec::new(), params: Vec::new() };
        let source = r#"policy p { allow read under "/w"  deny read "/w/secret/key" }"#;
        let compilation = compile_source("t.corral", source, None, &options);
        let Some(policy) = compilation.program.policies.first() else { unreachable!("the policy compiles") };
        let eval = Evaluator::new(policy);
        let wrong: BTreeMap<String, (bool, BTreeSet<Right>)> =
            [("/w".to_owned(), (true, BTreeSet::from([Right::Read])))].into();
        let v = validate(policy, &eval, &dir, &wrong, 7);
        let right: BTreeMap<String, (bool, BTreeSet<Right>)> =
            [("/w/secret".to_owned(), (true, BTreeSet::from([Right::List])))].into();
        let ok = validate(policy, &eval, &dir, &right, 7);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(v.violations.into_iter().collect::<Vec<_>>(), [("read", "/w/secret/key".to_owned())]);
        assert!(!ok.ok(), "listing is not allowed by the policy");
    }
}
