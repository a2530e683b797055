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
//!
//! Patterns are not independent, though: `/w/a/**` lies inside `/w/**`,
//! and `/usr/**` shares no path with `/home/u/.ssh/**`. Such facts, found
//! syntactically (`relations`), are added as lemmas (`a → b`, `¬(a ∧ b)`).
//! They hold for every path, so the skeleton stays an over-approximation
//! and an unsatisfiable one still proves that no path exists; with them,
//! comparisons of two policies over the same trees (translation
//! validation) are decided here instead of by a search.

use std::collections::HashMap;

use corral_compiler::ir::{Effect, Right};
use z3::SatResult;
use z3::ast::Bool;

use super::F;
use crate::paths::problem::{Atom, Expr, Lit, Matcher, Problem};

/// Above this many live patterns the pairwise lemmas are left out (their
/// number grows with the square).
const MAX_RELATED: usize = 400;

/// `p ⊆ q`, when it shows syntactically: equal patterns; `q` a literal
/// prefix then a final `**` that `p` extends; `q` a `**` then fixed
/// segments that `p` ends with (`/**/.env`), or that `p` has with at least
/// one segment after them (`/**/target/**`).
fn within(p: &Atom, q: &Atom) -> bool {
    let (ps, qs) = (&p.segs, &q.segs);
    if ps.len() == qs.len() && ps.iter().zip(qs).all(|(a, b)| same(a, b)) {
        return true;
    }
    if let Some((Matcher::AnyLast, prefix)) = qs.split_last()
        && prefix.iter().all(|m| matches!(m, Matcher::Literal(_)))
        && ps.len() > prefix.len()
        && ps.iter().zip(prefix).all(|(a, b)| same(a, b))
    {
        return true;
    }
    if let Some((Matcher::AnyMid, rest)) = qs.split_first() {
        // `/**/M` or `/**/M/**`, with M fixed segments: p ends with M, or
        // has M followed by at least one more segment.
        let fixed = |m: &Matcher| matches!(m, Matcher::Literal(_) | Matcher::Glob(_));
        let (middle, open) = match rest.split_last() {
            Some((Matcher::AnyLast, m)) => (m, true),
            _ => (rest, false),
        };
        if !middle.is_empty() && middle.iter().all(fixed) && ps.len() >= middle.len() {
            let at = |i: usize| ps[i..i + middle.len()].iter().zip(middle).all(|(a, b)| same(a, b));
            if open {
                if (0..ps.len() - middle.len()).any(at) {
                    return true;
                }
            } else if at(ps.len() - middle.len()) {
                return true;
            }
        }
    }
    false
}

fn same(a: &Matcher, b: &Matcher) -> bool {
    match (a, b) {
        (Matcher::Literal(x), Matcher::Literal(y)) => x == y,
        (Matcher::Glob(x), Matcher::Glob(y)) => x == y,
        (Matcher::AnyMid, Matcher::AnyMid) | (Matcher::AnyLast, Matcher::AnyLast) => true,
        _ => false,
    }
}

/// `p ∩ q = ∅`, when it shows syntactically: two different literal
/// segments at the same place, counted from the start or from the end
/// before any `**`, or two patterns without `**` of different lengths.
fn disjoint(p: &Atom, q: &Atom) -> bool {
    let (ps, qs) = (&p.segs, &q.segs);
    let any = |m: &Matcher| matches!(m, Matcher::AnyMid | Matcher::AnyLast);
    if !ps.iter().any(any) && !qs.iter().any(any) && ps.len() != qs.len() {
        return true;
    }
    let differ =
        |a: &Matcher, b: &Matcher| matches!((a, b), (Matcher::Literal(x), Matcher::Literal(y)) if x != y);
    for (a, b) in ps.iter().zip(qs) {
        if any(a) || any(b) {
            break;
        }
        if differ(a, b) {
            return true;
        }
    }
    // From the end: a final `**` ends every path with some segment, so the
    // comparison stops there as at any other `**`.
    for (a, b) in ps.iter().rev().zip(qs.iter().rev()) {
        if any(a) || any(b) {
            break;
        }
        if differ(a, b) {
            return true;
        }
    }
    false
}

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

