//! Paths as z3 strings: the well-formedness of LANGUAGE.md §3, glob patterns
//! as regular expressions, and the witness alphabet.
//!
//! A path variable holds `/` or `/s1/…/sn`; every segment is a non-empty
//! word over the alphabet Σ (no `/`), other than `.` and `..`. A pattern is
//! the concatenation of one unit per segment: `/lit`, `/` + glob, `(/C+)*`
//! for `**` at the start or in the middle, `(/C+)+` for `**` last, where C
//! is one character of Σ. Patterns may be looser than well-formedness (a
//! `*` segment accepts `..`) because the variable is constrained to
//! well-formed paths: atom ∩ WF is exactly what `eval::matching` accepts.
//!
//! Σ is a small readable set plus every character of every literal in the
//! query, with one character that no literal uses (see `docs/verifier.md`
//! for why that loses no witness). z3 4.8.12 knows characters up to
//! U+2FFFF; rarer characters are renamed, one to one, to private-use code
//! points that no literal uses, and renamed back in the witness.

use std::collections::{BTreeMap, BTreeSet};

use corral_compiler::ir::{GlobPart, PathPattern, Segment};
use z3::ast::{Bool, Regexp, String as ZString};

use super::{re_concat, re_union};

/// The largest character z3 4.8.12 represents.
const Z3_MAX_CHAR: u32 = 0x2_FFFF;

/// The readable characters every witness may use.
const BASE: &str = "abcdefghijklmnopqrstuvwxyz0123456789._-";

/// Candidates for the character that stands for "any character no literal
/// uses", most readable first.
const SPARE: &str = "xyzqjkvwabcdefghilmnoprstu0123456789_-ABCDEFGHIJKLMNOPQRSTUVWXYZ~+=@%";

/// The witness alphabet of path segments, and the renaming of characters
/// that z3 cannot hold.
#[derive(Debug)]
pub(crate) struct PathAlphabet {
    /// Segment characters (never `/`), by their z3 code.
    codes: BTreeSet<u32>,
    /// Characters above [`Z3_MAX_CHAR`] and the code standing for each.
    renamed: BTreeMap<char, u32>,
    restored: BTreeMap<u32, char>,
    /// Set when some character could not be given a code (never in
    /// practice: it takes tens of thousands of rare characters).
    pub(crate) overflow: bool,
}

impl PathAlphabet {
    /// Σ for a query whose path literals use `literal_chars`.
    pub(crate) fn new(literal_chars: &BTreeSet<char>) -> Self {
        let literal: BTreeSet<char> =
            literal_chars.iter().copied().filter(|c| *c != '/' && *c != '\0').collect();
        let mut chars: BTreeSet<char> = BASE.chars().collect();
        chars.extend(literal.iter().copied());
        let spare = SPARE
            .chars()
            .find(|c| !literal.contains(c))
            .or_else(|| (0xE000..0xF900).filter_map(char::from_u32).find(|c| !literal.contains(c)));
        chars.extend(spare);
        let mut renamed = BTreeMap::new();
        let mut restored = BTreeMap::new();
        // Code points below the limit that no literal uses: private use
        // first, then the rarely used planes 2.
        let mut free = (0xE000u32..0xF900)
            .chain(0x2_0000..=Z3_MAX_CHAR)
            .filter(|c| char::from_u32(*c).is_some_and(|ch| !chars.contains(&ch)));
        let mut overflow = false;
        for &c in chars.iter().filter(|c| u32::from(**c) > Z3_MAX_CHAR) {
            match free.next() {
                Some(code) => {
                    renamed.insert(c, code);
                    restored.insert(code, c);
                }
                None => overflow = true,
            }
        }
        let codes = chars.iter().map(|c| renamed.get(c).copied().unwrap_or(u32::from(*c))).collect();
        PathAlphabet { codes, renamed, restored, overflow }
    }

    fn code(&self, c: char) -> u32 {
        self.renamed.get(&c).copied().unwrap_or(u32::from(c))
    }

