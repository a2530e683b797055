//! Prefix matching of path patterns: after reading a directory's segments,
//! what could the rest of a pattern still match below it?
//!
//! Patterns are compiled once ([`Compiled`]: literal segments, glob
//! automata, `**`) and a [`Prefix`] is a bit set of positions, so stepping
//! one name allocates nothing. The lowering steps every entry of the trees
//! it resolves, which makes this the backend's hot loop.

use corral_compiler::eval::glob::{Glob, expand_braces, matches_parts};
use corral_compiler::ir::{GlobPart, PathPattern, Segment};

/// Positions are bits of a `u128`; longer patterns are cut (see
/// [`Compiled::new`]).
const MAX_SEGMENTS: usize = 126;

#[derive(Debug)]
enum Seg {
    Literal(String),
    /// Brace-free globs, one of which must match (braces expanded).
    Globs(Vec<Vec<GlobPart>>),
    /// A glob whose braces expand to too many globs: the automaton.
    Automaton(Glob),
    AnyDepth,
}

/// Most brace-free globs one glob segment is expanded to.
const MAX_EXPANDED: usize = 32;

/// A pattern compiled for stepping.
#[derive(Debug)]
pub struct Compiled {
    segs: Vec<Seg>,
    /// The original segments, for samples.
    source: Vec<Segment>,
    /// False when the pattern was longer than [`MAX_SEGMENTS`] and cut to
    /// its first segments followed by `**`: the cut pattern matches more,
    /// so it may stand for a deny or for where to look, never for what an
    /// allow covers.
    exact: bool,
}

impl Compiled {
    pub fn new(pattern: &PathPattern) -> Self {
        let mut source = pattern.segments.clone();
        let exact = source.len() <= MAX_SEGMENTS;
        if !exact {
            source.truncate(MAX_SEGMENTS - 1);
            source.push(Segment::AnyDepth);
        }
        let segs = source
            .iter()
            .map(|seg| match seg {
                Segment::Literal(l) => Seg::Literal(l.clone()),
                Segment::Glob(parts) => match expand_braces(parts, MAX_EXPANDED) {
                    Some(globs) => Seg::Globs(globs),
                    None => Seg::Automaton(Glob::new(parts)),
                },
                Segment::AnyDepth => Seg::AnyDepth,
            })
            .collect();
        Compiled { segs, source, exact }
    }

    fn n(&self) -> usize {
        self.segs.len()
    }
}

fn segment_matches(seg: &Seg, name: &str) -> bool {
    match seg {
        Seg::Literal(l) => l == name,
        Seg::AnyDepth => true,
        Seg::Globs(globs) => globs.iter().any(|g| matches_parts(g, name)),
        Seg::Automaton(g) => g.matches(name),
    }
}

/// The positions in a pattern reachable after matching the segments of a
/// directory, as a prefix of longer paths.
#[derive(Clone, Copy, Debug)]
pub struct Prefix<'p> {
    pattern: &'p Compiled,
    states: u128,
}

impl<'p> Prefix<'p> {
    /// The pattern before reading anything (at `/`).
    pub fn start(pattern: &'p Compiled) -> Self {
        Prefix { pattern, states: close(pattern, 1) }
    }

    /// Reads one more segment of the directory path.
    pub fn step(&self, name: &str) -> Self {
        let segs = &self.pattern.segs;
        let mut next = 0u128;
        let mut bits = self.states;
        while bits != 0 {
            let s = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let Some(seg) = segs.get(s) else { continue };
            if segment_matches(seg, name) {
                next |= 1 << (s + 1);
                if matches!(seg, Seg::AnyDepth) {
                    next |= 1 << s;
                }
            }
        }
        Prefix { pattern: self.pattern, states: close(self.pattern, next) }
    }

    /// No path below can match any more.
    pub fn is_dead(&self) -> bool {
        self.states == 0
    }

    /// The pattern matches the path read so far.
    pub fn matches_here(&self) -> bool {
        self.states & (1 << self.pattern.n()) != 0
    }

