//! Which atoms can matter to a query, decided before anything is encoded.
//!
//! A query's positive literals bound where a witness can be: a witness of
//! `In(S)` lies in `S`, one of `Covered(rule)` in the rule's set. Each such
//! bound is over-approximated by a *cover*: atoms whose union contains it
//! (the evaluator's index does the same). An atom that can share no element
//! with some cover is false for every possible witness, so the encoder
//! replaces it by `false` and never builds its regex. The tests here are
//! conservative: "may intersect" is answered `true` whenever it is not
//! obviously `false`, so dropping an atom is always sound.

use std::collections::HashMap;

use corral_compiler::eval::matching::is_subdomain;
use corral_compiler::ir::{GlobPart, HostAtom, PathPattern, PortRange, Segment, Set};

/// Atoms whose union contains `set`: a union by all its atoms, an
/// intersection by its smallest operand, a difference by its left side.
pub(crate) fn cover<A>(set: &Set<A>) -> Vec<&A> {
    let mut out = Vec::new();
    collect_cover(set, &mut out);
    out
}

fn collect_cover<'a, A>(set: &'a Set<A>, out: &mut Vec<&'a A>) {
    match set {
        Set::Empty => {}
        Set::Atom(a) => out.push(a),
        Set::Union(v) => v.iter().for_each(|s| collect_cover(s, out)),
        Set::Inter(v) => {
            let best = v
                .iter()
                .map(|s| {
                    let mut atoms = Vec::new();
                    collect_cover(s, &mut atoms);
                    atoms
                })
                .min_by_key(Vec::len);
            out.extend(best.unwrap_or_default());
        }
        Set::Diff(a, _) => collect_cover(a, out),
    }
}

/// Can one segment of text match both segment patterns? Only literals are
/// compared exactly; two globs are assumed to meet.
fn segments_may_meet(a: &Segment, b: &Segment) -> bool {
    match (a, b) {
        (Segment::Literal(x), Segment::Literal(y)) => x == y,
        (Segment::Literal(l), Segment::Glob(g)) | (Segment::Glob(g), Segment::Literal(l)) => {
            PathPattern { segments: vec![Segment::Glob(g.clone())] }.matches_segments(&[l.as_str()])
        }
        _ => globs_may_meet(a, b),
    }
}

/// Two globs meet unless their literal heads or tails differ.
fn globs_may_meet(a: &Segment, b: &Segment) -> bool {
    let (Segment::Glob(a), Segment::Glob(b)) = (a, b) else { return true };
    let head = |parts: &[GlobPart]| match parts.first() {
        Some(GlobPart::Literal(l)) => l.clone(),
        _ => String::new(),
    };
    let tail = |parts: &[GlobPart]| match parts.last() {
        Some(GlobPart::Literal(l)) => l.clone(),
        _ => String::new(),
    };
    let (ha, hb) = (head(a), head(b));
    let (ta, tb) = (tail(a), tail(b));
    (ha.starts_with(&hb) || hb.starts_with(&ha)) && (ta.ends_with(&tb) || tb.ends_with(&ta))
}

/// Can one well-formed path match both patterns? Compares segments from
/// the front and from the back up to the first `**` of either.
pub(crate) fn paths_may_meet(a: &PathPattern, b: &PathPattern) -> bool {
    let (x, y) = (&a.segments, &b.segments);
    let any_depth = |s: &[Segment]| s.iter().any(|seg| matches!(seg, Segment::AnyDepth));
    if !any_depth(x) && !any_depth(y) {
        return x.len() == y.len() && x.iter().zip(y).all(|(p, q)| segments_may_meet(p, q));
    }
    for i in 0.. {
        match (x.get(i), y.get(i)) {
            (Some(Segment::AnyDepth), _) | (_, Some(Segment::AnyDepth)) => break,
            // One pattern ends, without `**` so far: it has exactly `i`
            // segments, and the other needs more.
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(p), Some(q)) if !segments_may_meet(p, q) => return false,
            (Some(_), Some(_)) => {}
            (None, None) => break,
        }
    }
    for (p, q) in x.iter().rev().zip(y.iter().rev()) {
        if matches!(p, Segment::AnyDepth) || matches!(q, Segment::AnyDepth) {
            break;
        }
        if !segments_may_meet(p, q) {
            return false;
        }
    }
    true
}

/// Can one host be in both atoms? Exact.
pub(crate) fn hosts_may_meet(a: &HostAtom, b: &HostAtom) -> bool {
    use HostAtom::*;
    let below_or_same =
        |name: &str, suffix: &str| name.eq_ignore_ascii_case(suffix) || is_subdomain(name, suffix);
    match (a, b) {
        (Name(x), Name(y)) => x.eq_ignore_ascii_case(y),
        (Name(n), Subdomains(s)) | (Subdomains(s), Name(n)) => is_subdomain(n, s),
        (Subdomains(x), Subdomains(y)) => below_or_same(x, y) || below_or_same(y, x),
        (Cidr(x), Cidr(y)) => x.contains(y.first()) || y.contains(x.first()),
        (Name(_) | Subdomains(_) | AnyName, Name(_) | Subdomains(_) | AnyName) => true,
        (Cidr(_) | AnyAddr, Cidr(_) | AnyAddr) => true,
        _ => false,
    }
}

