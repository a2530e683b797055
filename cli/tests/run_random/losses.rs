//! The mismatches the random test found, each reported by the lowering
//! since and kept as a regression test: an access the policy permits and
//! the kernel denies must be named in a C3002 (narrower) diagnostic — by
//! the walk itself, so that `corral run` without `--validate` lists it in
//! its audit line — and the lowering's model must deny it too.

use std::path::{Path, PathBuf};
use std::process::Output;

use corral_backend_landlock::{LATEST_ABI, Lowering, lower_to_landlock};
use corral_compiler::diagnostics::Code;
use corral_compiler::eval::{Access, is_permitted};

use super::generate::{Attempt, Entries, prelude};
use super::{compile, helper, landlock, run_child, scratch, text};

/// One access under one policy, and what each side said.
struct Case {
    access: String,
    /// The policy permits the access.
    permitted: bool,
    /// The kernel allowed it.
    kernel: bool,
    /// The lowering's model permits it.
    modelled: bool,
    lowering: Lowering,
    out: Output,
    context: String,
}

/// Runs `rules` over a fresh tree holding `d/f.txt`, the script `d/s.sh`
/// and the empty directory `d/empty` (`@` is the tree), and one access;
/// None where Landlock is unavailable.
fn run_case(rules: &str, line: &str, access: &str) -> Option<Case> {
    if !landlock() {
        return None;
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
    let parsed = Access::parse(&attempt.access, &root).unwrap();
    let context = format!("{source}\n{}\n{}", lowering.summary, text(&out));
    Some(Case {
        permitted: is_permitted(policy, &parsed),
        kernel: outcomes[0],
        modelled: is_permitted(&lowering.model, &parsed),
        access: attempt.access,
        lowering,
        out,
        context,
    })
}

/// The policy permits the access and the kernel cannot: it must be denied,
/// by the model too, and reported.
fn reported_loss(rules: &str, line: &str, access: &str) {
    let Some(c) = run_case(rules, line, access) else { return };
    let context = &c.context;
    assert!(c.permitted, "{context}");
    assert!(!c.kernel, "`{}` was allowed\n{context}", c.access);
    assert!(!c.modelled, "the model permits `{}`\n{context}", c.access);
    assert!(!c.lowering.exact, "{context}");
    assert!(
        c.lowering
            .diagnostics
            .iter()
            .any(|d| d.code == Code::ArtifactNarrower && d.counterexamples.contains(&c.access)),
        "no C3002 names `{}`\n{context}",
        c.access
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

/// `corral run` lowers without translation validation unless `--validate`,
/// so the walk itself must see that a brace alternative naming a path that
/// does not exist yet cannot be created, and the audit line must list the
/// gap.
#[test]
fn a_missing_brace_alternative_is_a_reported_loss_without_validation() {
    let Some(c) =
        run_case("  allow create \"@/d/{f.txt,new.txt}\"\n", "create @/d/new.txt", "create @/d/new.txt")
    else {
        return;
    };
    let context = &c.context;
    assert!(c.permitted && !c.kernel && !c.modelled && !c.lowering.exact, "{context}");
    let stderr = String::from_utf8_lossy(&c.out.stderr);
    let audit = stderr.lines().find(|l| l.starts_with("{\"")).unwrap();
    let audit: serde_json::Value = serde_json::from_str(audit).unwrap();
    assert!(
        audit["gaps"].as_array().is_some_and(|g| !g.is_empty()),
        "`{}` is denied, yet the audit line lists no gap\n{context}",
        c.access
    );
}
