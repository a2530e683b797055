//! Candidate indexes, so that one decision on a policy with thousands of
//! rules looks at a handful of them instead of scanning all.
//!
//! An index only proposes candidates: its answer may include rules that do
//! not cover the access, never omit one that does. Every candidate is then
//! decided exactly by `matching`, so the index affects speed, not verdicts.
//! Candidate lists are sorted and deduplicated, so the decision does not
//! depend on hash order.
//!
//! Completeness rests on [`cover_atoms`]: for every set it returns atoms
//! whose union contains the set (a union by all its atoms, an intersection
//! by one operand, a difference by its left side), and each atom is filed
//! under a key that every member of the atom is looked up by.

use std::borrow::Cow;
use std::collections::HashMap;

use super::matching::Host;
use crate::ir::{Cidr, EndpointAtom, HostAtom, PathPattern, Policy, Set};

/// Atoms whose union contains `set`. `weight` estimates how many lookups an
/// atom would be a candidate for; an intersection is covered by its
/// lightest operand.
fn cover_atoms<'a, A>(set: &'a Set<A>, weight: &impl Fn(&A) -> u64, out: &mut Vec<&'a A>) {
    match set {
        Set::Empty => {}
        Set::Atom(a) => out.push(a),
        Set::Union(v) => v.iter().for_each(|s| cover_atoms(s, weight, out)),
        Set::Inter(v) => {
            let mut best: Option<(u64, Vec<&'a A>)> = None;
            for s in v {
                let mut atoms = Vec::new();
                cover_atoms(s, weight, &mut atoms);
                let cost = atoms.iter().map(|a| weight(a)).sum();
                if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                    best = Some((cost, atoms));
                }
            }
            // An empty intersection is empty (see `Set::contains_by`).
            out.extend(best.map(|(_, atoms)| atoms).unwrap_or_default());
        }
        Set::Diff(a, _) => cover_atoms(a, weight, out),
    }
}

/// Patterns rooted deeper in the tree are candidates for fewer paths.
fn path_weight(p: &PathPattern) -> u64 {
    1 << (8 - p.literal_prefix().take(8).count())
}

fn host_weight(h: &HostAtom) -> u64 {
    match h {
        HostAtom::Name(_) => 1,
        HostAtom::Subdomains(_) | HostAtom::Cidr(_) => 2,
        HostAtom::AnyName | HostAtom::AnyAddr => 256,
    }
}

fn endpoint_weight(e: &EndpointAtom) -> u64 {
    let mut hosts = Vec::new();
    cover_atoms(&e.hosts, &host_weight, &mut hosts);
    hosts.into_iter().map(host_weight).sum()
}

/// Pushes `rule` unless it was the last one pushed: rules are inserted in
/// order, so this keeps each list free of duplicates.
fn push_rule(list: &mut Vec<usize>, rule: usize) {
    if list.last() != Some(&rule) {
        list.push(rule);
    }
}

/// A trie over literal leading path segments. A rule sits at the node of
/// each covering pattern's literal prefix; patterns that start with a
/// wildcard sit at the root.
#[derive(Debug, Default)]
struct TrieNode {
    children: HashMap<String, usize>,
    rules: Vec<usize>,
}

#[derive(Debug)]
struct FileTrie {
    nodes: Vec<TrieNode>,
}

impl FileTrie {
    fn new() -> Self {
        FileTrie { nodes: vec![TrieNode::default()] }
    }

    fn insert<'a>(&mut self, prefix: impl Iterator<Item = &'a str>, rule: usize) {
        let mut node = 0;
        for seg in prefix {
            node = match self.nodes[node].children.get(seg) {
                Some(&child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[node].children.insert(seg.to_owned(), child);
                    child
                }
            };
        }
        push_rule(&mut self.nodes[node].rules, rule);
    }

    /// Every rule at a node on the path from the root along `path`.
    fn candidates(&self, path: &[&str], out: &mut Vec<usize>) {
        let mut node = 0;
        out.extend(&self.nodes[0].rules);
        for seg in path {
            match self.nodes[node].children.get(*seg) {
                Some(&child) => {
                    node = child;
                    out.extend(&self.nodes[child].rules);
                }
                None => break,
            }
        }
    }
}

/// Connect rules by the host atoms that cover their endpoint sets.
#[derive(Debug, Default)]
struct ConnectIndex {
    /// Exact names, lower case.
    names: HashMap<String, Vec<usize>>,
    /// `*.suffix` by suffix, lower case.
    subdomains: HashMap<String, Vec<usize>>,
    /// CIDRs by (network, prefix length in the 128-bit space).
    cidrs: HashMap<(u128, u8), Vec<usize>>,
    /// The prefix lengths present in `cidrs`, so a lookup probes only these.
    cidr_lens: Vec<u8>,
    any_name: Vec<usize>,
    any_addr: Vec<usize>,
}

impl ConnectIndex {
    fn insert(&mut self, host: &HostAtom, rule: usize) {
        match host {
            HostAtom::Name(n) => {
                push_rule(self.names.entry(n.to_ascii_lowercase()).or_default(), rule);
            }
            HostAtom::Subdomains(s) => {
                push_rule(self.subdomains.entry(s.to_ascii_lowercase()).or_default(), rule);
            }
            HostAtom::Cidr(c) => {
                let key = (c.addr & Cidr::mask(c.len), c.len);
                push_rule(self.cidrs.entry(key).or_default(), rule);
                if let Err(at) = self.cidr_lens.binary_search(&c.len) {
                    self.cidr_lens.insert(at, c.len);
                }
            }
            HostAtom::AnyName => push_rule(&mut self.any_name, rule),
            HostAtom::AnyAddr => push_rule(&mut self.any_addr, rule),
        }
    }

