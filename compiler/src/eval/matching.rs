//! Membership of concrete values in IR sets, exactly as LANGUAGE.md §3
//! "Exact matching rules" defines it. The verifier's SMT encoding and every
//! backend must agree with this module; it is the executable reference.
//!
//! Matching never backtracks exponentially: segments are matched with a
//! dynamic program over (pattern segment, path segment), and globs inside a
//! segment with a Thompson NFA simulated over the segment's characters.

use std::fmt;
use std::net::IpAddr;

pub use crate::ir::host::is_numeric_name;
use crate::ir::host::{HostError, addr_bits, bits_to_ip};
use crate::ir::{EndpointAtom, GlobPart, HostAtom, PathPattern, PortRange, Segment, Set};

// ---------------------------------------------------------------------------
// Paths

/// The segments of a well-formed absolute path (`/` has none), or `None`
/// when the path is not well-formed: relative, with an empty, `.` or `..`
/// segment (which also rejects `//` and a trailing `/`), or with a NUL.
/// Malformed paths match no pattern, so a caller cannot slip `..` past a
/// rule.
pub fn path_segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let well_formed = segments.iter().all(|s| !s.is_empty() && *s != "." && *s != ".." && !s.contains('\0'));
    well_formed.then_some(segments)
}

impl PathPattern {
    /// Does the pattern match `path`? A path that is not well-formed (see
    /// [`path_segments`]) matches nothing.
    pub fn matches(&self, path: &str) -> bool {
        path_segments(path).is_some_and(|segs| self.matches_segments(&segs))
    }

    /// Matching on an already split path, so that a set of many patterns
    /// splits the path once.
    pub fn matches_segments(&self, path: &[&str]) -> bool {
        let pat = &self.segments;
        if !pat.iter().any(|s| matches!(s, Segment::AnyDepth)) {
            // One pattern segment per path segment: no table needed.
            return pat.len() == path.len() && pat.iter().zip(path).all(|(p, s)| segment_matches(p, s));
        }
        // next[j]: does pat[i+1..] match path[j..]? Filled from the end.
        // Paths of up to 63 segments use two arrays on the stack.
        let (n, m) = (pat.len(), path.len());
        let (mut small_next, mut small_cur) = ([false; 64], [false; 64]);
        let (mut big_next, mut big_cur);
        let (mut next, mut cur): (&mut [bool], &mut [bool]) = if m < 64 {
            (&mut small_next[..=m], &mut small_cur[..=m])
        } else {
            big_next = vec![false; m + 1];
            big_cur = vec![false; m + 1];
            (&mut big_next[..], &mut big_cur[..])
        };
        next[m] = true;
        for i in (0..n).rev() {
            match &pat[i] {
                // Last segment: one or more segments, never the directory itself.
                Segment::AnyDepth if i + 1 == n => {
                    for (j, c) in cur.iter_mut().enumerate() {
                        *c = j < m;
                    }
                }
                // Start or middle: zero or more segments.
                Segment::AnyDepth => {
                    cur[m] = next[m];
                    for j in (0..m).rev() {
                        cur[j] = next[j] || cur[j + 1];
                    }
                }
                seg => {
                    cur[m] = false;
                    for j in 0..m {
                        cur[j] = next[j + 1] && segment_matches(seg, path[j]);
                    }
                }
            }
            std::mem::swap(&mut cur, &mut next);
        }
        next[0]
    }
}

/// One pattern segment against one path segment. `**` is handled by the
/// segment table and never reaches here; were it to, it matches one segment.
fn segment_matches(seg: &Segment, text: &str) -> bool {
    match seg {
        Segment::Literal(l) => l == text,
        Segment::Glob(parts) => glob_matches(parts, text),
        Segment::AnyDepth => true,
    }
}

/// Matches a glob segment; see [`super::glob::Glob`].
fn glob_matches(parts: &[GlobPart], text: &str) -> bool {
    super::glob::matches_parts(parts, text)
}

// ---------------------------------------------------------------------------
// Sets