    /// `text` as the body of a z3 string literal: printable ASCII as is,
    /// everything else (and `\`, which z3 does not escape) as `\u{…}`.
    pub(crate) fn escape(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            let code = self.code(c);
            if (0x20..0x7f).contains(&code) && c != '\\' {
                out.push(c);
            } else {
                out.push_str(&format!("\\u{{{code:x}}}"));
            }
        }
        out
    }

    /// The character a z3 code stands for.
    pub(crate) fn restore(&self, code: u32) -> Option<char> {
        self.restored.get(&code).copied().or_else(|| char::from_u32(code))
    }

    /// One segment character: a union of ranges over Σ.
    pub(crate) fn segment_char(&self) -> Regexp {
        self.class(|_| true)
    }

    fn class(&self, keep: impl Fn(u32) -> bool) -> Regexp {
        let mut parts = Vec::new();
        let codes: Vec<u32> = self.codes.iter().copied().filter(|c| keep(*c)).collect();
        let mut i = 0;
        while i < codes.len() {
            let mut j = i;
            while j + 1 < codes.len() && codes[j + 1] == codes[j] + 1 {
                j += 1;
            }
            let (lo, hi) = (codes[i], codes[j]);
            match (char::from_u32(lo), char::from_u32(hi)) {
                (Some(l), Some(h)) if j > i && l.is_ascii_alphanumeric() && h.is_ascii_alphanumeric() => {
                    parts.push(Regexp::range(&l, &h));
                }
                _ => {
                    for code in lo..=hi {
                        parts.push(Regexp::literal(&format!("\\u{{{code:x}}}")));
                    }
                }
            }
            i = j + 1;
        }
        re_union(parts)
    }

    /// The well-formed paths over Σ: `/`, or segments that are not `.`
    /// or `..`.
    pub(crate) fn well_formed(&self) -> Regexp {
        let c = self.segment_char();
        let not_dot = self.class(|code| code != u32::from('.'));
        let dot = Regexp::literal(".");
        let segment = re_union(vec![
            not_dot.clone(),
            re_concat(vec![not_dot.clone(), c.clone()]),
            re_concat(vec![dot, not_dot]),
            re_concat(vec![c.clone(), c.clone(), c.plus()]),
        ]);
        re_union(vec![Regexp::literal("/"), re_concat(vec![Regexp::literal("/"), segment]).plus()])
    }
}

/// Builds the membership of one path variable in patterns.
#[derive(Debug)]
pub(crate) struct PathEncoder {
    pub(crate) alphabet: PathAlphabet,
    segment_char: Regexp,
}

impl PathEncoder {
    pub(crate) fn new(alphabet: PathAlphabet) -> Self {
        let segment_char = alphabet.segment_char();
        PathEncoder { alphabet, segment_char }
    }

    /// `path` is a well-formed path over Σ.
    pub(crate) fn well_formed(&self, path: &ZString) -> Bool {
        path.regex_matches(&self.alphabet.well_formed())
    }

    /// `path` is the literal text `text`.
    pub(crate) fn is(&self, path: &ZString, text: &str) -> Bool {
        path.eq(ZString::from(self.alphabet.escape(text)))
    }

    /// `path` matches `pattern`. A pattern without wildcards is an equality,
    /// which z3 decides without automata.
    pub(crate) fn matches(&self, path: &ZString, pattern: &PathPattern) -> Bool {
        if pattern.is_literal() {
            return self.is(path, &pattern.to_string());
        }
        path.regex_matches(&self.regex(pattern))
    }

    /// The regular expression of a pattern, over Σ.
    pub(crate) fn regex(&self, pattern: &PathPattern) -> Regexp {
        if pattern.segments.is_empty() {
            return Regexp::literal("/");
        }
        let n = pattern.segments.len();
        let mut units = Vec::with_capacity(n);
        let mut literal = String::new();
        for (i, segment) in pattern.segments.iter().enumerate() {
            if let Segment::Literal(l) = segment {
                literal.push('/');
                literal.push_str(l);
                continue;
            }
            if !literal.is_empty() {
                units.push(Regexp::literal(&self.alphabet.escape(&std::mem::take(&mut literal))));
            }
            match segment {
                Segment::AnyDepth => {
                    let one = re_concat(vec![Regexp::literal("/"), self.segment_char.plus()]);
                    units.push(if i + 1 == n { one.plus() } else { one.star() });
                }
                Segment::Glob(parts) => {
                    units.push(Regexp::literal("/"));
                    units.push(self.glob(parts));
                }
                Segment::Literal(_) => {}
            }
        }
        if !literal.is_empty() {
            units.push(Regexp::literal(&self.alphabet.escape(&literal)));
        }
        re_concat(units)
    }

    fn glob(&self, parts: &[GlobPart]) -> Regexp {
        re_concat(
            parts
                .iter()
                .map(|part| match part {
                    GlobPart::Literal(l) => Regexp::literal(&self.alphabet.escape(l)),
                    GlobPart::Star => self.segment_char.star(),
                    GlobPart::Question => self.segment_char.clone(),
                    GlobPart::Alternatives(alts) => re_union(alts.iter().map(|alt| self.glob(alt)).collect()),
                })
                .collect(),
        )
    }
}
