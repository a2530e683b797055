//! A file query compiled for the search: patterns as segment automata,
//! sets as Boolean combinations of them, literals per right.

use std::collections::HashMap;

use corral_compiler::eval::matching::path_segments;
use corral_compiler::eval::{Access, RuleRef};
use corral_compiler::ir::{
    AccessSet, Effect, GlobPart, PathPattern, PathSet, Policy, Right, Rights, Segment, Set,
};

use super::glob::Glob;
use crate::query::{Literal, Query};
use crate::relevance::{self, PathCover};

/// The most segments a pattern may have (positions are bits of a `u128`).
const MAX_SEGMENTS: usize = 127;

/// One segment of a pattern, as the automaton reads it.
#[derive(Debug)]
pub(crate) enum Matcher {
    Literal(String),
    Glob(u32),
    /// `**` in the middle or at the start: zero or more segments.
    AnyMid,
    /// `**` last: one or more segments.
    AnyLast,
}

#[derive(Debug)]
pub(crate) struct Atom {
    pub(crate) segs: Vec<Matcher>,
}

impl Atom {
    pub(crate) fn end(&self) -> u32 {
        self.segs.len() as u32
    }

    /// Adds the positions reachable without reading a segment.
    pub(crate) fn close(&self, mut pos: u128) -> u128 {
        for (i, m) in self.segs.iter().enumerate() {
            if pos & (1 << i) != 0 && matches!(m, Matcher::AnyMid) {
                pos |= 1 << (i + 1);
            }
        }
        pos
    }

    pub(crate) fn accepts(&self, pos: u128) -> bool {
        pos & (1 << self.end()) != 0
    }
}

/// A Boolean combination of atoms: a compiled `Set<PathPattern>`.
#[derive(Debug)]
pub(crate) enum Expr {
    False,
    Atom(u32),
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Diff(Box<Expr>, Box<Expr>),
}

/// A file rule of a policy that `Permitted` literals ask about.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) effect: Effect,
    pub(crate) rights: Rights,
    pub(crate) expr: Expr,
}

/// One literal of the query, compiled.
#[derive(Debug)]
pub(crate) enum Lit {
    Const(bool),
    /// In a set with rights (`In`, `Covered`): the right is one of
    /// `rights` and the path in `expr`.
    Set {
        rights: Rights,
        expr: Expr,
        negated: bool,
    },
    Permitted {
        policy: usize,
        right: Option<Right>,
        negated: bool,
    },
    Is {
        right: Right,
        atom: u32,
    },
}

struct Compiler<'q> {
    atoms: Vec<Atom>,
    atom_ids: HashMap<&'q PathPattern, u32>,
    globs: Vec<Glob>,
    /// Each glob as a one-segment pattern, for the evaluator's matcher.
    glob_patterns: Vec<PathPattern>,
    glob_ids: HashMap<&'q [GlobPart], u32>,
    /// Atoms no witness can be in (relevance filter): they stay dead.
    dropped: Vec<bool>,
    covers: Vec<PathCover<'q>>,
    too_deep: bool,
}

impl<'q> Compiler<'q> {
    fn atom(&mut self, pattern: &'q PathPattern) -> u32 {
        if let Some(id) = self.atom_ids.get(pattern) {
            return *id;
        }
        let id = self.atoms.len() as u32;
        let dropped = !self.covers.iter().all(|c| c.may_meet(pattern));
        self.dropped.push(dropped);
        if dropped {
            // Never stepped: no need to build its automaton.
            self.atoms.push(Atom { segs: Vec::new() });
            self.atom_ids.insert(pattern, id);
            return id;
        }
        if pattern.segments.len() > MAX_SEGMENTS {
            self.too_deep = true;
        }
        let n = pattern.segments.len();
        let segs = pattern
            .segments
            .iter()
            .enumerate()
            .map(|(i, seg)| match seg {
                Segment::Literal(l) => Matcher::Literal(l.clone()),
                Segment::AnyDepth if i + 1 == n => Matcher::AnyLast,
                Segment::AnyDepth => Matcher::AnyMid,
                Segment::Glob(parts) => Matcher::Glob(self.glob(parts)),
            })
            .collect();
        self.atoms.push(Atom { segs });
        self.atom_ids.insert(pattern, id);
        id
    }