    /// The pattern could match some path strictly below the one read.
    pub fn reaches_below(&self) -> bool {
        self.states & ((1u128 << self.pattern.n()) - 1) != 0
    }

    /// The pattern matches every path strictly below the one read.
    pub fn covers_all_below(&self) -> bool {
        let n = self.pattern.n();
        self.pattern.exact
            && n > 0
            && matches!(self.pattern.segs[n - 1], Seg::AnyDepth)
            && self.states & (1 << (n - 1)) != 0
    }

    /// The rest of the pattern has a wildcard: it may match files created
    /// later. Returns one concrete such rest, e.g. `new/.env` for `**/.env`.
    pub fn wildcard_rest_sample(&self) -> Option<String> {
        let segs = &self.pattern.source;
        (0..segs.len()).filter(|s| self.states & (1 << s) != 0).find_map(|s| {
            let rest = &segs[s..];
            if rest.iter().all(|seg| matches!(seg, Segment::Literal(_))) {
                return None;
            }
            let names: Vec<String> = rest.iter().map(sample_segment).collect();
            Some(names.join("/"))
        })
    }
}

/// A `**` that is not the last segment may match zero segments.
fn close(pattern: &Compiled, mut states: u128) -> u128 {
    for (i, seg) in pattern.segs.iter().enumerate() {
        if states & (1 << i) != 0 && matches!(seg, Seg::AnyDepth) && i + 1 < pattern.n() {
            states |= 1 << (i + 1);
        }
    }
    states
}

impl Prefix<'_> {
    /// The rest of the pattern when it is literal segments only (it names
    /// one path below), e.g. `b/new.txt` for `/a/b/new.txt` read at `/a`.
    pub fn literal_rest(&self) -> Option<String> {
        let segs = &self.pattern.source;
        (0..segs.len()).filter(|s| self.states & (1 << s) != 0).find_map(|s| {
            let rest = &segs[s..];
            let names: Option<Vec<&str>> = rest
                .iter()
                .map(|seg| match seg {
                    Segment::Literal(l) => Some(l.as_str()),
                    _ => None,
                })
                .collect();
            names.map(|n| n.join("/"))
        })
    }
}

fn sample_segment(seg: &Segment) -> String {
    match seg {
        Segment::Literal(l) => l.clone(),
        Segment::AnyDepth => "new".to_owned(),
        Segment::Glob(parts) => sample_parts(parts),
    }
}

fn sample_parts(parts: &[GlobPart]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            GlobPart::Literal(l) => out.push_str(l),
            GlobPart::Star => out.push_str("new"),
            GlobPart::Question => out.push('x'),
            GlobPart::Alternatives(alts) => {
                if let Some(first) = alts.first() {
                    out.push_str(&sample_parts(first));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Compiled {
        Compiled::new(&PathPattern::parse(s, "/home/u").unwrap_or_else(|_| PathPattern::root()))
    }

    fn read<'p>(p: &'p Compiled, dir: &[&str]) -> Prefix<'p> {
        dir.iter().fold(Prefix::start(p), |acc, name| acc.step(name))
    }

    #[test]
    fn under_covers_everything_below() {
        let p = pat("/w/**");
        assert!(read(&p, &["w"]).covers_all_below());
        assert!(!read(&p, &["w"]).matches_here());
        assert!(read(&p, &["w", "a"]).matches_here());
        assert!(!read(&p, &[]).covers_all_below());
        assert!(!read(&p, &["x"]).reaches_below());
    }

    #[test]
    fn middle_any_depth_gives_a_sample() {
        let p = pat("/**/.env");
        let at = read(&p, &["w"]);
        assert!(at.reaches_below());
        assert!(!at.covers_all_below());
        assert_eq!(at.wildcard_rest_sample().as_deref(), Some("new/.env"));
        assert!(read(&p, &["w", ".env"]).matches_here());
    }

    #[test]
    fn literal_rest_is_named() {
        let p = pat("/w/secret/key");
        assert!(read(&p, &["w"]).reaches_below());
        assert_eq!(read(&p, &["w"]).wildcard_rest_sample(), None);
    }
}
