//! The workspace's integration suite lives in `tests/tests/`; this library
//! holds what several crates' tests share (a dev-dependency of theirs).

use std::path::{Path, PathBuf};

use corral_compiler::diagnostics::Diagnostic;

/// Every `examples/*.corral` of the repository, sorted (at least the four
/// bundled examples).
pub fn example_files() -> Vec<PathBuf> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "corral"));
    files.sort();
    assert!(files.len() >= 4, "the bundled examples under {}: {files:?}", examples.display());
    files
}

/// Diagnostics as snapshot text: `CODE Severity: message`, then each
/// counterexample and note indented, one per line.
pub fn diagnostics_text(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&format!("{} {:?}: {}\n", d.code, d.severity, d.message));
        for c in &d.counterexamples {
            out.push_str(&format!("    {c}\n"));
        }
        for n in &d.notes {
            out.push_str(&format!("    note: {n}\n"));
        }
    }
    out
}

/// A tiny seeded generator (xorshift64*): the same seed gives the same
/// policies and accesses on every machine, which is what makes a reported
/// failing seed reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn a_seed_gives_one_sequence_and_picks_stay_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first[0], Rng::new(8).next_u64(), "another seed, another sequence");
        let items = ["x", "y", "z"];
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(*a.pick(&items));
            assert!(a.below(3) < 3);
        }
        assert_eq!(seen.len(), 3, "every item is picked in 200 draws");
        assert_eq!(a.below(0), 0);
    }
}
