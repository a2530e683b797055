//! `corral_verifier::diff` on random pairs of policies: every witness is
//! gained (or lost) by the evaluator's decision, and where a class is
//! reported equal, random accesses of the class near either policy never
//! tell the two apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{HOME, Rng, access_near, access_text, policy_source, try_program};
use corral_compiler::eval::{Access, is_permitted};
use corral_compiler::ir::Policy;
use corral_verifier::Solver;
use corral_verifier::diff::{Class, ClassDiff, diff};
use corral_verifier::refine::Verdict;

fn class_of(access: &Access) -> Class {
    match access {
        Access::File { right, .. } => Class::File(*right),
        Access::Connect { proto, .. } => Class::Connect(*proto),
        Access::Bind { proto, .. } => Class::Bind(*proto),
        Access::Device { device, mode } => Class::Device(*device, *mode),
    }
}

fn check(old: &Policy, new: &Policy, samples: &[Access], context: &str) -> usize {
    let solver = Solver::new(60_000);
    let report = corral_verifier::isolated(|| diff(old, new, &solver));
    assert_eq!(report.len(), Class::all().len());
    let mut witnesses = 0;
    for c in &report {
        for (verdict, yes, no, what) in [(&c.gained, new, old, "gained"), (&c.lost, old, new, "lost")] {
            match verdict {
                Verdict::Counterexample(access) => {
                    assert_eq!(class_of(access), c.class, "{context}");
                    assert!(
                        is_permitted(yes, access) && !is_permitted(no, access),
                        "{what} `{access}` is not {what}\n{context}"
                    );
                    witnesses += 1;
                }
                Verdict::Holds => {
                    for a in samples.iter().filter(|a| class_of(a) == c.class) {
                        assert!(
                            !is_permitted(yes, a) || is_permitted(no, a),
                            "class `{}` reported with nothing {what}, but `{a}` is\n{context}",
                            c.class
                        );
                    }
                }
                Verdict::Unknown(why) => panic!("unknown for `{}`: {why}\n{context}", c.class),
            }
        }
    }
    witnesses
}

#[test]
fn witnesses_are_real_and_equal_classes_have_no_sampled_difference() {
    let mut rng = Rng(0xd1ff);
    let (mut pairs, mut witnesses) = (0, 0);
    while pairs < 200 {
        let (na, nb) = (1 + rng.below(6), 1 + rng.below(6));
        let (a, b) = (policy_source(&mut rng, na), policy_source(&mut rng, nb));
        let (Some(pa), Some(pb)) = (try_program(&a), try_program(&b)) else { continue };
        let (old, new) = (pa.policy("p").unwrap(), pb.policy("p").unwrap());
        let mut samples = Vec::new();
        for _ in 0..60 {
            let near = if rng.chance(50) { access_near(&mut rng, old) } else { access_near(&mut rng, new) };
            samples.push(near.unwrap_or_else(|| Access::parse(&access_text(&mut rng), HOME).unwrap()));
        }
        witnesses += check(old, new, &samples, &format!("old:\n{a}\nnew:\n{b}"));
        pairs += 1;
    }
    assert!(witnesses > 200, "random pairs differ often; only {witnesses} witnesses in {pairs} pairs");
}

#[test]
fn a_policy_equals_itself_and_gains_mirror_losses() {
    let mut rng = Rng(0x5e1f);
    let mut pairs = 0;
    while pairs < 20 {
        let (na, nb) = (1 + rng.below(6), 1 + rng.below(6));
        let (a, b) = (policy_source(&mut rng, na), policy_source(&mut rng, nb));
        let (Some(pa), Some(pb)) = (try_program(&a), try_program(&b)) else { continue };
        let (pa, pb) = (pa.policy("p").unwrap(), pb.policy("p").unwrap());
        let solver = Solver::new(60_000);
        let same = corral_verifier::isolated(|| diff(pa, pa, &solver));
        assert!(same.iter().all(ClassDiff::is_equal), "{a}");
        let forth = corral_verifier::isolated(|| diff(pa, pb, &solver));
        let back = corral_verifier::isolated(|| diff(pb, pa, &solver));
        for (f, r) in forth.iter().zip(&back) {
            let differs = |v: &Verdict| matches!(v, Verdict::Counterexample(_));
            assert_eq!(differs(&f.gained), differs(&r.lost), "class `{}`\n{a}\n{b}", f.class);
            assert_eq!(differs(&f.lost), differs(&r.gained), "class `{}`\n{a}\n{b}", f.class);
        }
        pairs += 1;
    }
}
