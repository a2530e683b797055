//! Proving `assert` formulas (LANGUAGE.md §5).
//!
//! Every quantified atom (`can`, `never`, `only`) is a closed statement
//! about the policy, decided by one existential query; the connectives are
//! then evaluated in three-valued (Kleene) logic, so one undecided atom
//! makes the assertion unknown only when the others do not settle it. A
//! failing assertion is explained by the witnesses of the atoms that made
//! it fail.

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::Access;
use corral_compiler::ir::{
    AccessSet, Assertion, CmpOp, EndpointAtom, Formula, FormulaKind, HostAtom, PathPattern, Policy,
    PortRange, Quantifier, Segment, Set,
};
use corral_compiler::source::SourceSpan;

use super::{PolicyCx, Search, kind_of, shapes, unknown};
use crate::{Literal, Query};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    True,
    False,
    Unknown,
}

/// Why a formula has its value: accesses that show it, or plain notes.
#[derive(Clone, Debug)]
struct Evidence {
    span: SourceSpan,
    access: Option<Access>,
    note: String,
}

struct Eval {
    truth: Truth,
    why_true: Vec<Evidence>,
    why_false: Vec<Evidence>,
    unknown: Vec<(SourceSpan, String)>,
}

impl Eval {
    fn leaf(truth: Truth) -> Eval {
        Eval { truth, why_true: Vec::new(), why_false: Vec::new(), unknown: Vec::new() }
    }

    fn not(self) -> Eval {
        let truth = match self.truth {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        };
        Eval { truth, why_true: self.why_false, why_false: self.why_true, unknown: self.unknown }
    }

    /// Kleene conjunction (`all = true`) or disjunction (`all = false`).
    fn combine(parts: Vec<Eval>, conjunction: bool) -> Eval {
        let (absorbing, neutral) =
            if conjunction { (Truth::False, Truth::True) } else { (Truth::True, Truth::False) };
        let truth = if parts.iter().any(|p| p.truth == absorbing) {
            absorbing
        } else if parts.iter().all(|p| p.truth == neutral) {
            neutral
        } else {
            Truth::Unknown
        };
        let mut out = Eval::leaf(truth);
        for p in parts {
            // Only the parts that carry the result explain it.
            if p.truth == absorbing || truth == neutral {
                out.why_true.extend(p.why_true);
                out.why_false.extend(p.why_false);
            }
            out.unknown.extend(p.unknown);
        }
        out
    }
}

/// The universe of accesses an `only` speaks about: same rights (or
/// protocols, device), any resource.
fn universe(set: &AccessSet) -> AccessSet {
    let every_path = || {
        Set::union([
            Set::Atom(PathPattern::root()),
            Set::Atom(PathPattern { segments: vec![Segment::AnyDepth] }),
        ])
    };
    let every_host = || Set::union([Set::Atom(HostAtom::AnyName), Set::Atom(HostAtom::AnyAddr)]);
    match set {
        AccessSet::Files { rights, .. } => AccessSet::Files { rights: *rights, paths: every_path() },
        AccessSet::Connect { protos, .. } => AccessSet::Connect {
            protos: *protos,
            endpoints: Set::Atom(EndpointAtom { hosts: every_host(), ports: Set::Atom(PortRange::ALL) }),
        },
        AccessSet::Bind { protos, .. } => {
            AccessSet::Bind { protos: *protos, ports: Set::Atom(PortRange::ALL), from: None }
        }
        AccessSet::Device { device, .. } => AccessSet::Device {
            device: *device,
            modes: corral_compiler::ir::DeviceMode::modes_of(*device).to_vec(),
        },
    }
}

/// The existential query behind one quantified atom: `can S` asks for a
/// permitted access in S; `never S` is its negation; `only S` asks for a
/// permitted access with the same rights outside S.
fn atom_query<'p>(
    policy: &'p Policy,
    quantifier: Quantifier,
    set: &'p AccessSet,
    universe: &'p AccessSet,
) -> Query<'p> {
    let mut literals = vec![Literal::Permitted { policy, right: None }];
    match quantifier {
        Quantifier::Can | Quantifier::Never => literals.push(Literal::In(set)),
        Quantifier::Only => {
            literals.push(Literal::In(universe));
            literals.push(Literal::NotIn(set));
        }
    }
    Query { kind: kind_of(set), literals }
}

