//! Translation validation: every access the emitted rules grant on the
//! existing entries of the tree is permitted by the policy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::{Policy, Right};

use crate::access::{access_rights, fs_accesses};
use crate::files::{MAX_ENTRIES, relevant};

#[derive(Debug, Default)]
pub struct Validation {
    /// (right, path) the rules grant and the policy denies.
    pub violations: BTreeSet<(&'static str, String)>,
    /// The tree was too large to enumerate completely.
    pub incomplete: bool,
}

impl Validation {
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && !self.incomplete
    }
}

struct Check<'a, 'p> {
    eval: &'a Evaluator<'p>,
    out: Validation,
    visited: usize,
}

impl Check<'_, '_> {
    /// Checks `rights` on `path` and, for a directory, on everything below.
    /// `below` is false for the rule's own path: making or removing it is
    /// decided by its parent's rule.
    fn entry(&mut self, fs: &Path, path: &str, rights: &BTreeSet<Right>, below: bool) {
        self.visited += 1;
        if self.visited > MAX_ENTRIES {
            self.out.incomplete = true;
            return;
        }
        let Ok(meta) = std::fs::symlink_metadata(fs) else { return };
        let is_dir = meta.is_dir();
        for &right in rights {
            let own = matches!(right, Right::Create | Right::Delete) && !below;
            if own || !relevant(right, is_dir) {
                continue;
            }
            if !self.eval.is_permitted(&Access::File { right, path: path.to_owned() }) {
                self.out.violations.insert((right.keyword(), path.to_owned()));
            }
        }
        if !is_dir {
            return;
        }
        let Ok(entries) = std::fs::read_dir(fs) else { return };
        let mut names: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
        names.sort();
        for name in names {
            let child = if path == "/" { format!("/{name}") } else { format!("{path}/{name}") };
            self.entry(&fs.join(&name), &child, rights, true);
        }
    }
}

/// Reads the rights back from the emitted accesses and checks them on
/// every existing entry beneath each granted path.
pub fn validate(
    policy: &Policy,
    eval: &Evaluator<'_>,
    root: &Path,
    grants: &BTreeMap<String, (bool, BTreeSet<Right>)>,
    abi: u8,
) -> Validation {
    debug_assert!(policy.files.len() == eval.policy().files.len());
    let mut check = Check { eval, out: Validation::default(), visited: 0 };
    for (path, (is_dir, rights)) in grants {
        let emitted: BTreeSet<Right> =
            fs_accesses(rights, *is_dir, abi).into_iter().flat_map(access_rights).collect();
        let fs = root.join(path.trim_start_matches('/'));
        check.entry(&fs, path, &emitted, false);
    }
    check.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_compiler::{Options, compile_source};

    /// A rule on `/w` that ignores the deny on `/w/secret` is caught.
    #[test]
    fn a_grant_over_a_denied_entry_is_a_violation() {
        let dir = std::env::temp_dir().join(format!("corral-validate-{}", std::process::id()));
        let made = std::fs::create_dir_all(dir.join("w/secret"))
            .and_then(|()| std::fs::write(dir.join("w/secret/key"), "k"));
        assert!(made.is_ok());
        let options = Options { home: "/home/u".to_owned(), lib_dirs: Vec::new(), params: Vec::new() };
        let source = r#"policy p { allow read under "/w"  deny read "/w/secret/key" }"#;
        let compilation = compile_source("t.corral", source, None, &options);
        let Some(policy) = compilation.program.policies.first() else { unreachable!("the policy compiles") };
        let eval = Evaluator::new(policy);
        let wrong: BTreeMap<String, (bool, BTreeSet<Right>)> =
            [("/w".to_owned(), (true, BTreeSet::from([Right::Read])))].into();
        let v = validate(policy, &eval, &dir, &wrong, 7);
        let right: BTreeMap<String, (bool, BTreeSet<Right>)> =
            [("/w/secret".to_owned(), (true, BTreeSet::from([Right::List])))].into();
        let ok = validate(policy, &eval, &dir, &right, 7);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(v.violations.into_iter().collect::<Vec<_>>(), [("read", "/w/secret/key".to_owned())]);
        assert!(!ok.ok(), "listing is not allowed by the policy");
    }
}
