//! The analyses (warnings): redundant allows, dead allows, patterns that
//! match no well-formed path, denies that overlap no allow, and policies
//! that grant nothing. Only rules the policy declares itself are judged
//! (an inherited rule is judged in its own policy), and the two halves of
//! a `readonly` are left alone where the idiom makes them look redundant.
//!
//! Each finding is decided by the solver; a cheap syntactic filter (rights,
//! protocols, devices and literal path prefixes) first rules out the pairs
//! of rules that cannot overlap, so most rules cost no query at all.

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::RuleRef;
use corral_compiler::ir::{AccessSet, Effect, GlobPart, PathPattern, PathSet, Policy, Segment, Set};

use super::{KINDS, PolicyCx, Search, permitted, rules_of};
use crate::{Kind, Literal, Query};

/// Most candidate rules named in one finding.
const MAX_NAMED: usize = 3;

pub(crate) fn check(cx: &PolicyCx<'_>, out: &mut Vec<Diagnostic>) {
    // An empty rule is trivially "covered" and "overridden": report it once.
    let empty = unmatchable(cx, out);
    for kind in KINDS {
        let rules = rules_of(cx.policy, kind);
        let own = |r: &RuleRef| r.origin(cx.policy).policy == cx.policy.name && !empty.contains(r);
        let allows: Vec<RuleRef> =
            rules.iter().copied().filter(|r| r.effect(cx.policy) == Some(Effect::Allow)).collect();
        let denies: Vec<RuleRef> =
            rules.iter().copied().filter(|r| r.effect(cx.policy) == Some(Effect::Deny)).collect();
        dead_and_redundant(cx, kind, &allows, &denies, &own, out);
        for &d in denies.iter().filter(|d| own(d) && !d.origin(cx.policy).readonly) {
            deny_overlaps_nothing(cx, kind, d, &allows, out);
        }
    }
    grants_nothing(cx, out);
}

fn dead_and_redundant(
    cx: &PolicyCx<'_>,
    kind: Kind,
    allows: &[RuleRef],
    denies: &[RuleRef],
    own: &dyn Fn(&RuleRef) -> bool,
    out: &mut Vec<Diagnostic>,
) {
    let policy = cx.policy;
    // Later rules are judged first, so of two equal rules the later one is
    // reported as the redundant one.
    let mut kept: Vec<RuleRef> = allows.to_vec();
    for &rule in allows.iter().rev().filter(|r| own(r)) {
        let origin = rule.origin(policy);
        let overlapping_denies: Vec<RuleRef> =
            denies.iter().copied().filter(|d| may_overlap(policy, rule, *d)).collect();
        if !overlapping_denies.is_empty() {
            let query = permitted(policy, kind, vec![Literal::Covered { policy, rule }]);
            if let Search::NotFound = cx.search(&query, out) {
                let mut d =
                    Diagnostic::warning(Code::DeadRule, "allow rule is overridden by denies everywhere")
                        .primary(origin.span, "permits nothing: every access it covers is denied");
                for deny in overlapping_denies.iter().take(MAX_NAMED) {
                    d = d.secondary(deny.origin(policy).span, "overrides it");
                }
                out.push(
                    d.help("remove the allow, or narrow the deny if the allow was meant to take effect"),
                );
                kept.retain(|k| *k != rule);
                continue;
            }
        }
        if origin.readonly {
            continue;
        }
        let others: Vec<RuleRef> =
            kept.iter().copied().filter(|k| *k != rule && may_overlap(policy, rule, *k)).collect();
        if others.is_empty() {
            continue;
        }
        let mut literals = vec![Literal::Covered { policy, rule }];
        literals.extend(others.iter().map(|&k| Literal::NotCovered { policy, rule: k }));
        if let Search::NotFound = cx.search(&Query { kind, literals }, out) {
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
                if let Search::Found(access) = cx.search(&overlap, out) {
                    d = d.secondary(k.origin(policy).span, format!("also allows `{access}`"));
                    named += 1;
                }
            }
            out.push(d.help("remove it, or merge it into the rules that cover it"));
            kept.retain(|k| *k != rule);
        }
    }
}

fn deny_overlaps_nothing(
    cx: &PolicyCx<'_>,
    kind: Kind,
    deny: RuleRef,
    allows: &[RuleRef],
    out: &mut Vec<Diagnostic>,
) {
    let policy = cx.policy;
    for &a in allows.iter().filter(|a| may_overlap(policy, deny, **a)) {
        let query = Query {
            kind,
            literals: vec![Literal::Covered { policy, rule: deny }, Literal::Covered { policy, rule: a }],
        };
        match cx.search(&query, out) {
            Search::NotFound => continue,
            // Found, or undecided: do not claim anything.
            _ => return,
        }
    }
    out.push(
        Diagnostic::warning(Code::DenyOverlapsNothing, "deny rule overlaps no allow")
            .primary(deny.origin(policy).span, "nothing it denies is allowed in the first place")
            .help("everything is denied by default; keep it only as a guard against future allows"),
    );
}

fn grants_nothing(cx: &PolicyCx<'_>, out: &mut Vec<Diagnostic>) {
    for kind in KINDS {
        if rules_of(cx.policy, kind).iter().all(|r| r.effect(cx.policy) != Some(Effect::Allow)) {
            continue;
        }
        match cx.search(&permitted(cx.policy, kind, Vec::new()), out) {
            Search::NotFound => continue,
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
fn unmatchable(cx: &PolicyCx<'_>, out: &mut Vec<Diagnostic>) -> Vec<RuleRef> {
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
            if let Search::NotFound = cx.search(&query, out) {
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

/// A cheap over-approximation of "the two rules cover a common access":
/// false only when they certainly do not.
fn may_overlap(policy: &Policy, a: RuleRef, b: RuleRef) -> bool {
    match (a, b) {
        (RuleRef::File(i), RuleRef::File(j)) => {
            let (x, y) = (&policy.files[i], &policy.files[j]);
            !Rights(x.rights.0 & y.rights.0).is_empty() && paths_may_overlap(&x.paths, &y.paths)
        }
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

use corral_compiler::ir::Rights;

/// Two path sets may share a path only if some pair of their patterns has
/// literal prefixes of which one extends the other.
fn paths_may_overlap(a: &PathSet, b: &PathSet) -> bool {
    let prefixes = |s: &PathSet| -> Vec<Vec<String>> {
        s.atoms().iter().map(|p| p.literal_prefix().map(str::to_owned).collect()).collect()
    };
    let (pa, pb) = (prefixes(a), prefixes(b));
    pa.iter().any(|x| pb.iter().any(|y| x.iter().zip(y).all(|(s, t)| s == t)))
}
