//! Differential testing: the verifier's answer to "is this access
//! permitted?" must be the evaluator's, on random policies (globs, CIDRs,
//! ports, allow/deny mixes, set operators, `extends`) and random accesses.
//! `CORRAL_DIFF_SEED` picks the seed, `CORRAL_DIFF_CASES` the number of
//! accesses of the long run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;

use common::{HOME, Rng, access_near, access_text, policy_source, try_program};
use corral_compiler::eval::sets::with_right;
use corral_compiler::eval::{Access, is_permitted};
use corral_compiler::ir::Right;
use corral_verifier::{Kind, Literal, Outcome, Query, Solver};

/// Accesses decided per generated policy.
const ACCESSES_PER_POLICY: usize = 25;

struct Tally {
    cases: usize,
    found: usize,
    /// Accesses the evaluator permits, by kind.
    permitted: [usize; 4],
    by_kind: [usize; 4],
}

/// Runs `accesses` differential cases from `seed`; every case asks two
/// queries (permitted, not permitted) and sometimes a third (another
/// right). Panics with the policy and access on the first disagreement.
fn run(seed: u64, accesses: usize) -> Tally {
    let mut rng = Rng(seed);
    let mut tally = Tally { cases: 0, found: 0, permitted: [0; 4], by_kind: [0; 4] };
    let solver = Solver::new(60_000);
    let plain = Solver::new(60_000).with_prefilter(false);
    while tally.cases < accesses {
        let rules = 1 + rng.below(8);
        let text = policy_source(&mut rng, rules);
        let Some(program) = try_program(&text) else { continue };
        let policy = program.policy("p").expect("policy p");
        for _ in 0..ACCESSES_PER_POLICY {
            let near = if rng.chance(60) { access_near(&mut rng, policy) } else { None };
            let access = match near {
                Some(a) => a,
                None => Access::parse(&access_text(&mut rng), HOME).expect("generated access parses"),
            };
            let kind = Kind::of_access(&access);
            let right = rng.chance(20).then(|| *rng.pick(&Right::ALL));
            let expected = match right {
                Some(r) => is_permitted(policy, &with_right(&access, r)),
                None => is_permitted(policy, &access),
            };
            let which = if rng.chance(25) { &plain } else { &solver };
            for permitted in [true, false] {
                let lit = if permitted {
                    Literal::Permitted { policy, right }
                } else {
                    Literal::NotPermitted { policy, right }
                };
                let query = Query { kind, literals: vec![Literal::Is(access.clone()), lit] };
                let outcome = which.search(&query);
                let want = expected == permitted;
                let ok = match &outcome {
                    Outcome::Found(found) => want && *found == access,
                    Outcome::NotFound => !want,
                    Outcome::Unknown(_) | Outcome::Disagreement(_) => false,
                };
                assert!(
                    ok,
                    "seed {seed}: `{access}` (right {right:?}) is {} by the evaluator, but the verifier answered \
                     {outcome:?} to `{}`\n{text}",
                    if expected { "permitted" } else { "denied" },
                    if permitted { "permitted" } else { "not permitted" },
                );
                tally.found += usize::from(matches!(outcome, Outcome::Found(_)));
            }
            tally.cases += 1;
            tally.by_kind[kind as usize] += 1;
            tally.permitted[kind as usize] += usize::from(expected);
        }
    }
    tally
}

fn seed() -> u64 {
    std::env::var("CORRAL_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x00c0_ffee)
}

#[test]
fn verifier_agrees_with_the_evaluator() {
    let tally = run(seed(), 20_000);
    eprintln!(
        "differential: {} accesses (file, connect, bind, device: {:?}, permitted {:?})",
        tally.cases, tally.by_kind, tally.permitted
    );
    assert!(tally.cases >= 20_000);
    assert_eq!(tally.found, tally.cases, "exactly one of `permitted` and `not permitted` holds");
    // Both verdicts occur in earnest for every kind.
    for (n, p) in tally.by_kind.iter().zip(&tally.permitted) {
        assert!(*p * 20 > *n && *p * 20 < *n * 19, "{p} of {n} permitted");
    }
}

/// The long run: `CORRAL_DIFF_CASES=1000000 cargo test --release -p corral-verifier --test differential -- --ignored`.
#[test]
#[ignore = "long run: about a million cases"]
fn verifier_agrees_with_the_evaluator_long_run() {
    let cases = std::env::var("CORRAL_DIFF_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let tally = run(seed() ^ 0x5eed, cases);
    eprintln!("differential (long): {} accesses, {} queries found a witness", tally.cases, tally.found);
}
