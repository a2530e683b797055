//! The breadth-first search over products of segment automata.

use std::collections::hash_map::DefaultHasher;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Instant;

use corral_compiler::eval::Access;
use corral_compiler::ir::{Effect, Right};

use super::glob::{Glob, representatives};
use super::problem::{Expr, Lit, Matcher, Problem, compile};
use crate::query::{Kind, Query};
use crate::smt::Stats;

/// How many (pattern, positions) entries the visited states of one search
/// may hold in all: about 256 MB.
const MAX_ENTRIES: usize = 8_000_000;

/// The answer of a file search: a witness, none, or why it gave up.
pub(crate) enum FileAnswer {
    Found(Access),
    NotFound,
    GaveUp(String),
}

/// The live atoms of a state with their positions, sorted by atom.
type State = Vec<(u32, u128)>;

/// Verdicts of the atoms in one state: which accept.
struct Verdicts {
    epoch: Vec<u32>,
    now: u32,
}

impl Verdicts {
    fn accepts(&self, atom: u32) -> bool {
        self.epoch[atom as usize] == self.now
    }

    fn eval(&self, expr: &Expr) -> bool {
        match expr {
            Expr::False => false,
            Expr::Atom(a) => self.accepts(*a),
            Expr::Or(v) => v.iter().any(|e| self.eval(e)),
            Expr::And(v) => !v.is_empty() && v.iter().all(|e| self.eval(e)),
            Expr::Diff(a, b) => self.eval(a) && !self.eval(b),
        }
    }
}

impl Problem {
    fn initial(&self) -> State {
        (0..self.atoms.len())
            .filter(|a| !self.dropped[*a])
            .map(|a| (a as u32, self.atoms[a].close(1)))
            .collect()
    }

    /// Is `right` with the state's path permitted by policy `p`? Only
    /// rules with an accepting atom can cover it.
    fn permitted(&self, p: usize, right: Right, accepting: &[u32], v: &Verdicts) -> bool {
        let mut allowed = false;
        for &a in accepting {
            for &(policy, rule) in &self.rules_of_atom[a as usize] {
                if policy as usize != p {
                    continue;
                }
                let rule = &self.policies[p][rule as usize];
                if !rule.rights.contains(right) || !v.eval(&rule.expr) {
                    continue;
                }
                match rule.effect {
                    Effect::Deny => return false,
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed
    }

    /// The first right (if any) for which every literal holds.
    fn satisfied(&self, accepting: &[u32], v: &Verdicts) -> Option<Right> {
        self.rights.iter().find(|&r| {
            self.lits.iter().all(|lit| match lit {
                Lit::Const(b) => *b,
                Lit::Set { rights, expr, negated } => (rights.contains(r) && v.eval(expr)) != *negated,
                Lit::Permitted { policy, right, negated } => {
                    self.permitted(*policy, right.unwrap_or(r), accepting, v) != *negated
                }
                Lit::Is { right, atom } => *right == r && v.accepts(*atom),
            })
        })
    }

    /// The state after reading segment `text`.
    fn step(&self, state: &State, text: &str, glob_memo: &mut HashMap<(u32, String), bool>) -> State {
        let mut next = Vec::with_capacity(state.len());
        for &(a, pos) in state {
            let atom = &self.atoms[a as usize];
            let mut to = 0u128;
            for (i, m) in atom.segs.iter().enumerate() {
                if pos & (1 << i) == 0 {
                    continue;
                }
                match m {
                    Matcher::AnyMid => to |= 1 << i,
                    Matcher::AnyLast => to |= (1 << i) | (1 << (i + 1)),
                    Matcher::Literal(l) => {
                        if l == text {
                            to |= 1 << (i + 1);
                        }
                    }
                    Matcher::Glob(g) => {
                        let key = (*g, text.to_owned());
                        let hit = *glob_memo
                            .entry(key)
                            .or_insert_with(|| self.glob_patterns[*g as usize].matches_segments(&[text]));
                        if hit {
                            to |= 1 << (i + 1);
                        }
                    }
                }
            }
            if to != 0 {
                next.push((a, atom.close(to)));
            }
        }
        next
    }

    /// The segments worth trying from `state`.
    fn segments(
        &self,
        state: &State,
        cache: &mut HashMap<Vec<u32>, Vec<(String, Vec<bool>)>>,
    ) -> Result<Vec<String>, String> {
        let mut literals: BTreeSet<&str> = BTreeSet::new();
        let mut globs: BTreeSet<u32> = BTreeSet::new();
        for &(a, pos) in state {
            for (i, m) in self.atoms[a as usize].segs.iter().enumerate() {
                if pos & (1 << i) == 0 {
                    continue;
                }
                match m {
                    Matcher::Literal(l) => {
                        literals.insert(l);
                    }
                    Matcher::Glob(g) => {
                        globs.insert(*g);
                    }
                    Matcher::AnyMid | Matcher::AnyLast => {}
                }
            }
        }
        let globs: Vec<u32> = globs.into_iter().collect();
        let mut out: Vec<String> = Vec::new();
        let reps = match cache.entry(globs.clone()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let compiled: Vec<&Glob> = globs.iter().map(|g| &self.globs[*g as usize]).collect();
                e.insert(representatives(&compiled, &[])?)
            }
        };
        if reps.iter().all(|(text, _)| !literals.contains(text.as_str())) {
            out.extend(reps.iter().map(|(t, _)| t.clone()));
        } else {
            // A cached segment is one of this state's literals: search
            // again, keeping literals apart.
            let compiled: Vec<&Glob> = globs.iter().map(|g| &self.globs[*g as usize]).collect();
            let lits: Vec<&str> = literals.iter().copied().collect();
            out.extend(representatives(&compiled, &lits)?.into_iter().map(|(t, _)| t));
        }
        // Segments no literal names first, so that witnesses show `x`
        // rather than a name some unrelated pattern happens to use.
        out.extend(literals.iter().map(|l| (*l).to_owned()));
        Ok(out)
    }
}

/// Three-valued truth: what every path strictly below a state can say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum K {
    False,
    True,
    Unknown,
}

impl K {
    fn not(self) -> K {
        match self {
            K::False => K::True,
            K::True => K::False,
            K::Unknown => K::Unknown,
        }
    }