impl<A> Set<A> {
    /// Membership given a membership test for atoms. An empty intersection
    /// (which the IR constructors never build) is treated as empty, never as
    /// the universe, so a malformed IR cannot grant everything.
    pub fn contains_by(&self, member: &mut impl FnMut(&A) -> bool) -> bool {
        match self {
            Set::Empty => false,
            Set::Atom(a) => member(a),
            Set::Union(v) => v.iter().any(|s| s.contains_by(member)),
            Set::Inter(v) => !v.is_empty() && v.iter().all(|s| s.contains_by(member)),
            Set::Diff(a, b) => a.contains_by(member) && !b.contains_by(member),
        }
    }
}

impl Set<PathPattern> {
    /// Is `path` in the set? Malformed paths are in no set.
    pub fn contains_path(&self, path: &str) -> bool {
        path_segments(path).is_some_and(|segs| self.contains_segments(&segs))
    }

    pub fn contains_segments(&self, path: &[&str]) -> bool {
        self.contains_by(&mut |p: &PathPattern| p.matches_segments(path))
    }
}

impl Set<HostAtom> {
    pub fn contains_host(&self, host: &Host) -> bool {
        self.contains_by(&mut |a: &HostAtom| a.matches(host))
    }
}

impl Set<PortRange> {
    pub fn contains_port(&self, port: u16) -> bool {
        self.contains_by(&mut |r: &PortRange| r.contains(port))
    }
}

impl Set<EndpointAtom> {
    pub fn contains_endpoint(&self, host: &Host, port: u16) -> bool {
        self.contains_by(&mut |e: &EndpointAtom| e.matches(host, port))
    }
}

impl EndpointAtom {
    /// (host, port) is in the product of the atom's host and port sets.
    pub fn matches(&self, host: &Host, port: u16) -> bool {
        self.ports.contains_port(port) && self.hosts.contains_host(host)
    }
}

// ---------------------------------------------------------------------------
// Hosts

/// One concrete host: the peer of a connection. Names are lower case
/// without a trailing dot; addresses use the 128-bit form of
/// [`addr_bits`], where an IPv4 address and its IPv4-mapped IPv6 form are
/// the same value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    Name(String),
    Addr(u128),
}

impl Host {
    /// Parses a name, an IPv4 address, or an IPv6 address with or without
    /// brackets. Names are lower-cased and lose one trailing dot, so that
    /// `GitHub.com.` is `github.com`, as §3 compares them.
    pub fn parse(text: &str) -> Result<Host, HostError> {
        if text.is_empty() {
            return Err(HostError::Empty);
        }
        let unbracketed = text.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
        if let Ok(ip) = unbracketed.unwrap_or(text).parse::<IpAddr>() {
            return Ok(Host::ip(ip));
        }
        if unbracketed.is_some() || text.contains('/') {
            return Err(HostError::BadName(text.to_owned()));
        }
        if text.contains(':') {
            return Err(HostError::Port(text.to_owned()));
        }
        if !text.is_ascii() {
            return Err(HostError::NonAscii(text.to_owned()));
        }
        let lower = text.to_ascii_lowercase();
        let name = lower.strip_suffix('.').unwrap_or(&lower);
        // `10.0.0.1.` is the address once the root dot is gone.
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(Host::ip(ip));
        }
        if name.contains('*') {
            return Err(HostError::Wildcard(text.to_owned()));
        }
        // The same label rules as a host literal in a policy.
        crate::ir::host::check_name(name, text)?;
        Ok(Host::Name(name.to_owned()))
    }

    pub fn ip(ip: IpAddr) -> Host {
        Host::Addr(addr_bits(ip))
    }

    /// The address as shown: dotted IPv4 for the IPv4-mapped range.
    pub fn to_ip(&self) -> Option<IpAddr> {
        match self {
            Host::Addr(bits) => Some(bits_to_ip(*bits)),
            Host::Name(_) => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Addr(bits) => write!(f, "{}", bits_to_ip(*bits)),
        }
    }
}

