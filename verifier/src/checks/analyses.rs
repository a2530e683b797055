//! The analyses (warnings): redundant allows, dead allows, patterns that
//! match no well-formed path, denies that overlap no allow, and policies
//! that grant nothing. Only rules the policy declares itself are judged
//! (an inherited rule is judged in its own policy), and the two halves of
//! a `readonly` are left alone where the idiom makes them look redundant.
//!
//! A cheap syntactic filter (rights, protocols, devices and literal path
//! prefixes) first rules out the pairs of rules that cannot overlap, and a
//! syntactic subsumption test (`/a/**` contains `/a/b/*.rs`) settles the
//! obvious cases, so most rules cost no query at all; the rest is decided
//! by the solver. Analyses are warnings, so they run under a time budget:
//! when it is spent they stop and say how many rules they left unjudged.

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::{Access, RuleRef};
use corral_compiler::ir::{AccessSet, Effect, GlobPart, PathPattern, Policy, Segment, Set};

use super::shapes::set_within;
use super::{KINDS, PolicyCx, Search, permitted, rules_of};
use crate::{Kind, Literal, Query};

/// Most candidate rules named in one finding.
const MAX_NAMED: usize = 3;

/// The time the analyses of one policy may take.
struct Budget {
    deadline: std::time::Instant,
    skipped: usize,
}

impl Budget {
    /// Is there time left for one more query? Counts the rules left out.
    fn allows_query(&mut self) -> bool {
        if std::time::Instant::now() < self.deadline {
            true
        } else {
            self.skipped += 1;
            false
        }
    }

    /// Runs a query if there is time left, within the time left.
    fn search(&mut self, cx: &PolicyCx<'_>, query: &Query<'_>, out: &mut Vec<Diagnostic>) -> Option<Search> {
        if !self.allows_query() {
            return None;
        }
        let left = self.deadline.saturating_duration_since(std::time::Instant::now()).as_millis();
        let timeout = u32::try_from(left).unwrap_or(u32::MAX).clamp(1, cx.timeout_ms.max(1));
        Some(cx.search_within(query, &crate::Solver::new(timeout), out))
    }
}

/// The policy's allow rules alone: "some allow covers the access" is
/// `Permitted` by this policy.
fn allows_only(policy: &Policy) -> Policy {
    let allow = |e: Effect| e == Effect::Allow;
    Policy {
        files: policy.files.iter().filter(|r| allow(r.effect)).cloned().collect(),
        connects: policy.connects.iter().filter(|r| allow(r.effect)).cloned().collect(),
        binds: policy.binds.iter().filter(|r| allow(r.effect)).cloned().collect(),
        devices: policy.devices.iter().filter(|r| allow(r.effect)).cloned().collect(),
        assertions: Vec::new(),
        ..policy.clone()
    }
}

pub(crate) fn check(cx: &PolicyCx<'_>, budget_ms: u64, out: &mut Vec<Diagnostic>) {
    let mut budget = Budget {
        deadline: std::time::Instant::now() + std::time::Duration::from_millis(budget_ms),
        skipped: 0,
    };
    // An empty rule is trivially "covered" and "overridden": report it once.
    let empty = unmatchable(cx, &mut budget, out);
    let allowing = allows_only(cx.policy);
    let overlaps = Overlaps::new(cx.policy);
    for kind in KINDS {
        let rules = rules_of(cx.policy, kind);
        let own = |r: &RuleRef| r.origin(cx.policy).policy == cx.policy.name && !empty.contains(r);
        let allows: Vec<RuleRef> =
            rules.iter().copied().filter(|r| r.effect(cx.policy) == Some(Effect::Allow)).collect();
        let denies: Vec<RuleRef> =
            rules.iter().copied().filter(|r| r.effect(cx.policy) == Some(Effect::Deny)).collect();
        dead_and_redundant(cx, kind, &allows, &denies, &own, &overlaps, &mut budget, out);
        for &d in denies.iter().filter(|d| own(d) && !d.origin(cx.policy).readonly) {
            deny_overlaps_nothing(cx, kind, d, &allowing, &mut budget, out);
        }
    }
    grants_nothing(cx, &mut budget, out);
    if budget.skipped > 0 {
        out.push(
            Diagnostic::new(
                Code::AnalysesIncomplete,
                corral_compiler::diagnostics::Severity::Info,
                format!("analyses of policy `{}` stopped after {budget_ms} ms", cx.policy.name),
            )
            .primary(cx.policy.span, format!("{} rules were not analysed", budget.skipped))
            .note("assertions, safety checks and bounds were all proven; only the warnings are incomplete")
            .help("`--no-analyses` skips them; `--analysis-budget-ms` gives them more time"),
        );
    }
}

