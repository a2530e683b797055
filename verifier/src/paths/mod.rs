//! File queries: is there a (right, path) that satisfies every literal?
//!
//! z3 4.8.12's string theory, on the regular-expression encoding of paths
//! that `smt::paths` writes for `--print-smtlib`, times out on policies of
//! a few dozen rules. File queries are therefore decided here, exactly, by
//! exploring the product of the patterns' automata over path *segments*:
//!
//! - every pattern is an automaton over segments (`explore.rs`): a literal
//!   or glob segment moves one position on a matching segment, `**` in the
//!   middle or at the start loops (zero or more), `**` last loops and may
//!   finish (one or more);
//! - from a state, the segments worth trying are the literal segments the
//!   live patterns compare with and one segment per class of other
//!   segments the live globs tell apart (`glob.rs`); any other segment
//!   behaves like one of these for every pattern, so the search is
//!   complete;
//! - states are sets of (pattern, positions); breadth-first search visits
//!   each once, so it ends, and the first state whose verdicts satisfy the
//!   query gives the shortest witness.
//!
//! Segments are stepped with the evaluator's own glob matcher, and every
//! witness is replayed through the evaluator before it is returned.

mod explore;
mod glob;
pub(crate) mod problem;

pub(crate) use explore::{FileAnswer, search};