/// Is `name` strictly below `suffix` (`a.b.example.com` under
/// `example.com`)? Compared without regard to ASCII case.
pub fn is_subdomain(name: &str, suffix: &str) -> bool {
    // `cut` is the dot before the suffix; the apex itself (cut = None or a
    // leading dot) is not below it.
    let Some(cut) = name.len().checked_sub(suffix.len() + 1) else {
        return false;
    };
    cut > 0
        && name.as_bytes().get(cut) == Some(&b'.')
        && name.get(cut + 1..).is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

impl HostAtom {
    /// Does the atom contain `host`? A name never matches a CIDR and an
    /// address never matches a name pattern.
    pub fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (HostAtom::Name(n), Host::Name(h)) => n.eq_ignore_ascii_case(h),
            (HostAtom::Subdomains(s), Host::Name(h)) => is_subdomain(h, s),
            (HostAtom::Cidr(c), Host::Addr(a)) => c.contains(*a),
            (HostAtom::AnyName, Host::Name(_)) | (HostAtom::AnyAddr, Host::Addr(_)) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn pat(s: &str) -> PathPattern {
        PathPattern::parse(s, "/home/u").unwrap()
    }

    #[test]
    fn glob_nfa_handles_stars_questions_and_alternatives() {
        assert!(pat("/a*b*c").matches("/abc"));
        assert!(pat("/a*b*c").matches("/axxbyyc"));
        assert!(!pat("/a*b*c").matches("/axxbyy"));
        assert!(pat("/{x*,y?}z").matches("/xqqz"));
        assert!(pat("/{x*,y?}z").matches("/yqz"));
        assert!(!pat("/{x*,y?}z").matches("/yqqz"));
        assert!(pat("/{,.bak}x").matches("/x"));
        assert!(pat("/?").matches("/é"));
        assert!(!pat("/??").matches("/é"));
    }

    #[test]
    fn no_exponential_blowup() {
        // Classic backtracking killers: many stars against a near miss, and
        // many `**` against a deep path.
        let star = format!("/{}b", "a*".repeat(40));
        assert!(!pat(&star).matches(&format!("/{}", "a".repeat(200))));
        let deep = format!("{}/z", "/**/a".repeat(30));
        let path = format!("{}/y", "/a".repeat(200));
        assert!(!pat(&deep).matches(&path));
    }

    #[test]
    fn malformed_paths_match_nothing() {
        for p in ["", "a", "/a/", "//", "/a//b", "/a/./b", "/a/..", "/a\0"] {
            assert!(!pat("/**").matches(p), "{p:?}");
            assert!(!pat("/*/*").matches(p), "{p:?}");
        }
        assert!(pat("/").matches("/"));
    }

    #[test]
    fn host_parse_normalises() {
        assert_eq!(Host::parse("GitHub.COM.").unwrap(), Host::Name("github.com".into()));
        assert_eq!(Host::parse("::ffff:10.0.0.1").unwrap(), Host::parse("10.0.0.1").unwrap());
        assert_eq!(Host::parse("[::1]").unwrap(), Host::parse("::1").unwrap());
        assert!(Host::parse("*.x.com").is_err());
        assert!(Host::parse("10.0.0.0/8").is_err());
        assert!(Host::parse("x.com:80").is_err());
        assert!(Host::parse("[x.com]").is_err());
        assert!(Host::parse("").is_err());
        assert_eq!(Host::parse("::ffff:10.0.0.1").unwrap().to_string(), "10.0.0.1");
        assert_eq!(Host::parse("10.0.0.1.").unwrap(), Host::parse("10.0.0.1").unwrap());
    }

    #[test]
    fn numeric_short_forms_are_not_names() {
        for text in ["127.1", "2130706433", "0x7f.1", "0x7f000001", "1.2.3.4.5", "a.123"] {
            assert!(Host::parse(text).is_err(), "{text}");
        }
        for text in ["123.com", "0xdead.beef.com", "x0x1", "a.b-1"] {
            assert!(Host::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn subdomain_test_is_label_aligned() {
        assert!(is_subdomain("a.example.com", "example.com"));
        assert!(!is_subdomain("example.com", "example.com"));
        assert!(!is_subdomain("badexample.com", "example.com"));
        assert!(!is_subdomain("é.example.com", "xample.com"));
    }

    #[test]
    fn every_builtin_is_defined() {
        for name in crate::ir::host::BUILTIN_SETS {
            assert!(crate::ir::host::builtin_set(name).is_some(), "{name}");
        }
        assert!(crate::ir::host::builtin_set("intranet").is_none());
    }
}
