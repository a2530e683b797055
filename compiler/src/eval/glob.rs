//! A glob segment (`*`, `?`, `{a,b}`) as an automaton over characters: a
//! Thompson NFA whose state sets are bit sets. It is the one implementation
//! of segment matching, used by the evaluator and by the verifier's path
//! search, so the two cannot drift apart.

use crate::ir::GlobPart;

/// An instruction of the automaton.
#[derive(Clone, Debug)]
enum Inst {
    /// Consume this character.
    Char(char),
    /// `?`: consume any one character.
    AnyChar,
    /// `*`: consume any character and stay, or move on without consuming.
    Star,
    /// `{…}`: continue at any of these instructions.
    Split(Vec<usize>),
    /// The end of one alternative: continue after the braces.
    Jump(usize),
    Accept,
}

/// A set of automaton states, one bit each.
pub type States = Vec<u64>;

/// One compiled glob segment.
#[derive(Clone, Debug)]
pub struct Glob {
    prog: Vec<Inst>,
}

fn compile(parts: &[GlobPart], prog: &mut Vec<Inst>) {
    for part in parts {
        match part {
            GlobPart::Literal(l) => prog.extend(l.chars().map(Inst::Char)),
            GlobPart::Star => prog.push(Inst::Star),
            GlobPart::Question => prog.push(Inst::AnyChar),
            GlobPart::Alternatives(alts) => {
                let split = prog.len();
                prog.push(Inst::Split(Vec::new()));
                let mut starts = Vec::with_capacity(alts.len());
                let mut jumps = Vec::with_capacity(alts.len());
                for alt in alts {
                    starts.push(prog.len());
                    compile(alt, prog);
                    jumps.push(prog.len());
                    prog.push(Inst::Jump(0));
                }
                let end = prog.len();
                for j in jumps {
                    prog[j] = Inst::Jump(end);
                }
                prog[split] = Inst::Split(starts);
            }
        }
    }
}

impl Glob {
    pub fn new(parts: &[GlobPart]) -> Self {
        let mut prog = Vec::new();
        compile(parts, &mut prog);
        prog.push(Inst::Accept);
        Glob { prog }
    }

    fn empty(&self) -> States {
        vec![0; self.prog.len().div_ceil(64)]
    }

    /// Adds `start` and everything reachable from it without consuming a
    /// character. An explicit stack keeps long brace chains off the call
    /// stack.
    fn add(&self, set: &mut States, start: usize, stack: &mut Vec<usize>) {
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (word, bit) = (i / 64, 1u64 << (i % 64));
            if set[word] & bit != 0 {
                continue;
            }
            set[word] |= bit;
            match &self.prog[i] {
                Inst::Split(targets) => stack.extend(targets.iter().rev()),
                Inst::Jump(t) => stack.push(*t),
                Inst::Star => stack.push(i + 1),
                Inst::Char(_) | Inst::AnyChar | Inst::Accept => {}
            }
        }
    }

    /// The states before the first character.
    pub fn start(&self) -> States {
        let mut set = self.empty();
        self.add(&mut set, 0, &mut Vec::new());
        set
    }

    /// The states after reading `ch` in `set`.
    pub fn step(&self, set: &States, ch: char) -> States {
        let mut next = self.empty();
        self.step_into(set, ch, &mut next, &mut Vec::new());
        next
    }

    /// [`Glob::step`] into `next` (cleared first), with a scratch stack.
    fn step_into(&self, set: &States, ch: char, next: &mut States, stack: &mut Vec<usize>) {
        next.iter_mut().for_each(|w| *w = 0);
        for (i, inst) in self.prog.iter().enumerate() {
            if set[i / 64] & (1 << (i % 64)) == 0 {
                continue;
            }
            let target = match inst {
                Inst::Char(c) if *c == ch => i + 1,
                Inst::AnyChar => i + 1,
                Inst::Star => i,
                _ => continue,
            };
            self.add(next, target, stack);
        }
    }

    /// Does `set` hold the accepting state?
    pub fn accepts(&self, set: &States) -> bool {
        let i = self.prog.len() - 1;
        set[i / 64] & (1 << (i % 64)) != 0
    }

    /// The characters the glob compares with.
    pub fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.prog.iter().filter_map(|inst| match inst {
            Inst::Char(c) => Some(*c),
            _ => None,
        })
    }

    /// Does the glob match the whole of `text`? O(len(text) × len(glob));
    /// `?` is one `char`, not one byte. The state sets are reused from one
    /// character to the next.
    pub fn matches(&self, text: &str) -> bool {
        let mut cur = self.start();
        let mut next = self.empty();
        let mut stack = Vec::new();
        for ch in text.chars() {
            self.step_into(&cur, ch, &mut next, &mut stack);
            std::mem::swap(&mut cur, &mut next);
            if cur.iter().all(|w| *w == 0) {
                return false;
            }
        }
        self.accepts(&cur)
    }
}