    fn candidates(&self, host: &Host, out: &mut Vec<usize>) {
        match host {
            Host::Name(name) => {
                let name: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(name.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(name)
                };
                if let Some(rules) = self.names.get(name.as_ref()) {
                    out.extend(rules);
                }
                // `*.s` can match only when `s` is what follows some dot.
                for (i, _) in name.match_indices('.') {
                    if let Some(rules) = self.subdomains.get(&name[i + 1..]) {
                        out.extend(rules);
                    }
                }
                out.extend(&self.any_name);
            }
            Host::Addr(addr) => {
                for &len in &self.cidr_lens {
                    if let Some(rules) = self.cidrs.get(&(addr & Cidr::mask(len), len)) {
                        out.extend(rules);
                    }
                }
                out.extend(&self.any_addr);
            }
        }
    }
}

/// The indexes of one policy's file and connect rules. Bind and device
/// rules are few and scanned.
#[derive(Debug)]
pub(crate) struct PolicyIndex {
    files: FileTrie,
    connects: ConnectIndex,
}

impl PolicyIndex {
    pub(crate) fn new(policy: &Policy) -> Self {
        let mut files = FileTrie::new();
        for (i, rule) in policy.files.iter().enumerate() {
            let mut patterns = Vec::new();
            cover_atoms(&rule.paths, &path_weight, &mut patterns);
            for p in patterns {
                files.insert(p.literal_prefix(), i);
            }
        }
        let mut connects = ConnectIndex::default();
        for (i, rule) in policy.connects.iter().enumerate() {
            let mut endpoints = Vec::new();
            cover_atoms(&rule.endpoints, &endpoint_weight, &mut endpoints);
            for e in endpoints {
                let mut hosts = Vec::new();
                cover_atoms(&e.hosts, &host_weight, &mut hosts);
                for h in hosts {
                    connects.insert(h, i);
                }
            }
        }
        PolicyIndex { files, connects }
    }

    /// Indexes of file rules that may cover `path`, ascending.
    pub(crate) fn file_candidates(&self, path: &[&str]) -> Vec<usize> {
        let mut out = Vec::new();
        self.files.candidates(path, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Indexes of connect rules that may cover `host`, ascending.
    pub(crate) fn connect_candidates(&self, host: &Host) -> Vec<usize> {
        let mut out = Vec::new();
        self.connects.candidates(host, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn pat(s: &str) -> Set<PathPattern> {
        Set::Atom(PathPattern::parse(s, "/h").unwrap())
    }

    fn covered(set: &Set<PathPattern>) -> Vec<String> {
        let mut out = Vec::new();
        cover_atoms(set, &path_weight, &mut out);
        out.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn covers_unions_fully_intersections_by_lightest_and_differences_by_left() {
        let u = Set::union([pat("/a/**"), pat("/*/b")]);
        assert_eq!(covered(&u), ["/a/**", "/*/b"]);
        let i = Set::inter([pat("/**"), pat("/x/y/*")]);
        assert_eq!(covered(&i), ["/x/y/*"]);
        let d = Set::diff(pat("/x/*"), pat("/**"));
        assert_eq!(covered(&d), ["/x/*"]);
        assert!(covered(&Set::inter([Set::Empty, pat("/**")])).is_empty());
    }

    #[test]
    fn trie_proposes_rules_along_the_path_only() {
        let mut trie = FileTrie::new();
        trie.insert(["a", "b"].into_iter(), 0);
        trie.insert(std::iter::empty(), 1);
        trie.insert(["c"].into_iter(), 2);
        trie.insert(["a"].into_iter(), 3);
        let mut out = Vec::new();
        trie.candidates(&["a", "b", "z"], &mut out);
        out.sort_unstable();
        assert_eq!(out, [0, 1, 3]);
        out.clear();
        trie.candidates(&[], &mut out);
        assert_eq!(out, [1]);
    }

    #[test]
    fn connect_index_probes_names_suffixes_and_prefix_lengths() {
        let mut idx = ConnectIndex::default();
        idx.insert(&HostAtom::parse("example.com").unwrap(), 0);
        idx.insert(&HostAtom::parse("*.example.com").unwrap(), 1);
        idx.insert(&HostAtom::parse("10.0.0.0/8").unwrap(), 2);
        idx.insert(&HostAtom::AnyName, 3);
        idx.insert(&HostAtom::parse("10.1.0.0/16").unwrap(), 4);
        let look = |h: &str| {
            let mut out = Vec::new();
            idx.candidates(&Host::parse(h).unwrap(), &mut out);
            out.sort_unstable();
            out
        };
        assert_eq!(look("example.com"), [0, 3]);
        assert_eq!(look("a.b.Example.com"), [1, 3]);
        assert_eq!(look("10.1.2.3"), [2, 4]);
        assert_eq!(look("11.0.0.1"), Vec::<usize>::new());
    }
}
