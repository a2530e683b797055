//! What `corral check` proves about each policy, on top of the SMT layer:
//! assertions, the built-in safety checks, sub-agent bounds and the
//! analyses. Every finding is a [`Diagnostic`] whose counterexamples were
//! replayed through the concrete evaluator before they are shown.

mod analyses;
mod assertions;
mod bounds;
mod safety;
mod shapes;

use corral_compiler::diagnostics::{self, Code, Diagnostic};
use corral_compiler::eval::{Access, Evaluator, RuleRef};
use corral_compiler::ir::{AccessSet, Policy, Program};

use crate::{Kind, Literal, Outcome, Query, Solver};

pub use assertions::assertion_queries;

/// How much `check` proves.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Per SMT query; a query that runs out is reported as unknown.
    pub timeout_ms: u32,
    /// Run the analyses (redundant, dead, unmatchable rules, …).
    pub analyses: bool,
    /// The time the analyses of one policy may take; they are warnings, so
    /// when it runs out they stop and say so.
    pub analysis_budget_ms: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { timeout_ms: 10_000, analyses: true, analysis_budget_ms: 10_000 }
    }
}

/// Proves everything about every policy of `program`; returns the findings
/// sorted by position.
pub fn verify_program(program: &Program, options: &CheckOptions) -> Vec<Diagnostic> {
    crate::isolated(|| verify_isolated(program, options))
}

fn verify_isolated(program: &Program, options: &CheckOptions) -> Vec<Diagnostic> {
    let solver = Solver::new(options.timeout_ms);
    let mut out = Vec::new();
    for policy in &program.policies {
        let cx = PolicyCx::new(program, policy, &solver, options.timeout_ms);
        assertions::check(&cx, &mut out);
        safety::check(&cx, &mut out);
        bounds::check(&cx, &mut out);
        if options.analyses {
            analyses::check(&cx, options.analysis_budget_ms, &mut out);
        }
    }
    diagnostics::sort(&mut out);
    out
}

/// One policy under verification, with its evaluator for explanations.
pub(crate) struct PolicyCx<'p> {
    pub program: &'p Program,
    pub policy: &'p Policy,
    pub solver: &'p Solver,
    pub timeout_ms: u32,
    pub eval: Evaluator<'p>,
}

/// The answer to one existential query, with internal errors already
/// turned into diagnostics.
pub(crate) enum Search {
    Found(Access),
    NotFound,
    Unknown(String),
}

impl<'p> PolicyCx<'p> {
    fn new(program: &'p Program, policy: &'p Policy, solver: &'p Solver, timeout_ms: u32) -> Self {
        PolicyCx { program, policy, solver, timeout_ms, eval: Evaluator::new(policy) }
    }

    /// Runs a query; a replay disagreement becomes an internal error
    /// diagnostic and counts as unknown, never as an answer.
    pub fn search(&self, query: &Query<'_>, out: &mut Vec<Diagnostic>) -> Search {
        self.search_within(query, self.solver, out)
    }

    /// [`PolicyCx::search`] with another solver (another time limit).
    pub fn search_within(&self, query: &Query<'_>, solver: &Solver, out: &mut Vec<Diagnostic>) -> Search {
        match solver.search(query) {
            Outcome::Found(a) => Search::Found(a),
            Outcome::NotFound => Search::NotFound,
            Outcome::Unknown(reason) => Search::Unknown(reason),
            Outcome::Disagreement(detail) => {
                out.push(
                    Diagnostic::error(Code::Internal, "the SMT encoding and the evaluator disagree")
                        .primary(self.policy.span, format!("while verifying `{}`", self.policy.name))
                        .note(detail.clone())
                        .help("this is a bug in Corral; please report it with the policy"),
                );
                Search::Unknown(format!("internal disagreement: {detail}"))
            }
        }
    }

    /// The allow rules that grant `access`, as labels.
    pub fn granting(&self, access: &Access, mut d: Diagnostic) -> Diagnostic {
        let decision = self.eval.decide(access);
        for r in decision.allows.iter().take(4) {
            d = d.secondary(r.origin(self.policy).span, format!("grants `{access}`"));
        }
        d
    }
}

/// The query kind of an access set.
pub(crate) fn kind_of(set: &AccessSet) -> Kind {
    match set {
        AccessSet::Files { .. } => Kind::File,
        AccessSet::Connect { .. } => Kind::Connect,
        AccessSet::Bind { .. } => Kind::Bind,
        AccessSet::Device { .. } => Kind::Device,
    }
}

pub(crate) const KINDS: [Kind; 4] = [Kind::File, Kind::Connect, Kind::Bind, Kind::Device];

/// Every rule of `policy` of one kind, as references.
pub(crate) fn rules_of(policy: &Policy, kind: Kind) -> Vec<RuleRef> {
    match kind {
        Kind::File => (0..policy.files.len()).map(RuleRef::File).collect(),
        Kind::Connect => (0..policy.connects.len()).map(RuleRef::Connect).collect(),
        Kind::Bind => (0..policy.binds.len()).map(RuleRef::Bind).collect(),
        Kind::Device => (0..policy.devices.len()).map(RuleRef::Device).collect(),
    }
}

/// `∃ access of this kind permitted by the policy` (plus extra literals).
pub(crate) fn permitted<'p>(policy: &'p Policy, kind: Kind, mut extra: Vec<Literal<'p>>) -> Query<'p> {
    extra.push(Literal::Permitted { policy, right: None });
    Query { kind, literals: extra }
}

/// A short name for a kind, for messages.
pub(crate) fn kind_noun(kind: Kind) -> &'static str {
    match kind {
        Kind::File => "file access",
        Kind::Connect => "connection",
        Kind::Bind => "listening socket",
        Kind::Device => "device access",
    }
}

/// The unknown-result diagnostic shared by every check.
pub(crate) fn unknown(
    what: &str,
    span: corral_compiler::source::SourceSpan,
    reason: &str,
    timeout_ms: u32,
) -> Diagnostic {
    Diagnostic::error(Code::VerificationUnknown, format!("{what} could not be decided"))
        .primary(span, "neither proven nor refuted")
        .note(format!("the solver answered unknown: {reason}"))
        .help(format!(
            "this is not a proof; raise `--timeout-ms` (now {timeout_ms}) or simplify the sets involved"
        ))
}