pub(crate) fn ports_may_meet(a: PortRange, b: PortRange) -> bool {
    a.lo <= b.hi && b.lo <= a.hi
}

/// How many candidate atoms one `may_meet` looks at before giving up and
/// answering "may meet": bounds the filter's cost on broad patterns.
const BUDGET: usize = 4096;

/// A cover of paths, filed in a trie by literal leading segments so that
/// an atom is compared only with the cover atoms that share its prefix.
#[derive(Debug, Default)]
pub(crate) struct PathCover<'a> {
    root: Node<'a>,
}

#[derive(Debug, Default)]
struct Node<'a> {
    children: HashMap<&'a str, Node<'a>>,
    /// Atoms whose literal prefix ends here.
    here: Vec<&'a PathPattern>,
}

impl<'a> PathCover<'a> {
    pub(crate) fn new(atoms: impl IntoIterator<Item = &'a PathPattern>) -> Self {
        let mut root = Node::default();
        for atom in atoms {
            let mut node = &mut root;
            for seg in atom.literal_prefix() {
                node = node.children.entry(seg).or_default();
            }
            node.here.push(atom);
        }
        PathCover { root }
    }

    /// May some well-formed path be in `atom` and in the cover?
    pub(crate) fn may_meet(&self, atom: &PathPattern) -> bool {
        let mut budget = BUDGET;
        let mut node = &self.root;
        for seg in atom.literal_prefix() {
            if node.here.iter().any(|c| paths_may_meet(atom, c)) {
                return true;
            }
            match node.children.get(seg) {
                Some(child) => node = child,
                None => return false,
            }
        }
        // Past the atom's literal prefix every atom below may meet it.
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            for c in &n.here {
                if budget == 0 || paths_may_meet(atom, c) {
                    return true;
                }
                budget -= 1;
            }
            stack.extend(n.children.values());
        }
        false
    }
}

/// May some host be in `atom` and in one of `cover`'s atoms?
pub(crate) fn host_cover_may_meet(cover: &[&HostAtom], atom: &HostAtom) -> bool {
    cover.len() > BUDGET || cover.iter().any(|c| hosts_may_meet(atom, c))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn p(s: &str) -> PathPattern {
        PathPattern::parse(s, "/home/u").unwrap()
    }

    #[test]
    fn disjoint_paths_are_told_apart() {
        assert!(!paths_may_meet(&p("/a/b"), &p("/a/c")));
        assert!(!paths_may_meet(&p("/a/b"), &p("/a/b/c")));
        assert!(!paths_may_meet(&p("/srv/x/**"), &p("/home/**/.env")));
        assert!(!paths_may_meet(&p("/**/.env"), &p("/srv/m1.rs")));
        assert!(!paths_may_meet(&p("/"), &p("/a/**/b")));
        assert!(!paths_may_meet(&p("/a/*.rs"), &p("/a/x.py")));
        assert!(paths_may_meet(&p("/**/.env"), &p("/srv/x/**")));
        assert!(paths_may_meet(&p("/a/**"), &p("/a")));
        assert!(paths_may_meet(&p("/a/*.rs"), &p("/a/x*")));
        assert!(paths_may_meet(&p("/a/{x,y}"), &p("/a/y")));
    }

    #[test]
    fn the_trie_finds_what_the_pairwise_test_finds() {
        let atoms =
            [p("/srv/t0/p0/**"), p("/srv/t0/p1/build/**"), p("/home/u/.ssh/*"), p("/**/.git/hooks/*")];
        let cover = PathCover::new(atoms.iter());
        for probe in
            ["/srv/t0/p1/x", "/srv/t1/**", "/etc/passwd", "/**/.env", "/home/u/.ssh/id", "/a/.git/hooks/x"]
        {
            let expected = atoms.iter().any(|a| paths_may_meet(a, &p(probe)));
            assert_eq!(cover.may_meet(&p(probe)), expected, "{probe}");
        }
        assert!(!PathCover::new([]).may_meet(&p("/**")));
    }

    #[test]
    fn host_atoms_meet_exactly() {
        let h = |s: &str| HostAtom::parse(s).unwrap();
        assert!(hosts_may_meet(&h("a.example.com"), &h("*.example.com")));
        assert!(!hosts_may_meet(&h("example.com"), &h("*.example.com")));
        assert!(hosts_may_meet(&h("*.a.example.com"), &h("*.example.com")));
        assert!(!hosts_may_meet(&h("*.a.com"), &h("*.b.com")));
        assert!(hosts_may_meet(&h("10.0.0.0/8"), &h("10.1.0.0/16")));
        assert!(!hosts_may_meet(&h("10.0.0.0/8"), &h("11.0.0.0/8")));
        assert!(!hosts_may_meet(&h("10.0.0.0/8"), &h("a.com")));
        assert!(hosts_may_meet(&HostAtom::AnyName, &h("a.com")));
    }
}
