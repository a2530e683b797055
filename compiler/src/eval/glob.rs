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
        let mut stack = Vec::new();
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
            self.add(&mut next, target, &mut stack);
        }
        next
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
    /// `?` is one `char`, not one byte.
    pub fn matches(&self, text: &str) -> bool {
        let mut cur = self.start();
        for ch in text.chars() {
            cur = self.step(&cur, ch);
            if cur.iter().all(|w| *w == 0) {
                return false;
            }
        }
        self.accepts(&cur)
    }
}