/// When a file query over the whole policy is undecided, ask once per allow
/// rule instead: "is there such an access that this rule covers?". Each of
/// these queries is small (only the rules that can meet that one rule take
/// part). Rules that cannot meet the set (`can`, `never`), or that lie
/// within it (`only`), are skipped without a query. The answer is exact:
/// some rule finds the access, or every rule is ruled out; otherwise it
/// stays unknown.
fn split_by_rule(
    cx: &PolicyCx<'_>,
    query: &Query<'_>,
    set: &AccessSet,
    quantifier: Quantifier,
    reason: String,
    out: &mut Vec<Diagnostic>,
) -> Search {
    let AccessSet::Files { rights, paths } = set else { return Search::Unknown(reason) };
    let policy = cx.policy;
    let mut undecided = None;
    for (i, rule) in policy.files.iter().enumerate() {
        if rule.effect != corral_compiler::ir::Effect::Allow || rule.rights.0 & rights.0 == 0 {
            continue;
        }
        let skip = match quantifier {
            Quantifier::Only => shapes::set_within(&rule.paths, paths),
            Quantifier::Can | Quantifier::Never => !shapes::may_meet(&rule.paths, paths),
        };
        if skip {
            continue;
        }
        let mut literals = query.literals.clone();
        literals.push(Literal::Covered { policy, rule: corral_compiler::eval::RuleRef::File(i) });
        match cx.search(&Query { kind: query.kind, literals }, out) {
            Search::Found(access) => return Search::Found(access),
            Search::NotFound => {}
            Search::Unknown(r) => undecided = Some(r),
        }
    }
    match undecided {
        Some(r) => Search::Unknown(r),
        None => Search::NotFound,
    }
}

fn evaluate(cx: &PolicyCx<'_>, f: &Formula, out: &mut Vec<Diagnostic>) -> Eval {
    match &f.kind {
        FormulaKind::Bool(b) => Eval::leaf(if *b { Truth::True } else { Truth::False }),
        FormulaKind::Not(inner) => evaluate(cx, inner, out).not(),
        FormulaKind::And(parts) => Eval::combine(parts.iter().map(|p| evaluate(cx, p, out)).collect(), true),
        FormulaKind::Or(parts) => Eval::combine(parts.iter().map(|p| evaluate(cx, p, out)).collect(), false),
        FormulaKind::Implies(parts) => {
            // Right-associative: a implies (b implies c) = not a or (not b or c).
            let mut evals: Vec<Eval> = parts.iter().map(|p| evaluate(cx, p, out)).collect();
            let Some(mut acc) = evals.pop() else { return Eval::leaf(Truth::True) };
            while let Some(premise) = evals.pop() {
                acc = Eval::combine(vec![premise.not(), acc], false);
            }
            acc
        }
        FormulaKind::Isolation { op, tier } => {
            let actual = cx.policy.tier();
            let holds = match op {
                CmpOp::Ge => actual >= *tier,
                CmpOp::Le => actual <= *tier,
                CmpOp::Eq => actual == *tier,
            };
            let note = format!("the isolation tier is `{}`", actual.keyword());
            let ev = Evidence { span: f.span, access: None, note };
            let mut e = Eval::leaf(if holds { Truth::True } else { Truth::False });
            if holds {
                e.why_true.push(ev)
            } else {
                e.why_false.push(ev)
            }
            e
        }
        FormulaKind::Access { quantifier, set } => {
            let all = universe(set);
            let query = atom_query(cx.policy, *quantifier, set, &all);
            let answer = match cx.search(&query, out) {
                Search::Unknown(reason) => split_by_rule(cx, &query, set, *quantifier, reason, out),
                answer => answer,
            };
            match answer {
                Search::Unknown(reason) => {
                    let mut e = Eval::leaf(Truth::Unknown);
                    e.unknown.push((f.span, reason));
                    e
                }
                Search::NotFound => {
                    let truth = if *quantifier == Quantifier::Can { Truth::False } else { Truth::True };
                    let note = match quantifier {
                        Quantifier::Can | Quantifier::Never => "no access in this set is permitted",
                        Quantifier::Only => "no permitted access lies outside this set",
                    };
                    let ev = Evidence { span: f.span, access: None, note: note.to_owned() };
                    let mut e = Eval::leaf(truth);
                    if truth == Truth::True {
                        e.why_true.push(ev)
                    } else {
                        e.why_false.push(ev)
                    }
                    e
                }
                Search::Found(access) => {
                    let truth = if *quantifier == Quantifier::Can { Truth::True } else { Truth::False };
                    let note = match quantifier {
                        Quantifier::Can | Quantifier::Never => format!("`{access}` is permitted"),
                        Quantifier::Only => format!("`{access}` is permitted and outside this set"),
                    };
                    let ev = Evidence { span: f.span, access: Some(access), note };
                    let mut e = Eval::leaf(truth);
                    if truth == Truth::True {
                        e.why_true.push(ev)
                    } else {
                        e.why_false.push(ev)
                    }
                    e
                }
            }
        }
    }
}

