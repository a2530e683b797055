//! Representative segments: for a set of glob segments and literal
//! segments, one segment text of every class that no pattern can tell
//! apart from the rest of its class.
//!
//! Two segments behave alike for every pattern when they equal the same
//! literal (or none) and match the same globs. The literals stand for
//! themselves; for the rest, a breadth-first search over the product of
//! the globs' automata (over characters) finds, for every vector of glob
//! results that some non-literal segment realises, the shortest segment
//! that does. Characters that occur in no glob literal are interchangeable
//! for every glob, so one spare character stands for all of them.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

/// How many product states one search may visit.
const MAX_STATES: usize = 200_000;

pub(crate) use corral_compiler::eval::glob::{Glob, States};

/// The characters tried first, so that witnesses read well.
const READABLE: &str = "xyzabcdefghijklmnopqrstuvw0123456789._-";

/// A character no glob literal and no literal segment uses.
fn spare(used: &BTreeSet<char>) -> char {
    READABLE
        .chars()
        .chain("ABCDEFGHIJKLMNOPQRSTUVWXYZ~+=@%".chars())
        .chain((0xE000..0xF900).filter_map(char::from_u32))
        .find(|c| !used.contains(c) && *c != '.')
        .unwrap_or('\u{F8FF}')
}

/// A trie of the literal segments (and of `.` and `..`, which are no
/// segments at all), so that the search knows when its text is one.
#[derive(Debug, Default)]
struct Trie {
    nodes: Vec<(HashMap<char, usize>, bool)>,
}

impl Trie {
    fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut trie = Trie { nodes: vec![(HashMap::new(), false)] };
        for word in words.into_iter().chain([".", ".."]) {
            let mut node = 0;
            for c in word.chars() {
                node = match trie.nodes[node].0.get(&c) {
                    Some(n) => *n,
                    None => {
                        trie.nodes.push((HashMap::new(), false));
                        let n = trie.nodes.len() - 1;
                        trie.nodes[node].0.insert(c, n);
                        n
                    }
                };
            }
            trie.nodes[node].1 = true;
        }
        trie
    }
}

/// One segment text per class of non-literal segments that `globs` tell
/// apart, shortest first, with which globs match it. `Err` when the search
/// grows past its bound.
pub(crate) fn representatives(
    globs: &[&Glob],
    literals: &[&str],
) -> Result<Vec<(String, Vec<bool>)>, String> {
    let mut used: BTreeSet<char> = globs.iter().flat_map(|g| g.chars()).collect();
    let spare_char = spare(&used.iter().copied().chain(literals.iter().flat_map(|l| l.chars())).collect());
    used.insert('.');
    let mut alphabet: Vec<char> = used.into_iter().collect();
    alphabet.insert(0, spare_char);
    let trie = Trie::new(literals.iter().copied());

    type Key = (Vec<States>, Option<usize>);
    let start: Key = (globs.iter().map(|g| g.start()).collect(), Some(0));
    let mut seen: HashSet<Key> = HashSet::new();
    let mut queue: VecDeque<(Key, String)> = VecDeque::new();
    let mut found: Vec<(String, Vec<bool>)> = Vec::new();
    let mut vectors: HashSet<Vec<bool>> = HashSet::new();
    seen.insert(start.clone());
    queue.push_back((start, String::new()));
    while let Some(((states, node), text)) = queue.pop_front() {
        for &c in &alphabet {
            let next_states: Vec<States> = globs.iter().zip(&states).map(|(g, s)| g.step(s, c)).collect();
            let next_node = node.and_then(|n| trie.nodes[n].0.get(&c).copied());
            let mut next_text = text.clone();
            next_text.push(c);
            let is_literal = next_node.is_some_and(|n| trie.nodes[n].1);
            if !is_literal {
                let vector: Vec<bool> = globs.iter().zip(&next_states).map(|(g, s)| g.accepts(s)).collect();
                if vectors.insert(vector.clone()) {
                    found.push((next_text.clone(), vector));
                }
            }
            let key = (next_states, next_node);
            if seen.contains(&key) {
                continue;
            }
            if seen.len() >= MAX_STATES {
                return Err(format!("more than {MAX_STATES} glob states"));
            }
            seen.insert(key.clone());
            queue.push_back((key, next_text));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use corral_compiler::ir::{PathPattern, Segment};

    fn glob(text: &str) -> Glob {
        let p = PathPattern::parse(&format!("/{text}"), "/h").unwrap();
        match &p.segments[0] {
            Segment::Glob(parts) => Glob::new(parts),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_realisable_vector_gets_a_segment() {
        let (a, b) = (glob("*.rs"), glob("gen_*"));
        let reps = representatives(&[&a, &b], &[]).unwrap();
        let vectors: HashSet<Vec<bool>> = reps.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(vectors.len(), 4, "{reps:?}");
        assert_eq!(reps[0].0, "x");
    }

    #[test]
    fn literals_and_dots_are_not_representatives() {
        let q = glob("?");
        let reps = representatives(&[&q], &["x", "y"]).unwrap();
        for (text, _) in &reps {
            assert!(!["x", "y", ".", ".."].contains(&text.as_str()), "{reps:?}");
        }
        // `?` still gets a one-character witness that is no literal.
        assert!(reps.iter().any(|(t, v)| v[0] && t.chars().count() == 1));
        // Only `.` realises "one dot-free character" for `.`: no segment.
        let dot = glob("{.,..}");
        let reps = representatives(&[&dot], &[]).unwrap();
        assert!(reps.iter().all(|(_, v)| !v[0]), "{reps:?}");
    }
}
