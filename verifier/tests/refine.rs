//! Refinement between a model policy (what an artifact lets through) and
//! the policy it was built from: the counterexamples translation
//! validation reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::policy;
use corral_compiler::eval::{Access, Evaluator};
use corral_verifier::refine::{Verdict, broader, narrower};
use corral_verifier::{Kind, Solver};

const KINDS: [Kind; 4] = [Kind::File, Kind::Connect, Kind::Bind, Kind::Device];

fn counterexample(verdicts: &[corral_verifier::refine::KindVerdict], kind: Kind) -> Option<Access> {
    match &verdicts.iter().find(|v| v.kind == kind).unwrap().verdict {
        Verdict::Counterexample(a) => Some(a.clone()),
        Verdict::Holds => None,
        Verdict::Unknown(why) => panic!("unknown: {why}"),
    }
}

#[test]
fn a_model_that_ignores_a_deny_is_broader_with_a_denied_access() {
    let original =
        policy("allow read \"/w/**\"\ndeny read \"/w/**/.env\"\nallow connect tcp \"github.com\":443");
    // Landlock-like: the whole tree, and port 443 to anyone.
    let model = policy("allow read \"/w/**\"\nallow connect tcp any:443");
    let solver = Solver::new(10_000);
    let out = broader(&model, &original, &KINDS, &[], &solver);
    let file = counterexample(&out, Kind::File).expect("a denied .env");
    let connect = counterexample(&out, Kind::Connect).expect("a host other than github.com");
    for access in [&file, &connect] {
        assert!(Evaluator::new(&model).decide(access).permitted, "{access}");
        assert!(!Evaluator::new(&original).decide(access).permitted, "{access}");
    }
    assert!(file.to_string().ends_with("/.env"), "{file}");
    assert_eq!(counterexample(&out, Kind::Bind), None);
    assert_eq!(counterexample(&out, Kind::Device), None);
    // Nothing the policy grants is lost.
    let lost = narrower(&model, &original, &KINDS, &[], &solver);
    assert!(KINDS.iter().all(|&k| counterexample(&lost, k).is_none()));
}

#[test]
fn a_model_that_drops_a_grant_is_narrower_with_the_lost_access() {
    let original = policy("allow read, write \"/w/**\"\nallow clipboard write\nallow bind tcp 8080");
    let model = policy("allow read \"/w/**\"\nallow bind tcp 8080");
    let solver = Solver::new(10_000);
    let gained = broader(&model, &original, &KINDS, &[], &solver);
    assert!(KINDS.iter().all(|&k| counterexample(&gained, k).is_none()));
    let lost = narrower(&model, &original, &KINDS, &[], &solver);
    let file = counterexample(&lost, Kind::File).expect("write is lost");
    assert!(file.to_string().starts_with("write /w/"), "{file}");
    assert_eq!(counterexample(&lost, Kind::Device).unwrap().to_string(), "clipboard write");
    assert_eq!(counterexample(&lost, Kind::Bind), None);
}

#[test]
fn an_exact_model_holds_both_ways() {
    let original =
        policy("allow read, list \"/w/**\"\ndeny read \"/w/secret\"\nallow connect tcp \"10.0.0.0/8\":22");
    let model = policy(
        "allow list \"/w/**\"\nallow read \"/w/**\" - \"/w/secret\"\nallow connect tcp \"10.0.0.0/8\":22",
    );
    let solver = Solver::new(10_000);
    for verdicts in
        [broader(&model, &original, &KINDS, &[], &solver), narrower(&model, &original, &KINDS, &[], &solver)]
    {
        assert!(verdicts.iter().all(|v| v.verdict == Verdict::Holds), "{verdicts:?}");
    }
}