    fn and(self, other: K) -> K {
        match (self, other) {
            (K::False, _) | (_, K::False) => K::False,
            (K::True, K::True) => K::True,
            _ => K::Unknown,
        }
    }

    fn or(self, other: K) -> K {
        self.not().and(other.not()).not()
    }
}

/// Scratch space for three-valued evaluation: the value of each atom for
/// the strict descendants of the current state (absent atoms are dead).
struct Kleene {
    epoch: Vec<u32>,
    value: Vec<K>,
    now: u32,
    rule_epoch: Vec<Vec<u32>>,
}

impl Kleene {
    fn new(problem: &Problem) -> Self {
        Kleene {
            epoch: vec![0; problem.atoms.len()],
            value: vec![K::False; problem.atoms.len()],
            now: 0,
            rule_epoch: problem.policies.iter().map(|rules| vec![0; rules.len()]).collect(),
        }
    }

    fn atom(&self, a: u32) -> K {
        let i = a as usize;
        if self.epoch[i] == self.now { self.value[i] } else { K::False }
    }

    fn eval(&self, expr: &Expr) -> K {
        match expr {
            Expr::False => K::False,
            Expr::Atom(a) => self.atom(*a),
            Expr::Or(v) => v.iter().fold(K::False, |acc, e| acc.or(self.eval(e))),
            Expr::And(v) if v.is_empty() => K::False,
            Expr::And(v) => v.iter().fold(K::True, |acc, e| acc.and(self.eval(e))),
            Expr::Diff(a, b) => self.eval(a).and(self.eval(b).not()),
        }
    }
}

impl Problem {
    /// Can some path strictly below `state` satisfy the query? A pattern
    /// absent from the state is false below it; one at a last `**` is true
    /// for every path below; the others may go either way.
    fn may_hold_below(&self, state: &State, k: &mut Kleene) -> bool {
        k.now += 1;
        for &(a, pos) in state {
            let atom = &self.atoms[a as usize];
            let sticky = atom
                .segs
                .iter()
                .enumerate()
                .any(|(i, m)| matches!(m, Matcher::AnyLast) && pos & (1 << i) != 0);
            k.epoch[a as usize] = k.now;
            k.value[a as usize] = if sticky { K::True } else { K::Unknown };
        }
        // Decisions of each policy for each right, from the rules that a
        // live pattern can still make cover.
        let mut decisions: HashMap<(usize, Right), K> = HashMap::new();
        let mut rules: Vec<(usize, usize)> = Vec::new();
        for &(a, _) in state {
            for &(p, r) in &self.rules_of_atom[a as usize] {
                let (p, r) = (p as usize, r as usize);
                if k.rule_epoch[p][r] != k.now {
                    k.rule_epoch[p][r] = k.now;
                    rules.push((p, r));
                }
            }
        }
        let mut decide = |p: usize, right: Right| -> K {
            *decisions.entry((p, right)).or_insert_with(|| {
                let (mut allow, mut deny) = (K::False, K::False);
                for &(q, r) in &rules {
                    let rule = &self.policies[q][r];
                    if q != p || !rule.rights.contains(right) {
                        continue;
                    }
                    let v = k.eval(&rule.expr);
                    match rule.effect {
                        Effect::Allow => allow = allow.or(v),
                        Effect::Deny => deny = deny.or(v),
                    }
                }
                allow.and(deny.not())
            })
        };
        self.rights.iter().any(|r| {
            self.lits.iter().all(|lit| {
                let v = match lit {
                    Lit::Const(b) => {
                        if *b {
                            K::True
                        } else {
                            K::False
                        }
                    }
                    Lit::Set { rights, expr, negated } => {
                        let v = if rights.contains(r) { k.eval(expr) } else { K::False };
                        if *negated { v.not() } else { v }
                    }
                    Lit::Permitted { policy, right, negated } => {
                        let v = decide(*policy, right.unwrap_or(r));
                        if *negated { v.not() } else { v }
                    }
                    Lit::Is { right, atom } => {
                        if *right == r {
                            k.atom(*atom)
                        } else {
                            K::False
                        }
                    }
                };
                v != K::False
            })
        })
    }
}

fn path_of(parents: &[(usize, String)], mut node: usize) -> String {
    let mut segs = Vec::new();
    while node != 0 {
        let (parent, seg) = &parents[node];
        segs.push(seg.as_str());
        node = *parent;
    }
    if segs.is_empty() {
        return "/".to_owned();
    }
    segs.reverse();
    format!("/{}", segs.join("/"))
}

/// Searches for a file access satisfying every literal of `query`, giving
/// up at `deadline`.
pub(crate) fn search(
    query: &Query<'_>,
    deadline: Option<Instant>,
    skeleton_timeout_ms: u32,
    prefilter: bool,
    stats: &mut Stats,
) -> FileAnswer {
    if query.kind != Kind::File {
        return FileAnswer::GaveUp("not a file query".into());
    }
    let problem = match compile(query, prefilter) {
        Ok(p) => p,
        Err(why) => return FileAnswer::GaveUp(why),
    };
    stats.dropped = problem.dropped.iter().filter(|d| **d).count();
    stats.atoms = problem.atoms.len() - stats.dropped;
    if problem.rights.is_empty() || problem.lits.iter().any(|l| matches!(l, Lit::Const(false))) {
        return FileAnswer::NotFound;
    }
    if crate::smt::skeleton_satisfiable(&problem, skeleton_timeout_ms) == Some(false) {
        stats.skeleton_unsat = true;
        return FileAnswer::NotFound;
    }
    explore(&problem, deadline, stats)
}

fn state_hash(state: &State) -> u64 {
    let mut h = DefaultHasher::new();
    state.hash(&mut h);
    h.finish()
}

fn explore(problem: &Problem, deadline: Option<Instant>, stats: &mut Stats) -> FileAnswer {
    let mut verdicts = Verdicts { epoch: vec![0; problem.atoms.len()], now: 0 };
    // Every state visited, once, by node id; `index` finds them by hash.
    let mut states: Vec<State> = vec![problem.initial()];
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    index.entry(state_hash(&states[0])).or_default().push(0);
    let mut entries = states[0].len();
    let mut parents: Vec<(usize, String)> = vec![(0, String::new())];
    let mut queue: VecDeque<usize> = VecDeque::from([0]);
    let mut glob_memo = HashMap::new();
    let mut reps_cache = HashMap::new();
    let mut accepting = Vec::new();
    let mut three = Kleene::new(problem);
    while let Some(node) = queue.pop_front() {
        stats.states += 1;
        if deadline.is_some_and(|d| Instant::now() > d) {
            return FileAnswer::GaveUp(format!("timeout after {} path states", states.len()));
        }
        let state = &states[node];
        verdicts.now += 1;
        accepting.clear();
        let mut alive = 0u64;
        for &(a, pos) in state {
            alive |= problem.helps[a as usize];
            if problem.atoms[a as usize].accepts(pos) {
                verdicts.epoch[a as usize] = verdicts.now;
                accepting.push(a);
            }
        }
        if let Some(right) = problem.satisfied(&accepting, &verdicts) {
            return FileAnswer::Found(Access::File { right, path: path_of(&parents, node) });
        }
        // A positive literal none of whose atoms can still accept, or a
        // query false whatever the live patterns answer below: no longer
        // path below this one satisfies the query.
        if alive & problem.required != problem.required || !problem.may_hold_below(state, &mut three) {
            continue;
        }
        let segments = match problem.segments(state, &mut reps_cache) {
            Ok(s) => s,
            Err(why) => return FileAnswer::GaveUp(why),
        };
        let mut fresh = Vec::new();
        for seg in segments {
            let next = problem.step(&states[node], &seg, &mut glob_memo);
            let hash = state_hash(&next);
            let known = index.get(&hash).is_some_and(|ids| ids.iter().any(|&i| states[i] == next))
                || fresh.iter().any(|(h, s, _): &(u64, State, String)| *h == hash && *s == next);
            if !known {
                fresh.push((hash, next, seg));
            }
        }
        for (hash, next, seg) in fresh {
            entries += next.len();
            if entries > MAX_ENTRIES {
                return FileAnswer::GaveUp(format!(
                    "path search bound reached after {} states",
                    states.len()
                ));
            }
            parents.push((node, seg));
            states.push(next);
            let id = states.len() - 1;
            index.entry(hash).or_default().push(id);
            queue.push_back(id);
        }
    }
    FileAnswer::NotFound
}
