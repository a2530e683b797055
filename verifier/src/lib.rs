//! The Corral verifier's SMT layer: is there one access that satisfies a
//! conjunction of literals (in a set, permitted by a policy, covered by a
//! rule, …)? Each answer that names an access has been replayed through the
//! concrete evaluator first, so the two semantics are checked against each
//! other on every witness.
//!
//! `smt/` is the only module that touches z3; `relevance` decides which
//! atoms a query can need; `replay` checks witnesses. The encoding is
//! described in `docs/verifier.md`.

// Links the trampolines that load libz3 on its first use (see the crate).
extern crate corral_z3_loader as _;

pub mod checks;
pub mod diff;
mod paths;
mod query;
pub mod refine;
mod relevance;
mod replay;
mod smt;

pub use query::{Kind, Literal, Outcome, Query};
pub use smt::Stats;

use std::time::{Duration, Instant};

/// Runs `work` with a z3 context of its own. z3 keeps state from one
/// query to the next within a context, and which model it returns (so
/// which counterexample is shown) can depend on the queries asked before.
/// Everything whose output must be the same bytes for the same input — a
/// `check`, a backend's translation validation — runs isolated, so that it
/// does not depend on what ran earlier in the process. A context costs a
/// few milliseconds: isolate whole jobs, not single queries.
pub fn isolated<R: Send + Sync>(work: impl FnOnce() -> R + Send + Sync) -> R {
    z3::with_z3_config(&z3::Config::new(), work)
}

/// Searches for accesses with z3, one query at a time.
#[derive(Clone, Debug)]
pub struct Solver {
    timeout_ms: u32,
    prefilter: bool,
}

impl Solver {
    /// A solver that gives z3 `timeout_ms` milliseconds per query (0: no
    /// limit).
    pub fn new(timeout_ms: u32) -> Self {
        Solver { timeout_ms, prefilter: true }
    }

    /// Turns the relevance filter off or on (on by default). Off, every
    /// atom of every mentioned rule is encoded: slower, and only useful to
    /// test the filter and the encoding separately.
    pub fn with_prefilter(mut self, prefilter: bool) -> Self {
        self.prefilter = prefilter;
        self
    }

    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms
    }

    /// Is there an access satisfying every literal of `query`?
    pub fn search(&self, query: &Query<'_>) -> Outcome {
        self.search_with_stats(query).0
    }

    /// [`Solver::search`], with how many atoms were encoded and dropped.
    pub fn search_with_stats(&self, query: &Query<'_>) -> (Outcome, Stats) {
        if query.kind != Kind::File {
            return smt::search(query, self.timeout_ms, self.prefilter);
        }
        let deadline =
            (self.timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(u64::from(self.timeout_ms)));
        let mut stats = Stats::default();
        let outcome = match paths::search(query, deadline, self.timeout_ms, self.prefilter, &mut stats) {
            paths::FileAnswer::NotFound => Outcome::NotFound,
            paths::FileAnswer::GaveUp(why) => Outcome::Unknown(why),
            paths::FileAnswer::Found(access) => match replay::replay(query, &access) {
                Ok(()) => Outcome::Found(access),
                Err(why) => Outcome::Disagreement(why),
            },
        };
        (outcome, stats)
    }

    /// The query as SMT-LIB 2 text (declarations + assertions +
    /// `(check-sat)`), for `--print-smtlib`.
    pub fn smtlib(&self, query: &Query<'_>) -> String {
        smt::smtlib(query, self.timeout_ms, self.prefilter)
    }
}