    fn glob(&mut self, parts: &'q [GlobPart]) -> u32 {
        if let Some(id) = self.glob_ids.get(parts) {
            return *id;
        }
        let id = self.globs.len() as u32;
        self.globs.push(Glob::new(parts));
        self.glob_patterns.push(PathPattern { segments: vec![Segment::Glob(parts.to_vec())] });
        self.glob_ids.insert(parts, id);
        id
    }

    /// An atom for one literal path, outside the IR (for `Is`).
    fn literal_path(&mut self, segments: &[&str]) -> u32 {
        let id = self.atoms.len() as u32;
        self.too_deep |= segments.len() > MAX_SEGMENTS;
        self.atoms.push(Atom { segs: segments.iter().map(|s| Matcher::Literal((*s).to_owned())).collect() });
        self.dropped.push(false);
        id
    }

    fn expr(&mut self, set: &'q PathSet) -> Expr {
        match set {
            Set::Empty => Expr::False,
            Set::Atom(p) => Expr::Atom(self.atom(p)),
            Set::Union(v) => Expr::Or(v.iter().map(|s| self.expr(s)).collect()),
            Set::Inter(v) if v.is_empty() => Expr::False,
            Set::Inter(v) => Expr::And(v.iter().map(|s| self.expr(s)).collect()),
            Set::Diff(a, b) => Expr::Diff(Box::new(self.expr(a)), Box::new(self.expr(b))),
        }
    }
}

/// Covers of the positive literals, for the relevance filter.
fn static_covers<'q>(query: &Query<'q>, rights: Rights) -> Vec<PathCover<'q>> {
    let mut covers = Vec::new();
    for lit in &query.literals {
        match lit {
            Literal::In(AccessSet::Files { paths, .. }) => {
                covers.push(PathCover::new(relevance::cover(paths)))
            }
            Literal::Covered { policy, rule: RuleRef::File(i) } => {
                if let Some(rule) = policy.files.get(*i) {
                    covers.push(PathCover::new(relevance::cover(&rule.paths)));
                }
            }
            Literal::Permitted { policy, right } => {
                let rights = right.map_or(rights, Rights::of);
                let atoms = policy
                    .files
                    .iter()
                    .filter(|r| r.effect == Effect::Allow && r.rights.0 & rights.0 != 0)
                    .flat_map(|r| relevance::cover(&r.paths));
                covers.push(PathCover::new(atoms));
            }
            _ => {}
        }
    }
    covers
}

/// Everything the search needs, compiled from the query.
pub(crate) struct Problem {
    pub(crate) atoms: Vec<Atom>,
    pub(crate) globs: Vec<Glob>,
    pub(crate) glob_patterns: Vec<PathPattern>,
    pub(crate) dropped: Vec<bool>,
    pub(crate) rights: Rights,
    pub(crate) lits: Vec<Lit>,
    /// The file rules of each policy a `Permitted` literal names.
    pub(crate) policies: Vec<Vec<Rule>>,
    /// For each atom, the (policy, rule) pairs whose set it can make true.
    pub(crate) rules_of_atom: Vec<Vec<(u32, u32)>>,
    /// For each atom, the positive literals it can make true (bits).
    pub(crate) helps: Vec<u64>,
    /// The positive literals that must stay reachable (bits).
    pub(crate) required: u64,
}

pub(crate) fn expr_cover(expr: &Expr, out: &mut Vec<u32>) {
    match expr {
        Expr::False => {}
        Expr::Atom(a) => out.push(*a),
        Expr::Or(v) => v.iter().for_each(|e| expr_cover(e, out)),
        Expr::And(v) => {
            if let Some(first) = v.first() {
                expr_cover(first, out);
            }
        }
        Expr::Diff(a, _) => expr_cover(a, out),
    }
}

