//! Prefix matching of path patterns: after reading a directory's segments,
//! what could the rest of a pattern still match below it?

use corral_compiler::ir::{GlobPart, PathPattern, Segment};

/// The positions in `pattern` reachable after matching the segments of a
/// directory, as a prefix of longer paths.
#[derive(Clone, Debug)]
pub struct Prefix<'p> {
    pattern: &'p PathPattern,
    states: Vec<usize>,
}

fn segment_matches(seg: &Segment, name: &str) -> bool {
    match seg {
        Segment::Literal(l) => l == name,
        Segment::AnyDepth => true,
        Segment::Glob(_) => PathPattern { segments: vec![seg.clone()] }.matches_segments(&[name]),
    }
}

impl<'p> Prefix<'p> {
    /// The pattern before reading anything (at `/`).
    pub fn start(pattern: &'p PathPattern) -> Self {
        let mut p = Prefix { pattern, states: vec![0] };
        p.close();
        p
    }

    /// A `**` that is not the last segment may match zero segments.
    fn close(&mut self) {
        let segs = &self.pattern.segments;
        let mut i = 0;
        while i < self.states.len() {
            let s = self.states[i];
            if s + 1 < segs.len() && segs[s] == Segment::AnyDepth && !self.states.contains(&(s + 1)) {
                self.states.push(s + 1);
            }
            i += 1;
        }
        self.states.sort_unstable();
        self.states.dedup();
    }

    /// Reads one more segment of the directory path.
    pub fn step(&self, name: &str) -> Self {
        let segs = &self.pattern.segments;
        let mut next = Vec::new();
        for &s in &self.states {
            let Some(seg) = segs.get(s) else { continue };
            if segment_matches(seg, name) {
                next.push(s + 1);
                if *seg == Segment::AnyDepth {
                    next.push(s);
                }
            }
        }
        let mut p = Prefix { pattern: self.pattern, states: next };
        p.close();
        p
    }

    /// The pattern matches the path read so far.
    pub fn matches_here(&self) -> bool {
        self.states.contains(&self.pattern.segments.len())
    }

    /// The pattern could match some path strictly below the one read.
    pub fn reaches_below(&self) -> bool {
        self.states.iter().any(|&s| s < self.pattern.segments.len())
    }

    /// The pattern matches every path strictly below the one read.
    pub fn covers_all_below(&self) -> bool {
        let n = self.pattern.segments.len();
        self.states.iter().any(|&s| s + 1 == n && self.pattern.segments[s] == Segment::AnyDepth)
    }

    /// The rest of the pattern has a wildcard: it may match files created
    /// later. Returns one concrete such rest, e.g. `new/.env` for `**/.env`.
    pub fn wildcard_rest_sample(&self) -> Option<String> {
        let segs = &self.pattern.segments;
        self.states.iter().filter(|&&s| s < segs.len()).find_map(|&s| {
            let rest = &segs[s..];
            if rest.iter().all(|seg| matches!(seg, Segment::Literal(_))) {
                return None;
            }
            let names: Vec<String> = rest.iter().map(sample_segment).collect();
            Some(names.join("/"))
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

    fn pat(s: &str) -> PathPattern {
        PathPattern::parse(s, "/home/u").unwrap_or_else(|_| PathPattern::root())
    }

    fn read<'p>(p: &'p PathPattern, dir: &[&str]) -> Prefix<'p> {
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