impl Skeleton<'_> {
    /// Lemmas between the live patterns: inclusion and disjointness.
    fn relations(&self) -> F {
        let live: Vec<(usize, &Bool)> = self
            .atoms
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f {
                Some(F::Term(t)) => Some((i, t)),
                _ => None,
            })
            .collect();
        if live.len() > MAX_RELATED {
            return F::TRUE;
        }
        let mut lemmas = Vec::new();
        for (x, &(i, a)) in live.iter().enumerate() {
            let p = &self.problem.atoms[i];
            for &(j, b) in &live[x + 1..] {
                let q = &self.problem.atoms[j];
                if disjoint(p, q) {
                    lemmas.push(F::Term(Bool::and(&[a, b]).not()));
                    continue;
                }
                if within(p, q) {
                    lemmas.push(F::Term(a.implies(b)));
                }
                if within(q, p) {
                    lemmas.push(F::Term(b.implies(a)));
                }
            }
        }
        F::and(lemmas)
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
    let decide = |term: &Bool| {
        super::check(term, atoms, timeout_ms, |_, result| match result {
            SatResult::Sat => Some(true),
            SatResult::Unsat => Some(false),
            SatResult::Unknown => None,
        })
    };
    // Without the lemmas first: that settles most assertions, and the
    // lemmas grow with the square of the patterns. Then with them, when
    // the query compares two policies (a model with its policy, a child
    // with its parent: their patterns overlap without being the same) and
    // there are few enough patterns.
    let compares = problem.policies.len() >= 2;
    match decide(&term) {
        Some(true) if compares && atoms <= MAX_RELATED => match sk.relations() {
            F::Const(true) => Some(true),
            lemmas => decide(&Bool::and(&[term.clone(), lemmas.into_bool()])),
        },
        answer => answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(pattern: &str) -> Atom {
        let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        let n = parts.len();
        let segs = parts
            .iter()
            .enumerate()
            .map(|(i, s)| match *s {
                "**" if i + 1 == n => Matcher::AnyLast,
                "**" => Matcher::AnyMid,
                lit => Matcher::Literal(lit.to_owned()),
            })
            .collect();
        Atom { segs }
    }

    /// The automaton's own reading of a path (literals and `**` only).
    fn matches(a: &Atom, path: &[&str]) -> bool {
        let mut pos = a.close(1);
        for seg in path {
            let mut next = 0u128;
            for (i, m) in a.segs.iter().enumerate() {
                if pos & (1 << i) == 0 {
                    continue;
                }
                match m {
                    Matcher::Literal(l) if l == seg => next |= 1 << (i + 1),
                    Matcher::AnyMid => next |= 1 << i,
                    Matcher::AnyLast => next |= (1 << i) | (1 << (i + 1)),
                    _ => {}
                }
            }
            pos = a.close(next);
        }
        a.accepts(pos)
    }

    #[test]
    fn relations_are_found_where_they_show() {
        assert!(within(&atom("/w/a/**"), &atom("/w/**")));
        assert!(within(&atom("/w/a"), &atom("/w/**")));
        assert!(!within(&atom("/w"), &atom("/w/**")));
        assert!(within(&atom("/home/u/app/.env"), &atom("/**/.env")));
        assert!(within(&atom("/a/**/.env"), &atom("/**/.env")));
        assert!(within(&atom("/h/app/target/**"), &atom("/**/target/**")));
        assert!(!within(&atom("/h/app/target"), &atom("/**/target/**")));
        assert!(disjoint(&atom("/usr/**"), &atom("/home/u/.ssh/**")));
        assert!(disjoint(&atom("/**/.env"), &atom("/**/id_rsa")));
        assert!(disjoint(&atom("/a/b"), &atom("/a/b/c")));
        assert!(!disjoint(&atom("/x/**"), &atom("/**/y")));
        assert!(!disjoint(&atom("/usr/**"), &atom("/**/.env")));
    }

    /// Every relation claimed holds on every path over a small alphabet.
    #[test]
    fn relations_are_sound_on_every_short_path() {
        let names = ["a", "b", ".env", "target"];
        let mut patterns = vec!["/**".to_owned()];
        for x in names.iter().chain(["**"].iter()) {
            patterns.push(format!("/{x}"));
            for y in names.iter().chain(["**"].iter()) {
                patterns.push(format!("/{x}/{y}"));
                for z in names {
                    patterns.push(format!("/{x}/{y}/{z}"));
                }
            }
        }
        let mut paths: Vec<Vec<&str>> = vec![vec![]];
        for len in 1..=4 {
            let mut level = vec![vec![]];
            for _ in 0..len {
                level = level
                    .into_iter()
                    .flat_map(|p: Vec<&str>| names.iter().map(move |n| [p.clone(), vec![*n]].concat()))
                    .collect();
            }
            paths.extend(level);
        }
        let atoms: Vec<Atom> = patterns.iter().map(|p| atom(p)).collect();
        for (p, a) in patterns.iter().zip(&atoms) {
            for (q, b) in patterns.iter().zip(&atoms) {
                let inside = within(a, b);
                let apart = disjoint(a, b);
                for path in &paths {
                    let (in_a, in_b) = (matches(a, path), matches(b, path));
                    assert!(
                        !(inside && in_a && !in_b),
                        "{p} ⊆ {q} claimed, /{} is a counterexample",
                        path.join("/")
                    );
                    assert!(
                        !(apart && in_a && in_b),
                        "{p} ∩ {q} = ∅ claimed, /{} is in both",
                        path.join("/")
                    );
                }
            }
        }
    }
}
