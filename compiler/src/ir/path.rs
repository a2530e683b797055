//! Path patterns (LANGUAGE.md §3, "Paths"): parsing and validation of path
//! literals. Matching lives in `eval::matching`.

use std::fmt;

use serde::{Serialize, Serializer};

/// A validated path pattern: `/` (no segments) or `/s1/…/sn`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathPattern {
    pub segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A segment without wildcards, matched exactly.
    Literal(String),
    /// A segment with `*`, `?` or `{…}`.
    Glob(Vec<GlobPart>),
    /// `**`: zero or more segments in the middle or at the start, one or
    /// more as the last segment.
    AnyDepth,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GlobPart {
    Literal(String),
    /// `*`: any run of characters, possibly empty, within the segment.
    Star,
    /// `?`: exactly one character.
    Question,
    /// `{a,b}`: one of the alternatives; they hold no `/` and no braces.
    Alternatives(Vec<Vec<GlobPart>>),
}

/// Why a path literal was rejected; each has a message and a help text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathError {
    Empty,
    Relative,
    HomeUser,
    DoubleSlash,
    TrailingSlash,
    DotSegment(String),
    Nul,
    DoubleStarInSegment(String),
    UnbalancedBrace(String),
    NestedBrace(String),
}

impl PathError {
    pub fn message(&self) -> String {
        match self {
            PathError::Empty => "empty path".into(),
            PathError::Relative => "path is relative".into(),
            PathError::HomeUser => "`~user` paths are not supported".into(),
            PathError::DoubleSlash => "path contains `//`".into(),
            PathError::TrailingSlash => "path ends with `/`".into(),
            PathError::DotSegment(s) => format!("path contains a `{s}` segment"),
            PathError::Nul => "path contains a NUL character".into(),
            PathError::DoubleStarInSegment(s) => {
                format!("`**` must be a whole segment, found `{s}`")
            }
            PathError::UnbalancedBrace(s) => format!("unbalanced brace in segment `{s}`"),
            PathError::NestedBrace(s) => format!("nested braces in segment `{s}`"),
        }
    }

    pub fn help(&self) -> String {
        match self {
            PathError::Empty | PathError::Relative => {
                "paths are absolute: start with `/`, or with `~/` for the home directory".into()
            }
            PathError::HomeUser => "write the absolute path of that user's home".into(),
            PathError::DoubleSlash => "remove the empty segment: `/a/b`, not `/a//b`".into(),
            PathError::TrailingSlash => {
                "remove the trailing `/`; to match what is inside a directory use `/dir/**` or `under \"/dir\"`".into()
            }
            PathError::DotSegment(_) => {
                "paths are normalised: write the path without `.` and `..` segments".into()
            }
            PathError::Nul => "file names cannot contain NUL".into(),
            PathError::DoubleStarInSegment(_) => {
                "use `*` within a segment, or `**` alone between slashes: `/a/**/b`".into()
            }
            PathError::UnbalancedBrace(_) => {
                "alternatives are written `{a,b}` within one segment".into()
            }
            PathError::NestedBrace(_) => "alternatives cannot be nested; list them flat".into(),
        }
    }
}

impl PathPattern {
    /// The root `/`.
    pub fn root() -> Self {
        PathPattern { segments: Vec::new() }
    }

    /// Parses a path literal after expanding `~` to `home` (which must be an
    /// absolute path).
    pub fn parse(literal: &str, home: &str) -> Result<Self, PathError> {
        let expanded;
        let text = if literal == "~" {
            home
        } else if let Some(rest) = literal.strip_prefix("~/") {
            expanded = format!("{}/{rest}", home.trim_end_matches('/'));
            expanded.as_str()
        } else if literal.starts_with('~') {
            return Err(PathError::HomeUser);
        } else {
            literal
        };
        Self::parse_absolute(text)
    }

    fn parse_absolute(text: &str) -> Result<Self, PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        if text.contains('\0') {
            return Err(PathError::Nul);
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(PathError::Relative);
        };
        if rest.is_empty() {
            return Ok(PathPattern::root());
        }
        if rest.ends_with('/') {
            return Err(PathError::TrailingSlash);
        }
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            segments.push(parse_segment(raw)?);
        }
        Ok(PathPattern { segments })
    }

    /// True when the pattern has no wildcard: it names one path.
    pub fn is_literal(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The leading literal segments, before the first wildcard.
    pub fn literal_prefix(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map_while(|s| match s {
            Segment::Literal(l) => Some(l.as_str()),
            _ => None,
        })
    }
}