/// [`Glob::matches`] for globs without braces, with nothing compiled or
/// allocated: the pieces between stars have a fixed length in characters,
/// so the first must match at the start, the last at the end, and each
/// other at its leftmost place (the standard wildcard argument). Braces
/// fall back to the automaton. Tested against it in `tests/eval/glob.rs`.
pub fn matches_parts(parts: &[GlobPart], text: &str) -> bool {
    if parts.iter().any(|p| matches!(p, GlobPart::Alternatives(_))) {
        return Glob::new(parts).matches(text);
    }
    let is_star = |p: &GlobPart| matches!(p, GlobPart::Star);
    let mut pieces = parts.split(is_star);
    let Some(first) = pieces.next() else { return text.is_empty() };
    let Some(mut at) = piece_at(first, text, 0) else { return false };
    let Some(last) = pieces.next_back() else { return at == text.len() };
    for piece in pieces {
        let mut found = None;
        let mut start = at;
        loop {
            if let Some(end) = piece_at(piece, text, start) {
                found = Some(end);
                break;
            }
            match text[start..].chars().next() {
                Some(c) => start += c.len_utf8(),
                None => break,
            }
        }
        let Some(end) = found else { return false };
        at = end;
    }
    // The last piece ends the text: it starts its length in characters
    // before the end.
    let len: usize = last
        .iter()
        .map(|p| match p {
            GlobPart::Literal(l) => l.chars().count(),
            _ => 1,
        })
        .sum();
    let start = if len == 0 {
        text.len()
    } else {
        match text.char_indices().rev().nth(len - 1) {
            Some((i, _)) => i,
            None => return false,
        }
    };
    start >= at && piece_at(last, text, start) == Some(text.len())
}

/// The brace-free globs a glob with braces stands for (one of them must
/// match), or `None` when there would be more than `limit`. Alternatives
/// hold no braces (LANGUAGE.md §3), so one level of expansion is enough.
pub fn expand_braces(parts: &[GlobPart], limit: usize) -> Option<Vec<Vec<GlobPart>>> {
    let mut out: Vec<Vec<GlobPart>> = vec![Vec::new()];
    for part in parts {
        match part {
            GlobPart::Alternatives(alts) => {
                if out.len().saturating_mul(alts.len()) > limit {
                    return None;
                }
                out = out
                    .iter()
                    .flat_map(|head| alts.iter().map(move |alt| [head.as_slice(), alt.as_slice()].concat()))
                    .collect();
            }
            other => out.iter_mut().for_each(|head| head.push(other.clone())),
        }
    }
    Some(out)
}

/// Matches the literals and `?` of `piece` at byte `at` of `text`; the
/// byte where the match ends.
fn piece_at(piece: &[GlobPart], text: &str, at: usize) -> Option<usize> {
    let mut rest = text.get(at..)?;
    for part in piece {
        match part {
            GlobPart::Literal(l) => rest = rest.strip_prefix(l.as_str())?,
            GlobPart::Question => {
                let c = rest.chars().next()?;
                rest = &rest[c.len_utf8()..];
            }
            GlobPart::Star | GlobPart::Alternatives(_) => return None,
        }
    }
    Some(text.len() - rest.len())
}
