//! The three mismatches the random test first found, now reported by the
//! lowering: an access the policy permits and the kernel denies must be
//! named in a C3002 (narrower) diagnostic, and the lowering's model must
//! deny it too.

use std::path::{Path, PathBuf};

use corral_backend_landlock::{LATEST_ABI, lower_to_landlock};
use corral_compiler::diagnostics::Code;
use corral_compiler::eval::{Access, is_permitted};

use super::generate::{Attempt, Entries, prelude};
use super::{compile, helper, landlock, run_child, scratch, text};

/// Runs `rules` over a fresh tree holding `d/f.txt`, the script `d/s.sh`
/// and the empty directory `d/empty` (`@` is the tree), and one access the
/// policy permits and the kernel cannot: it must be denied, by the model
/// too, and reported.
fn reported_loss(rules: &str, line: &str, access: &str) {
    if !landlock() {
        return;
    }
    let scratch = scratch("run-loss-");
    let root = scratch.path().canonicalize().unwrap().display().to_string();
    let mut e = Entries::default();
    e.file(format!("{root}/d/f.txt"));
    e.script(format!("{root}/d/s.sh"));
    e.empty_dir(format!("{root}/d/empty"));
    let helper = helper();
    let file = PathBuf::from(format!("{root}/p.corral"));
    let source = format!("policy p {{\n{}{}}}\n", prelude(&helper), rules.replace('@', &root));
    std::fs::write(&file, &source).unwrap();
    let compilation = compile(&file, &root);
    let policy = &compilation.program.policies[0];
    let lowering = lower_to_landlock(policy, Path::new("/"), LATEST_ABI);
    let attempt = Attempt { line: line.replace('@', &root), access: access.replace('@', &root) };
    let args = ["--home".to_owned(), root.clone()];
    let (outcomes, out) = run_child(&file, &args, std::slice::from_ref(&attempt), &[helper]);
    let outcomes = outcomes.unwrap_or_else(|| panic!("the child did not start\n{}", text(&out)));
    let access = Access::parse(&attempt.access, &root).unwrap();
    let context = format!("{source}\n{}\n{}", lowering.summary, text(&out));
    assert!(is_permitted(policy, &access), "{context}");
    assert!(!outcomes[0], "`{}` was allowed\n{context}", attempt.access);
    assert!(!is_permitted(&lowering.model, &access), "the model permits `{}`\n{context}", attempt.access);
    assert!(!lowering.exact, "{context}");
    assert!(
        lowering
            .diagnostics
            .iter()
            .any(|d| d.code == Code::LandlockNarrower && d.counterexamples.contains(&attempt.access)),
        "no C3002 names `{}`\n{context}",
        attempt.access
    );
}

/// Landlock's `execve` opens the file for reading: `exec` alone is lost.
#[test]
fn exec_without_read_is_a_reported_loss() {
    reported_loss("  allow exec \"@/d/s.sh\"\n", "exec @/d/s.sh", "exec @/d/s.sh");
}

/// Making one name needs `make_*` on its whole directory.
#[test]
fn creating_a_missing_literal_path_is_a_reported_loss() {
    reported_loss("  allow create \"@/d/new.txt\"\n", "create @/d/new.txt", "create @/d/new.txt");
}

/// Removing the directory an `under` names needs `remove_dir` on its parent.
#[test]
fn deleting_the_directory_under_names_is_a_reported_loss() {
    reported_loss("  allow delete under \"@/d/empty\"\n", "rmdir @/d/empty", "delete @/d/empty");
}
