//! The Boolean skeleton of a file query, decided by z3.
//!
//! Every pattern becomes a free Boolean ("the path is in this pattern");
//! sets, rule coverage and decisions become Boolean formulas over them,
//! exactly as `paths::explore` evaluates them on a concrete path. Any path
//! gives the patterns some truth values, so when no truth values at all
//! satisfy the skeleton, no path does: the query is answered without a
//! search. That is what proves the common assertions (`never read
//! secrets.all` under `deny read secrets.all`) at any policy size, since
//! the denied set and the asked set are the same patterns.

use std::collections::HashMap;

use corral_compiler::ir::{Effect, Right};
use z3::SatResult;
use z3::ast::Bool;

use super::F;
use crate::paths::problem::{Expr, Lit, Problem};

struct Skeleton<'a> {
    problem: &'a Problem,
    atoms: Vec<Option<F>>,
    rules: HashMap<(usize, usize), F>,
    decisions: HashMap<(usize, Right), F>,
}

impl Skeleton<'_> {
    fn atom(&mut self, a: u32) -> F {
        let i = a as usize;
        if let Some(Some(f)) = self.atoms.get(i) {
            return f.clone();
        }
        let f = if self.problem.dropped.get(i).copied().unwrap_or(true) {
            F::FALSE
        } else {
            F::Term(Bool::new_const(format!("in_pattern_{a}")))
        };
        if let Some(slot) = self.atoms.get_mut(i) {
            *slot = Some(f.clone());
        }
        f
    }

    fn expr(&mut self, e: &Expr) -> F {
        match e {
            Expr::False => F::FALSE,
            Expr::Atom(a) => self.atom(*a),
            Expr::Or(v) => {
                let parts: Vec<F> = v.iter().map(|x| self.expr(x)).collect();
                F::or(parts)
            }
            Expr::And(v) if v.is_empty() => F::FALSE,
            Expr::And(v) => {
                let parts: Vec<F> = v.iter().map(|x| self.expr(x)).collect();
                F::and(parts)
            }
            Expr::Diff(a, b) => {
                let left = self.expr(a);
                if matches!(left, F::Const(false)) {
                    return F::FALSE;
                }
                F::and([left, self.expr(b).not()])
            }
        }
    }

    fn permitted(&mut self, policy: usize, right: Right) -> F {
        if let Some(f) = self.decisions.get(&(policy, right)) {
            return f.clone();
        }
        let problem = self.problem;
        let (mut allows, mut denies) = (Vec::new(), Vec::new());
        for (i, rule) in problem.policies.get(policy).into_iter().flatten().enumerate() {
            if !rule.rights.contains(right) {
                continue;
            }
            let f = match self.rules.get(&(policy, i)) {
                Some(f) => f.clone(),
                None => {
                    let f = self.expr(&rule.expr);
                    self.rules.insert((policy, i), f.clone());
                    f
                }
            };
            match rule.effect {
                Effect::Allow => allows.push(f),
                Effect::Deny => denies.push(f),
            }
        }
        let f = F::and([F::or(allows), F::or(denies).not()]);
        self.decisions.insert((policy, right), f.clone());
        f
    }
}

/// Can the skeleton of `problem` be satisfied at all? `None` when z3 gave
/// up within `timeout_ms`.
pub(crate) fn skeleton_satisfiable(problem: &Problem, timeout_ms: u32) -> Option<bool> {
    let mut sk = Skeleton {
        problem,
        atoms: vec![None; problem.atoms.len()],
        rules: HashMap::new(),
        decisions: HashMap::new(),
    };
    let mut cases = Vec::new();
    for r in problem.rights.iter() {
        let mut parts = Vec::new();
        for lit in &problem.lits {
            let f = match lit {
                Lit::Const(b) => F::Const(*b),
                Lit::Set { rights, expr, negated } => {
                    let f = if rights.contains(r) { sk.expr(expr) } else { F::FALSE };
                    if *negated { f.not() } else { f }
                }
                Lit::Permitted { policy, right, negated } => {
                    let f = sk.permitted(*policy, right.unwrap_or(r));
                    if *negated { f.not() } else { f }
                }
                Lit::Is { right, atom } => {
                    if *right == r {
                        sk.atom(*atom)
                    } else {
                        F::FALSE
                    }
                }
            };
            let unsat = matches!(f, F::Const(false));
            parts.push(f);
            if unsat {
                break;
            }
        }
        cases.push(F::and(parts));
    }
    let formula = F::or(cases);
    let term = match formula {
        F::Const(b) => return Some(b),
        F::Term(t) => t,
    };
    let atoms = sk.atoms.iter().filter(|a| matches!(a, Some(F::Term(_)))).count();
    super::check(&term, atoms, timeout_ms, |_, result| match result {
        SatResult::Sat => Some(true),
        SatResult::Unsat => Some(false),
        SatResult::Unknown => None,
    })
}