pub(crate) fn compile(query: &Query<'_>, prefilter: bool) -> Result<Problem, String> {
    let rights = query.possible_rights();
    let mut c = Compiler {
        atoms: Vec::new(),
        atom_ids: HashMap::new(),
        globs: Vec::new(),
        glob_patterns: Vec::new(),
        glob_ids: HashMap::new(),
        dropped: Vec::new(),
        covers: if prefilter { static_covers(query, rights) } else { Vec::new() },
        too_deep: false,
    };
    let mut policy_ids: Vec<*const Policy> = Vec::new();
    let mut policies: Vec<Vec<Rule>> = Vec::new();
    let mut lits = Vec::new();
    for lit in &query.literals {
        let compiled = match lit {
            Literal::In(set) | Literal::NotIn(set) => match set {
                AccessSet::Files { rights, paths } => Lit::Set {
                    rights: *rights,
                    expr: c.expr(paths),
                    negated: matches!(lit, Literal::NotIn(_)),
                },
                _ => Lit::Const(matches!(lit, Literal::NotIn(_))),
            },
            Literal::Covered { policy, rule } | Literal::NotCovered { policy, rule } => {
                let negated = matches!(lit, Literal::NotCovered { .. });
                match rule {
                    RuleRef::File(i) => match policy.files.get(*i) {
                        Some(r) => Lit::Set { rights: r.rights, expr: c.expr(&r.paths), negated },
                        None => Lit::Const(negated),
                    },
                    _ => Lit::Const(negated),
                }
            }
            Literal::Permitted { policy, right } | Literal::NotPermitted { policy, right } => {
                let key = std::ptr::from_ref(*policy);
                let slot = match policy_ids.iter().position(|p| *p == key) {
                    Some(slot) => slot,
                    None => {
                        policy_ids.push(key);
                        let rules = policy
                            .files
                            .iter()
                            .map(|r| Rule { effect: r.effect, rights: r.rights, expr: c.expr(&r.paths) })
                            .collect();
                        policies.push(rules);
                        policy_ids.len() - 1
                    }
                };
                Lit::Permitted {
                    policy: slot,
                    right: *right,
                    negated: matches!(lit, Literal::NotPermitted { .. }),
                }
            }
            Literal::Is(Access::File { right, path }) => match path_segments(path) {
                Some(segs) => Lit::Is { right: *right, atom: c.literal_path(&segs) },
                None => Lit::Const(false),
            },
            Literal::Is(_) => Lit::Const(false),
        };
        lits.push(compiled);
    }
    if c.too_deep {
        return Err(format!("a pattern has more than {MAX_SEGMENTS} segments"));
    }
    let n = c.atoms.len();
    let mut rules_of_atom = vec![Vec::new(); n];
    for (p, rules) in policies.iter().enumerate() {
        for (i, rule) in rules.iter().enumerate() {
            let mut cover = Vec::new();
            expr_cover(&rule.expr, &mut cover);
            cover.sort_unstable();
            cover.dedup();
            for a in cover {
                rules_of_atom[a as usize].push((p as u32, i as u32));
            }
        }
    }
    let mut helps = vec![0u64; n];
    let mut required = 0u64;
    let mut bit = 0;
    for lit in &lits {
        let mut cover = Vec::new();
        match lit {
            Lit::Set { expr, rights: r, negated: false } if r.0 & rights.0 != 0 => {
                expr_cover(expr, &mut cover)
            }
            Lit::Permitted { policy, right, negated: false } => {
                let wanted = right.map_or(rights, Rights::of);
                for rule in &policies[*policy] {
                    if rule.effect == Effect::Allow && rule.rights.0 & wanted.0 != 0 {
                        expr_cover(&rule.expr, &mut cover);
                    }
                }
            }
            Lit::Is { atom, .. } => cover.push(*atom),
            _ => continue,
        }
        if bit < 64 {
            for a in cover {
                helps[a as usize] |= 1 << bit;
            }
            required |= 1 << bit;
            bit += 1;
        }
    }
    Ok(Problem {
        atoms: c.atoms,
        globs: c.globs,
        glob_patterns: c.glob_patterns,
        dropped: c.dropped,
        rights,
        lits,
        policies,
        rules_of_atom,
        helps,
        required,
    })
}