fn title(a: &Assertion) -> String {
    match &a.name {
        Some(n) => format!("assertion `{n}`"),
        None => "assertion".to_owned(),
    }
}

pub(crate) fn check(cx: &PolicyCx<'_>, out: &mut Vec<Diagnostic>) {
    for a in &cx.policy.assertions {
        let result = evaluate(cx, &a.formula, out);
        let inherited = if a.origin.policy == cx.policy.name {
            String::new()
        } else {
            format!(" (inherited from `{}`)", a.origin.policy)
        };
        match result.truth {
            Truth::True => {}
            Truth::Unknown => {
                let what = format!("{}{inherited} in policy `{}`", title(a), cx.policy.name);
                let reasons: Vec<&str> = result.unknown.iter().map(|(_, r)| r.as_str()).collect();
                let mut d = unknown(&what, a.origin.span, &reasons.join("; "), cx.timeout_ms);
                for (span, _) in result.unknown.iter().take(3) {
                    d = d.secondary(*span, "undecided");
                }
                out.push(d);
            }
            Truth::False => {
                let mut d = Diagnostic::error(
                    Code::AssertionFailed,
                    format!("{} fails in policy `{}`{inherited}", title(a), cx.policy.name),
                )
                .primary(a.origin.span, "does not hold");
                if let Some(reason) = &a.because {
                    d = d.note(format!("because: {reason}"));
                }
                for ev in result.why_false.iter().take(6) {
                    d = d.secondary(ev.span, ev.note.clone());
                    if let Some(access) = &ev.access {
                        d = cx.granting(access, d.counterexample(access.to_string()));
                    }
                }
                out.push(d);
            }
        }
    }
}

/// The SMT-LIB text of every query behind one assertion, for
/// `--print-smtlib`.
pub fn assertion_queries(policy: &Policy, assertion: &Assertion, solver: &crate::Solver) -> Vec<String> {
    let mut out = Vec::new();
    collect(policy, &assertion.formula, solver, &mut out);
    out
}

fn collect(policy: &Policy, f: &Formula, solver: &crate::Solver, out: &mut Vec<String>) {
    match &f.kind {
        FormulaKind::Not(x) => collect(policy, x, solver, out),
        FormulaKind::And(v) | FormulaKind::Or(v) | FormulaKind::Implies(v) => {
            v.iter().for_each(|x| collect(policy, x, solver, out))
        }
        FormulaKind::Access { quantifier, set } => {
            let all = universe(set);
            out.push(solver.smtlib(&atom_query(policy, *quantifier, set, &all)));
        }
        FormulaKind::Isolation { .. } | FormulaKind::Bool(_) => {}
    }
}
