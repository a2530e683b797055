//! Witness properties: random existential queries over random policies.
//! Every witness replays (the verifier checks that itself: a failed replay
//! is a `Disagreement`), and every "no witness" answer is cross-checked on
//! random accesses, none of which may satisfy the query.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;

use common::{HOME, Rng, access_near, access_text, assertion, holds, policy_source, try_program};
use corral_compiler::eval::{Access, RuleRef};
use corral_compiler::ir::{AccessSet, FormulaKind, Policy};
use corral_verifier::{Kind, Literal, Outcome, Query, Solver};

/// Random accesses tried against each "not found".
const SAMPLES: usize = 60;

fn rule_refs(policy: &Policy, kind: Kind) -> Vec<RuleRef> {
    match kind {
        Kind::File => (0..policy.files.len()).map(RuleRef::File).collect(),
        Kind::Connect => (0..policy.connects.len()).map(RuleRef::Connect).collect(),
        Kind::Bind => (0..policy.binds.len()).map(RuleRef::Bind).collect(),
        Kind::Device => (0..policy.devices.len()).map(RuleRef::Device).collect(),
    }
}

fn sample(rng: &mut Rng, policies: &[&Policy], kind: Kind) -> Option<Access> {
    for _ in 0..20 {
        let a = if rng.chance(60) {
            let policy = policies[rng.below(policies.len())];
            access_near(rng, policy)
        } else {
            Access::parse(&access_text(rng), HOME).ok()
        };
        if let Some(a) = a.filter(|a| Kind::of_access(a) == kind) {
            return Some(a);
        }
    }
    None
}

#[test]
fn witnesses_replay_and_absences_hold_on_samples() {
    let mut rng = Rng(0xfeed_beef);
    let solver = Solver::new(60_000);
    let (mut found, mut not_found, mut samples) = (0, 0, 0);
    let mut programs = 0;
    while programs < 1_000 {
        let rules = 2 + rng.below(7);
        let mut text = policy_source(&mut rng, rules);
        let asserts: String = (0..3).map(|_| format!("    {}\n", assertion(&mut rng))).collect();
        text = text.replacen("policy p extends base {\n", &format!("policy p extends base {{\n{asserts}"), 1);
        let Some(program) = try_program(&text) else { continue };
        programs += 1;
        let p = program.policy("p").unwrap();
        let base = program.policy("base").unwrap();
        let sets: Vec<&AccessSet> = p
            .assertions
            .iter()
            .filter_map(|a| match &a.formula.kind {
                FormulaKind::Access { set, .. } => Some(set),
                _ => None,
            })
            .collect();
        let mut queries: Vec<Query<'_>> = Vec::new();
        for set in &sets {
            let kind = Kind::of_set(set);
            queries.push(Query {
                kind,
                literals: vec![Literal::In(set), Literal::Permitted { policy: p, right: None }],
            });
            queries.push(Query {
                kind,
                literals: vec![Literal::NotIn(set), Literal::Permitted { policy: p, right: None }],
            });
        }
        for kind in [Kind::File, Kind::Connect, Kind::Bind, Kind::Device] {
            queries.push(Query {
                kind,
                literals: vec![
                    Literal::Permitted { policy: p, right: None },
                    Literal::NotPermitted { policy: base, right: None },
                ],
            });
            queries.push(Query {
                kind,
                literals: vec![
                    Literal::Permitted { policy: base, right: None },
                    Literal::NotPermitted { policy: p, right: None },
                ],
            });
            let rules = rule_refs(p, kind);
            if rules.len() >= 2 {
                let (a, b) = (*rng.pick(&rules), *rng.pick(&rules));
                queries.push(Query {
                    kind,
                    literals: vec![
                        Literal::Covered { policy: p, rule: a },
                        Literal::NotCovered { policy: p, rule: b },
                    ],
                });
            }
        }
        for query in &queries {
            match solver.search(query) {
                Outcome::Found(access) => {
                    found += 1;
                    assert!(query.literals.iter().all(|l| holds(l, &access)), "{access}\n{text}");
                }
                Outcome::NotFound => {
                    not_found += 1;
                    for _ in 0..SAMPLES {
                        let Some(access) = sample(&mut rng, &[p, base], query.kind) else { break };
                        samples += 1;
                        assert!(
                            !query.literals.iter().all(|l| holds(l, &access)),
                            "the verifier found no witness, but `{access}` is one:\n{query:?}\n{text}"
                        );
                    }
                }
                other => panic!("{other:?}\n{query:?}\n{text}"),
            }
        }
    }
    eprintln!("witness: {found} found, {not_found} not found, {samples} samples checked");
    assert!(found > 100 && not_found > 100, "{found} found, {not_found} not found");
}