#[allow(clippy::too_many_arguments)] // one caller; the state is the loop's own
fn dead_and_redundant(
    cx: &PolicyCx<'_>,
    kind: Kind,
    allows: &[RuleRef],
    denies: &[RuleRef],
    own: &dyn Fn(&RuleRef) -> bool,
    overlaps: &Overlaps,
    budget: &mut Budget,
    out: &mut Vec<Diagnostic>,
) {
    let policy = cx.policy;
    // Later rules are judged first, so of two equal rules the later one is
    // reported as the redundant one.
    let mut kept: Vec<RuleRef> = allows.to_vec();
    let mask_of = |rules: &[RuleRef]| {
        let mut mask = vec![false; policy.files.len()];
        for r in rules {
            if let RuleRef::File(j) = r {
                mask[*j] = true;
            }
        }
        mask
    };
    let deny_mask = mask_of(denies);
    let mut kept_mask = mask_of(allows);
    // Removes a rule found redundant or dead from the rules that cover others.
    let drop_kept = |kept: &mut Vec<RuleRef>, kept_mask: &mut Vec<bool>, rule: RuleRef| match rule {
        RuleRef::File(j) => kept_mask[j] = false,
        other => kept.retain(|k| *k != other),
    };
    for &rule in allows.iter().rev().filter(|r| own(r)) {
        let origin = rule.origin(policy);
        // Concrete evidence first: a sample the policy permits shows the
        // rule is alive; one no other kept allow covers shows it is needed.
        let sampled = samples(cx, rule);
        let alive = sampled.iter().any(|a| cx.eval.decide(a).permitted);
        let needed = sampled.iter().any(|a| {
            cx.eval.decide(a).allows.iter().all(|k| {
                *k == rule
                    || matches!(k, RuleRef::File(j) if !kept_mask[*j])
                    || (!matches!(k, RuleRef::File(_)) && !kept.contains(k))
            })
        });
        let overlapping_denies: Vec<RuleRef> =
            if alive { Vec::new() } else { overlaps.filter(policy, rule, denies, &deny_mask) };
        let dead = match overlapping_denies.iter().find(|d| subsumed(policy, rule, **d)) {
            Some(d) => Some(vec![*d]),
            None if overlapping_denies.is_empty() => None,
            None => {
                let query = permitted(policy, kind, vec![Literal::Covered { policy, rule }]);
                matches!(budget.search(cx, &query, out), Some(Search::NotFound))
                    .then(|| overlapping_denies.clone())
            }
        };
        if let Some(overriding) = dead {
            let mut d = Diagnostic::warning(Code::DeadRule, "allow rule is overridden by denies everywhere")
                .primary(origin.span, "permits nothing: every access it covers is denied");
            for deny in overriding.iter().take(MAX_NAMED) {
                d = d.secondary(deny.origin(policy).span, "overrides it");
            }
            out.push(d.help("remove the allow, or narrow the deny if the allow was meant to take effect"));
            drop_kept(&mut kept, &mut kept_mask, rule);
            continue;
        }
        if origin.readonly || needed {
            continue;
        }
        let others: Vec<RuleRef> =
            overlaps.filter(policy, rule, &kept, &kept_mask).into_iter().filter(|k| *k != rule).collect();
        if others.is_empty() {
            continue;
        }
        if let Some(&k) = others.iter().find(|k| subsumed(policy, rule, **k)) {
            out.push(
                Diagnostic::warning(Code::RedundantRule, "allow rule is covered by other allows")
                    .primary(origin.span, "every access it allows is already allowed")
                    .secondary(k.origin(policy).span, "covers it entirely")
                    .help("remove it, or merge it into the rules that cover it"),
            );
            drop_kept(&mut kept, &mut kept_mask, rule);
            continue;
        }
        let mut literals = vec![Literal::Covered { policy, rule }];
        literals.extend(others.iter().map(|&k| Literal::NotCovered { policy, rule: k }));
        if let Some(Search::NotFound) = budget.search(cx, &Query { kind, literals }, out) {
            let mut d = Diagnostic::warning(Code::RedundantRule, "allow rule is covered by other allows")
                .primary(origin.span, "every access it allows is already allowed");
            let mut named = 0;
            for &k in &others {
                if named == MAX_NAMED {
                    break;
                }
                let overlap = Query {
                    kind,
                    literals: vec![Literal::Covered { policy, rule }, Literal::Covered { policy, rule: k }],
                };
                match budget.search(cx, &overlap, out) {
                    Some(Search::Found(access)) => {
                        d = d.secondary(k.origin(policy).span, format!("also allows `{access}`"));
                        named += 1;
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            out.push(d.help("remove it, or merge it into the rules that cover it"));
            drop_kept(&mut kept, &mut kept_mask, rule);
        }
    }
}

/// A few concrete accesses the file rule covers, for cheap evidence: one
/// per right and pattern, with wildcards filled in by the shortest choice
/// and by a plain `x`. Only samples the rule really covers are kept.
fn samples(cx: &PolicyCx<'_>, rule: RuleRef) -> Vec<Access> {
    let RuleRef::File(i) = rule else { return Vec::new() };
    let r = &cx.policy.files[i];
    let mut out = Vec::new();
    for p in r.paths.atoms() {
        for fill in ["x", ""] {
            let Some(path) = instantiate(p, fill) else { continue };
            for right in r.rights.iter() {
                let access = Access::File { right, path: path.clone() };
                if cx.eval.decide(&access).allows.contains(&rule) && !out.contains(&access) {
                    out.push(access);
                }
            }
        }
    }
    out
}

/// A path the pattern matches: `*` becomes `fill`, `?` an `x`, the first
/// alternative is taken, `**` in the middle is nothing and at the end one
/// `x` segment.
fn instantiate(p: &PathPattern, fill: &str) -> Option<String> {
    fn glob(parts: &[GlobPart], fill: &str, out: &mut String) {
        for part in parts {
            match part {
                GlobPart::Literal(l) => out.push_str(l),
                GlobPart::Star => out.push_str(fill),
                GlobPart::Question => out.push('x'),
                GlobPart::Alternatives(alts) => {
                    if let Some(first) = alts.first() {
                        glob(first, fill, out);
                    }
                }
            }
        }
    }
    let mut path = String::new();
    let last = p.segments.len().saturating_sub(1);
    for (k, seg) in p.segments.iter().enumerate() {
        match seg {
            Segment::Literal(l) => {
                path.push('/');
                path.push_str(l);
            }
            Segment::AnyDepth if k == last => path.push_str("/x"),
            Segment::AnyDepth => {}
            Segment::Glob(parts) => {
                let mut s = String::new();
                glob(parts, fill, &mut s);
                if s.is_empty() || s == "." || s == ".." {
                    return None;
                }
                path.push('/');
                path.push_str(&s);
            }
        }
    }
    Some(if path.is_empty() { "/".to_owned() } else { path })
}

/// Does rule `b` cover every access of rule `a`? Decided syntactically:
/// sound (a `true` is always right) but incomplete, for file rules whose
/// sets are unions of patterns.
fn subsumed(policy: &Policy, a: RuleRef, b: RuleRef) -> bool {
    let (RuleRef::File(i), RuleRef::File(j)) = (a, b) else { return false };
    let (x, y) = (&policy.files[i], &policy.files[j]);
    if x.rights.0 & !y.rights.0 != 0 {
        return false;
    }
    set_within(&x.paths, &y.paths)
}

fn deny_overlaps_nothing(
    cx: &PolicyCx<'_>,
    kind: Kind,
    deny: RuleRef,
    allowing: &Policy,
    budget: &mut Budget,
    out: &mut Vec<Diagnostic>,
) {
    let policy = cx.policy;
    let query = Query {
        kind,
        literals: vec![
            Literal::Covered { policy, rule: deny },
            Literal::Permitted { policy: allowing, right: None },
        ],
    };
    // Found, undecided or out of time: claim nothing.
    if let Some(Search::NotFound) = budget.search(cx, &query, out) {
        out.push(
            Diagnostic::warning(Code::DenyOverlapsNothing, "deny rule overlaps no allow")
                .primary(deny.origin(policy).span, "nothing it denies is allowed in the first place")
                .help("everything is denied by default; keep it only as a guard against future allows"),
        );
    }
}

fn grants_nothing(cx: &PolicyCx<'_>, budget: &mut Budget, out: &mut Vec<Diagnostic>) {
    for kind in KINDS {
        if rules_of(cx.policy, kind).iter().all(|r| r.effect(cx.policy) != Some(Effect::Allow)) {
            continue;
        }
        match budget.search(cx, &permitted(cx.policy, kind, Vec::new()), out) {
            Some(Search::NotFound) => continue,
            _ => return,
        }
    }
    out.push(
        Diagnostic::warning(Code::GrantsNothing, format!("policy `{}` grants nothing", cx.policy.name))
            .primary(cx.policy.span, "every access is denied")
            .help("an agent under this policy can do nothing at all; add the allows it needs"),
    );
}

/// Rules whose set is empty, and path patterns that match no well-formed
/// path (`/a/{.,..}`). Returns the rules found empty.
fn unmatchable(cx: &PolicyCx<'_>, budget: &mut Budget, out: &mut Vec<Diagnostic>) -> Vec<RuleRef> {
    let policy = cx.policy;
    let mut empty = Vec::new();
    for (i, rule) in policy.files.iter().enumerate() {
        if rule.origin.policy != policy.name {
            continue;
        }
        let mut reported = false;
        for p in rule.paths.atoms() {
            if !pattern_can_match(p) {
                out.push(
                    Diagnostic::warning(Code::UnmatchablePattern, format!("pattern `{p}` matches no path"))
                        .primary(rule.origin.span, "in this rule")
                        .help("every segment of a path is non-empty and not `.` or `..`; this pattern only produces such segments"),
                );
                reported = true;
            }
        }
        if reported && rule.paths.atoms().iter().all(|p| !pattern_can_match(p)) {
            empty.push(RuleRef::File(i));
        }
        if !reported && has_set_algebra(&rule.paths) {
            let set = AccessSet::Files { rights: rule.rights, paths: rule.paths.clone() };
            let query = Query { kind: Kind::File, literals: vec![Literal::In(&set)] };
            if let Some(Search::NotFound) = budget.search(cx, &query, out) {
                out.push(
                    Diagnostic::warning(Code::UnmatchablePattern, "rule matches no path")
                        .primary(policy.files[i].origin.span, "its set of paths is empty")
                        .help("the intersection or difference leaves nothing; check the operands"),
                );
                empty.push(RuleRef::File(i));
            }
        }
    }
    empty
}

fn has_set_algebra<A>(set: &Set<A>) -> bool {
    match set {
        Set::Inter(_) | Set::Diff(..) => true,
        Set::Union(v) => v.iter().any(has_set_algebra),
        Set::Empty | Set::Atom(_) => false,
    }
}

/// Can the pattern match some well-formed path? Only a segment made of
/// literals and alternatives can fail, by producing nothing but ``, `.` or
/// `..`.
pub(crate) fn pattern_can_match(p: &PathPattern) -> bool {
    p.segments.iter().all(|s| match s {
        Segment::Literal(_) | Segment::AnyDepth => true,
        Segment::Glob(parts) => glob_can_match(parts, String::new(), &mut 0),
    })
}

fn glob_can_match(parts: &[GlobPart], prefix: String, budget: &mut usize) -> bool {
    *budget += 1;
    if *budget > 4096 {
        // Too many combinations to enumerate: assume it matches.
        return true;
    }
    match parts.split_first() {
        None => !matches!(prefix.as_str(), "" | "." | ".."),
        Some((GlobPart::Star | GlobPart::Question, _)) => true,
        Some((GlobPart::Literal(l), rest)) => glob_can_match(rest, prefix + l, budget),
        Some((GlobPart::Alternatives(alts), rest)) => alts.iter().any(|alt| {
            let combined: Vec<GlobPart> = alt.iter().cloned().chain(rest.iter().cloned()).collect();
            glob_can_match(&combined, prefix.clone(), budget)
        }),
    }
}

/// A cheap over-approximation of "two rules cover a common access": false
/// only when they certainly do not. File rules are compared by rights and
/// by the literal prefixes of their patterns, computed once; candidates are
/// found through the first two prefix segments, so that a large policy is
/// not compared pair by pair.
struct Overlaps {
    /// Per file rule, the literal prefix of each of its patterns.
    prefixes: Vec<Vec<Vec<String>>>,
    /// File rules by the first two segments of a pattern's prefix.
    by_head: std::collections::HashMap<(String, String), Vec<usize>>,
    /// File rules with a pattern whose prefix is shorter than two segments.
    shallow: Vec<usize>,
}

impl Overlaps {
    fn new(policy: &Policy) -> Overlaps {
        let mut o = Overlaps { prefixes: Vec::new(), by_head: Default::default(), shallow: Vec::new() };
        for (i, rule) in policy.files.iter().enumerate() {
            let prefixes: Vec<Vec<String>> =
                rule.paths.atoms().iter().map(|p| p.literal_prefix().map(str::to_owned).collect()).collect();
            let mut shallow = false;
            for p in &prefixes {
                match p.as_slice() {
                    [a, b, ..] => o.by_head.entry((a.clone(), b.clone())).or_default().push(i),
                    _ => shallow = true,
                }
            }
            if shallow {
                o.shallow.push(i);
            }
            o.prefixes.push(prefixes);
        }
        o
    }

    /// The rules among `candidates` that may overlap `rule`, in rule order.
    /// For a file rule only the rules sharing a prefix head (and the
    /// shallow ones) are looked at.
    /// `mask` marks, by file rule index, the rules of `candidates`.
    fn filter(&self, policy: &Policy, rule: RuleRef, candidates: &[RuleRef], mask: &[bool]) -> Vec<RuleRef> {
        let RuleRef::File(i) = rule else {
            return candidates.iter().copied().filter(|c| may_overlap_other(policy, rule, *c)).collect();
        };
        let shallow_rule = self.prefixes[i].iter().any(|p| p.len() < 2);
        let marked = |j: usize| mask.get(j).copied().unwrap_or(false);
        if shallow_rule || candidates.len() < 64 {
            return candidates
                .iter()
                .copied()
                .filter(|c| matches!(c, RuleRef::File(j) if marked(*j)) && self.file_pair(policy, i, *c))
                .collect();
        }
        let mut near: Vec<usize> = self.shallow.clone();
        for p in &self.prefixes[i] {
            if let [a, b, ..] = p.as_slice()
                && let Some(rules) = self.by_head.get(&(a.clone(), b.clone()))
            {
                near.extend(rules.iter().copied());
            }
        }
        near.sort_unstable();
        near.dedup();
        near.into_iter()
            .filter(|j| marked(*j))
            .map(RuleRef::File)
            .filter(|c| self.file_pair(policy, i, *c))
            .collect()
    }

    fn file_pair(&self, policy: &Policy, i: usize, other: RuleRef) -> bool {
        let RuleRef::File(j) = other else { return false };
        let (x, y) = (&policy.files[i], &policy.files[j]);
        x.rights.0 & y.rights.0 != 0
            && self.prefixes[i]
                .iter()
                .any(|p| self.prefixes[j].iter().any(|q| p.iter().zip(q).all(|(s, t)| s == t)))
    }
}

/// [`Overlaps`] for the rules other than files: protocols and devices.
fn may_overlap_other(policy: &Policy, a: RuleRef, b: RuleRef) -> bool {
    match (a, b) {
        (RuleRef::Connect(i), RuleRef::Connect(j)) => {
            let (x, y) = (&policy.connects[i], &policy.connects[j]);
            (x.protos.tcp && y.protos.tcp) || (x.protos.udp && y.protos.udp)
        }
        (RuleRef::Bind(i), RuleRef::Bind(j)) => {
            let (x, y) = (&policy.binds[i], &policy.binds[j]);
            (x.protos.tcp && y.protos.tcp) || (x.protos.udp && y.protos.udp)
        }
        (RuleRef::Device(i), RuleRef::Device(j)) => {
            let (x, y) = (&policy.devices[i], &policy.devices[j]);
            x.device == y.device && x.modes.iter().any(|m| y.modes.contains(m))
        }
        _ => false,
    }
}