fn parse_segment(raw: &str) -> Result<Segment, PathError> {
    match raw {
        "" => return Err(PathError::DoubleSlash),
        "." | ".." => return Err(PathError::DotSegment(raw.to_owned())),
        "**" => return Ok(Segment::AnyDepth),
        _ => {}
    }
    if raw.contains("**") {
        return Err(PathError::DoubleStarInSegment(raw.to_owned()));
    }
    if !raw.contains(['*', '?', '{', '}']) {
        return Ok(Segment::Literal(raw.to_owned()));
    }
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => {
                flush(&mut literal, &mut parts);
                parts.push(if c == '*' { GlobPart::Star } else { GlobPart::Question });
            }
            '{' => {
                flush(&mut literal, &mut parts);
                let mut alternatives = Vec::new();
                let mut current = Vec::new();
                let mut alt_lit = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '}' => {
                            closed = true;
                            break;
                        }
                        '{' => return Err(PathError::NestedBrace(raw.to_owned())),
                        ',' => {
                            flush(&mut alt_lit, &mut current);
                            alternatives.push(std::mem::take(&mut current));
                        }
                        '*' | '?' => {
                            flush(&mut alt_lit, &mut current);
                            current.push(if c == '*' { GlobPart::Star } else { GlobPart::Question });
                        }
                        other => alt_lit.push(other),
                    }
                }
                if !closed {
                    return Err(PathError::UnbalancedBrace(raw.to_owned()));
                }
                flush(&mut alt_lit, &mut current);
                alternatives.push(current);
                parts.push(GlobPart::Alternatives(alternatives));
            }
            '}' => return Err(PathError::UnbalancedBrace(raw.to_owned())),
            other => literal.push(other),
        }
    }
    flush(&mut literal, &mut parts);
    Ok(Segment::Glob(parts))
}

fn flush(literal: &mut String, parts: &mut Vec<GlobPart>) {
    if !literal.is_empty() {
        parts.push(GlobPart::Literal(std::mem::take(literal)));
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for seg in &self.segments {
            f.write_str("/")?;
            match seg {
                Segment::Literal(l) => f.write_str(l)?,
                Segment::AnyDepth => f.write_str("**")?,
                Segment::Glob(parts) => write_parts(f, parts)?,
            }
        }
        Ok(())
    }
}

fn write_parts(f: &mut fmt::Formatter<'_>, parts: &[GlobPart]) -> fmt::Result {
    for part in parts {
        match part {
            GlobPart::Literal(l) => f.write_str(l)?,
            GlobPart::Star => f.write_str("*")?,
            GlobPart::Question => f.write_str("?")?,
            GlobPart::Alternatives(alts) => {
                f.write_str("{")?;
                for (i, alt) in alts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_parts(f, alt)?;
                }
                f.write_str("}")?;
            }
        }
    }
    Ok(())
}

impl Serialize for PathPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        match PathPattern::parse(s, "/home/u") {
            Ok(p) => p.to_string(),
            Err(e) => format!("error: {}", e.message()),
        }
    }

    #[test]
    fn round_trips_and_expands_home() {
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("~"), "/home/u");
        assert_eq!(ok("~/.ssh/*"), "/home/u/.ssh/*");
        assert_eq!(ok("/a/**/b{,.bak}"), "/a/**/b{,.bak}");
        assert_eq!(ok("/a/?x*"), "/a/?x*");
    }

    #[test]
    fn rejects_malformed_literals() {
        assert_eq!(ok("a/b"), "error: path is relative");
        assert_eq!(ok("/a//b"), "error: path contains `//`");
        assert_eq!(ok("/a/"), "error: path ends with `/`");
        assert_eq!(ok("/a/../b"), "error: path contains a `..` segment");
        assert_eq!(ok("/a/./b"), "error: path contains a `.` segment");
        assert_eq!(ok("/a\0"), "error: path contains a NUL character");
        assert_eq!(ok("/a**"), "error: `**` must be a whole segment, found `a**`");
        assert_eq!(ok("/{a"), "error: unbalanced brace in segment `{a`");
        assert_eq!(ok("/{a,{b}}"), "error: nested braces in segment `{a,{b}}`");
        assert_eq!(ok("~bob/x"), "error: `~user` paths are not supported");
    }
}
