//! Refinement between two policies: does one permit nothing the other
//! denies? Backends use it for translation validation. Each backend reads
//! its artifact back as a *model* policy (an IR [`Policy`] whose rules say
//! what the artifact lets through) and asks, per access kind, for an access
//! that the model permits and the policy denies (the artifact is broader:
//! a security gap) or that the policy permits and the model denies (the
//! artifact is narrower: the agent loses it).
//!
//! Every answer is a [`Solver`] search, so a counterexample has been
//! replayed through the concrete evaluator, and a search that runs out of
//! time is [`Verdict::Unknown`], never a proof.

use corral_compiler::eval::Access;
use corral_compiler::ir::Policy;

use crate::{Kind, Literal, Outcome, Query, Solver};

/// The answer for one access kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No access of this kind (within the scope) separates the two.
    Holds,
    /// One access that separates them.
    Counterexample(Access),
    /// The solver could not decide; never to be reported as proven.
    Unknown(String),
}

/// One kind's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindVerdict {
    pub kind: Kind,
    pub verdict: Verdict,
}

/// For each of `kinds`: is there an access, satisfying every literal of
/// `scope`, that `model` permits and `policy` denies?
pub fn broader<'p>(
    model: &'p Policy,
    policy: &'p Policy,
    kinds: &[Kind],
    scope: &[Literal<'p>],
    solver: &Solver,
) -> Vec<KindVerdict> {
    separate(model, policy, kinds, scope, solver)
}

/// For each of `kinds`: is there an access, satisfying every literal of
/// `scope`, that `policy` permits and `model` denies — an access the agent
/// loses under the artifact?
pub fn narrower<'p>(
    model: &'p Policy,
    policy: &'p Policy,
    kinds: &[Kind],
    scope: &[Literal<'p>],
    solver: &Solver,
) -> Vec<KindVerdict> {
    separate(policy, model, kinds, scope, solver)
}

/// `∃ access ∈ scope: yes permits it ∧ no does not`, per kind.
fn separate<'p>(
    yes: &'p Policy,
    no: &'p Policy,
    kinds: &[Kind],
    scope: &[Literal<'p>],
    solver: &Solver,
) -> Vec<KindVerdict> {
    kinds
        .iter()
        .map(|&kind| {
            let mut literals = scope.to_vec();
            literals.push(Literal::Permitted { policy: yes, right: None });
            literals.push(Literal::NotPermitted { policy: no, right: None });
            let verdict = match solver.search(&Query { kind, literals }) {
                Outcome::Found(access) => Verdict::Counterexample(access),
                Outcome::NotFound => Verdict::Holds,
                Outcome::Unknown(why) => Verdict::Unknown(why),
                Outcome::Disagreement(detail) => Verdict::Unknown(format!(
                    "internal disagreement between the SMT encoding and the evaluator: {detail}"
                )),
            };
            KindVerdict { kind, verdict }
        })
        .collect()
}
