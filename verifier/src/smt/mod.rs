//! The SMT layer: the only module of the verifier that touches z3
//! (ARCHITECTURE.md, invariant 3).
//!
//! A [`Query`] becomes one z3 formula over the variables of one access of
//! the query's kind (`access.rs`), with paths as strings and globs as
//! regular expressions (`paths.rs`), hosts as strings and 128-bit
//! bit-vectors (`hosts.rs`); `solve.rs` runs z3 and turns a model back into
//! an [`Access`](corral_compiler::eval::Access). `docs/verifier.md`
//! describes the encoding.

mod access;
mod hosts;
mod paths;
mod props;
mod solve;

pub use access::Stats;
pub(crate) use props::skeleton_satisfiable;
pub(crate) use solve::{search, smtlib};

use z3::ast::{Bool, Regexp};
use z3::{Params, SatResult};

/// A formula under construction: constants are folded as it is built, so
/// that the rules a query's relevance filter dropped leave no trace.
#[derive(Clone, Debug)]
pub(crate) enum F {
    Const(bool),
    Term(Bool),
}

impl F {
    pub(crate) const TRUE: F = F::Const(true);
    pub(crate) const FALSE: F = F::Const(false);

    pub(crate) fn and(items: impl IntoIterator<Item = F>) -> F {
        let mut terms = Vec::new();
        for item in items {
            match item {
                F::Const(true) => {}
                F::Const(false) => return F::FALSE,
                F::Term(t) => terms.push(t),
            }
        }
        match terms.len() {
            0 => F::TRUE,
            1 => terms.pop().map_or(F::TRUE, F::Term),
            _ => F::Term(Bool::and(&terms)),
        }
    }

    pub(crate) fn or(items: impl IntoIterator<Item = F>) -> F {
        let mut terms = Vec::new();
        for item in items {
            match item {
                F::Const(false) => {}
                F::Const(true) => return F::TRUE,
                F::Term(t) => terms.push(t),
            }
        }
        match terms.len() {
            0 => F::FALSE,
            1 => terms.pop().map_or(F::FALSE, F::Term),
            _ => F::Term(Bool::or(&terms)),
        }
    }

    pub(crate) fn not(self) -> F {
        match self {
            F::Const(b) => F::Const(!b),
            F::Term(t) => F::Term(t.not()),
        }
    }

    pub(crate) fn into_bool(self) -> Bool {
        match self {
            F::Const(b) => Bool::from_bool(b),
            F::Term(t) => t,
        }
    }
}

/// The union of `parts`; the empty language when there are none (z3
/// rejects an empty `re.union`).
pub(crate) fn re_union(mut parts: Vec<Regexp>) -> Regexp {
    match parts.len() {
        0 => Regexp::empty(),
        1 => parts.pop().unwrap_or_else(Regexp::empty),
        _ => Regexp::union(&parts),
    }
}

/// The concatenation of `parts`; the empty word when there are none.
pub(crate) fn re_concat(mut parts: Vec<Regexp>) -> Regexp {
    match parts.len() {
        0 => Regexp::literal(""),
        1 => parts.pop().unwrap_or_else(|| Regexp::literal("")),
        _ => Regexp::concat(&parts),
    }
}

/// Above this many atoms a query gets z3's default solver, which picks and
/// runs a preprocessing tactic for the formula's logic: that pays off on
/// large formulas and costs milliseconds on small ones, which go straight
/// to the `smt` tactic's solver.
const SMALL_QUERY_ATOMS: usize = 200;

/// Checks `formula` (over `atoms` atoms) with a timeout (0: none), and
/// hands the solver to `on_result` for the model.
pub(crate) fn check<R>(
    formula: &Bool,
    atoms: usize,
    timeout_ms: u32,
    on_result: impl FnOnce(&z3::Solver, SatResult) -> R,
) -> R {
    let solver = if atoms > SMALL_QUERY_ATOMS { z3::Solver::new() } else { z3::Tactic::new("smt").solver() };
    if timeout_ms > 0 {
        let mut params = Params::new();
        params.set_u32("timeout", timeout_ms);
        solver.set_params(&params);
    }
    solver.assert(formula);
    let result = solver.check();
    on_result(&solver, result)
}
