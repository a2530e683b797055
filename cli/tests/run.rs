//! `corral run` against the real kernel: each access a sandboxed shell
//! attempts must succeed exactly when the evaluator permits it, and the
//! classic escapes (symlinks, rename and hard links, `..`, truncation,
//! `.git/hooks`) and TCP ports must be stopped. Skipped, with the reason,
//! where Landlock is unavailable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;

use common::{landlock, text};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use corral_compiler::eval::{Access, is_permitted};
use corral_compiler::ir::Right;
use corral_compiler::{Options, compile_source};
use sha2::{Digest, Sha256};

/// What every sandboxed shell needs: the programs and their libraries.
fn prelude() -> String {
    let mut out = String::new();
    for dir in ["/usr/bin", "/usr/lib", "/usr/lib64", "/bin", "/lib", "/lib64"] {
        let p = Path::new(dir);
        if p.is_dir() && !p.is_symlink() {
            out.push_str(&format!("  allow read, list, exec under \"{dir}\"\n"));
        }
    }
    out.push_str("  allow read, write \"/dev/null\"\n");
    out
}

/// A temporary tree:
/// `ro/{a.txt,b.txt,secret.txt,sub/c.txt}`, `rw/{d.txt,e.txt,sub/f.txt,repo/.git/hooks/pre-commit}`,
/// `bin/{ok.sh,no.sh}`, `outside/secret.txt`.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::Builder::new().prefix("corral-run-").tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for f in [
            "ro/a.txt",
            "ro/b.txt",
            "ro/secret.txt",
            "ro/sub/c.txt",
            "rw/d.txt",
            "rw/e.txt",
            "rw/sub/f.txt",
            "rw/repo/src/main.rs",
            "rw/repo/.git/config",
            "rw/repo/.git/hooks/pre-commit",
            "outside/secret.txt",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("content of {f}\n")).unwrap();
        }
        std::fs::create_dir_all(root.join("bin")).unwrap();
        for s in ["ok.sh", "no.sh"] {
            let p = root.join("bin").join(s);
            std::fs::write(&p, "#!/bin/sh\necho ran\n").unwrap();
            Command::new("chmod").arg("755").arg(&p).status().unwrap();
        }
        Tree { _dir: dir, root }
    }

    fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root.display())
    }

    /// Writes a policy `p` with the prelude and `rules` (`@` stands for the root).
    fn policy(&self, name: &str, rules: &str) -> (PathBuf, String) {
        let rules = rules.replace('@', &self.root.display().to_string());
        let source = format!("policy p {{\n{}{rules}\n}}\n", prelude());
        let path = self.root.join(format!("{name}.corral"));
        std::fs::write(&path, &source).unwrap();
        (path, source)
    }
}

fn corral_run(policy: &Path, extra: &[&str], script: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("run")
        .arg(policy)
        .args(["--home", "/root"])
        .args(extra)
        .args(["--", "/bin/sh", "-c", script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `corral build --target landlock --out OUT_DIR`, which must succeed.
fn build_ruleset(policy: &Path, out_dir: &Path) {
    let build = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["build"])
        .arg(policy)
        .args(["--home", "/root", "--target", "landlock", "--out"])
        .arg(out_dir)
        .output()
        .unwrap();
    assert_eq!(build.status.code(), Some(0), "{}", text(&build));
}

/// One attempted access: the right the evaluator decides, its path and the
/// shell command that attempts it.
struct Attempt {
    right: Right,
    path: String,
    cmd: String,
}

fn attempt(right: Right, path: String, cmd: String) -> Attempt {
    Attempt { right, path, cmd }
}

/// Runs every attempt in one sandboxed shell and checks each outcome
/// against the evaluator; returns how many were checked.
fn check_against_evaluator(tree: &Tree, name: &str, rules: &str, attempts: &[Attempt]) -> usize {
    let (path, source) = tree.policy(name, rules);
    let options = Options { home: "/root".to_owned(), lib_dirs: Vec::new(), params: Vec::new() };
    let compilation = compile_source("p.corral", &source, None, &options);
    assert!(!compilation.has_errors(), "{source}");
    let policy = &compilation.program.policies[0];
    let mut script = String::new();
    for (i, a) in attempts.iter().enumerate() {
        script.push_str(&format!(
            "if ( {} ) >/dev/null 2>&1; then echo \"{i} yes\"; else echo \"{i} no\"; fi\n",
            a.cmd
        ));
    }
    let out = corral_run(&path, &[], &script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), attempts.len(), "{}", text(&out));
    for (i, (a, line)) in attempts.iter().zip(&lines).enumerate() {
        let expected = is_permitted(policy, &Access::File { right: a.right, path: a.path.clone() });
        let got = *line == format!("{i} yes");
        assert_eq!(
            got,
            expected,
            "policy {name}: `{}` ({} {}) succeeded={got}, evaluator permits={expected}\n{source}\n{}",
            a.cmd,
            a.right.keyword(),
            a.path,
            text(&out)
        );
    }
    attempts.len()
}

#[test]
fn outcomes_equal_the_evaluator() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    let mut checked = 0;

    // Read-only tree with a carved-out secret, a writable tree, one script.
    let rules = r#"
  allow read, list under "@/ro"
  deny read "@/ro/secret.txt"
  allow read, list, write, create, delete under "@/rw"
  allow read, exec "@/bin/ok.sh"
"#;
    let a = |r, rel: &str, cmd: &str| attempt(r, t.p(rel), cmd.replace('@', &t.root.display().to_string()));
    let attempts = vec![
        a(Right::Read, "ro/a.txt", "cat @/ro/a.txt"),
        a(Right::Read, "ro/sub/c.txt", "cat @/ro/sub/c.txt"),
        a(Right::Read, "ro/secret.txt", "cat @/ro/secret.txt"),
        a(Right::Read, "outside/secret.txt", "cat @/outside/secret.txt"),
        a(Right::List, "ro", "ls @/ro"),
        a(Right::List, "outside", "ls @/outside"),
        a(Right::Write, "ro/a.txt", "echo x >> @/ro/a.txt"),
        a(Right::Create, "ro/new.txt", "touch @/ro/new.txt"),
        a(Right::Delete, "ro/b.txt", "rm @/ro/b.txt"),
        a(Right::Read, "rw/d.txt", "cat @/rw/d.txt"),
        a(Right::Write, "rw/d.txt", "echo x >> @/rw/d.txt"),
        a(Right::Create, "rw/new.txt", "echo x > @/rw/new.txt"),
        a(Right::Create, "rw/newdir", "mkdir @/rw/newdir"),
        a(Right::Delete, "rw/e.txt", "rm @/rw/e.txt"),
        a(Right::List, "rw/sub", "ls @/rw/sub"),
        a(Right::Exec, "bin/ok.sh", "@/bin/ok.sh"),
        a(Right::Exec, "bin/no.sh", "@/bin/no.sh"),
        a(Right::Create, "outside/new.txt", "touch @/outside/new.txt"),
    ];
    checked += check_against_evaluator(&t, "one", rules, &attempts);

    // Read everything under the root but write only one subdirectory.
    let rules = r#"
  allow read, list under "@/ro"
  allow read, list under "@/rw"
  allow write, create, delete under "@/rw/sub"
  allow read, exec under "@/bin"
"#;
    let attempts = vec![
        a(Right::Read, "ro/secret.txt", "cat @/ro/secret.txt"),
        a(Right::Read, "rw/d.txt", "cat @/rw/d.txt"),
        a(Right::Write, "rw/d.txt", "echo x >> @/rw/d.txt"),
        a(Right::Write, "rw/sub/f.txt", "echo x >> @/rw/sub/f.txt"),
        a(Right::Create, "rw/sub/g.txt", "touch @/rw/sub/g.txt"),
        a(Right::Create, "rw/g.txt", "touch @/rw/g.txt"),
        a(Right::Delete, "rw/e.txt", "rm @/rw/e.txt"),
        a(Right::Exec, "bin/no.sh", "@/bin/no.sh"),
        a(Right::List, "bin", "ls @/bin"),
        a(Right::Read, "outside/secret.txt", "cat @/outside/secret.txt"),
    ];
    checked += check_against_evaluator(&t, "two", rules, &attempts);
    assert!(checked >= 20, "{checked}");
}

#[test]
fn classic_escapes_are_stopped() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    std::os::unix::fs::symlink(t.p("outside/secret.txt"), t.root.join("rw/link")).unwrap();
    let (path, _) = t.policy(
        "escapes",
        r#"
  allow read, list under "@/ro"
  deny read "@/ro/secret.txt"
  allow read, list, write, create, delete under "@/rw"
  deny write, create, delete "@/rw/repo/.git/hooks/**"
"#,
    );
    let r = t.root.display().to_string();
    let attempts = [
        ("symlink out of an allowed dir", format!("cat {r}/rw/link")),
        ("hard link of a denied file", format!("ln {r}/ro/secret.txt {r}/rw/hard && cat {r}/rw/hard")),
        ("rename of a denied file", format!("mv {r}/ro/secret.txt {r}/rw/moved && cat {r}/rw/moved")),
        ("hard link from outside", format!("ln {r}/outside/secret.txt {r}/rw/hard2")),
        ("rename from outside", format!("mv {r}/outside/secret.txt {r}/rw/moved2")),
        ("dot-dot", format!("cat {r}/rw/../outside/secret.txt")),
        ("dot-dot to a denied file", format!("cat {r}/ro/sub/../secret.txt")),
        ("truncation of a read-only file", format!(": > {r}/ro/a.txt")),
        ("a new git hook", format!("echo evil > {r}/rw/repo/.git/hooks/x")),
        ("an existing git hook", format!("echo evil >> {r}/rw/repo/.git/hooks/pre-commit")),
    ];
    let mut script = String::new();
    for (i, (_, cmd)) in attempts.iter().enumerate() {
        script.push_str(&format!(
            "if ( {cmd} ) >/dev/null 2>&1; then echo \"{i} yes\"; else echo \"{i} no\"; fi\n"
        ));
    }
    // A wildcard deny inside a writable tree is broader (files created later).
    let out = corral_run(&path, &["--accept-broader"], &script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (i, (what, cmd)) in attempts.iter().enumerate() {
        assert!(
            stdout.lines().any(|l| l == format!("{i} no")),
            "{what}: `{cmd}` was not stopped\n{}",
            text(&out)
        );
    }
    assert_eq!(std::fs::read_to_string(t.root.join("ro/a.txt")).unwrap(), "content of ro/a.txt\n");
    assert!(t.root.join("ro/secret.txt").exists());
    assert!(t.root.join("outside/secret.txt").exists());
    assert!(!t.root.join("rw/repo/.git/hooks/x").exists());
    // The same shell could write ordinary files in the repository.
    let out = corral_run(&path, &["--accept-broader"], &format!("echo ok > {r}/rw/repo/src/new.rs"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn tcp_connect_is_limited_to_the_allowed_port() {
    if !landlock() || !Path::new("/bin/bash").exists() {
        return;
    }
    let t = Tree::new();
    let l1 = TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = TcpListener::bind("127.0.0.1:0").unwrap();
    let (p1, p2) = (l1.local_addr().unwrap().port(), l2.local_addr().unwrap().port());
    let (path, _) = t.policy("tcp", &format!("  allow connect tcp \"127.0.0.1\":{p1}\n"));
    let script = format!(
        "/bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/{p1}' && echo one-ok; /bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/{p2}' 2>/dev/null && echo two-ok; true"
    );
    // Landlock matches ports only: the host restriction needs `--accept-broader`.
    let refused = corral_run(&path, &[], &script);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--accept-broader"), "{}", text(&refused));
    let out = corral_run(&path, &["--accept-broader"], &script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("one-ok"), "{}", text(&out));
    assert!(!stdout.contains("two-ok"), "{}", text(&out));
}

#[test]
fn the_audit_line_is_json_and_the_exit_code_is_the_commands() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    let (path, source) = t.policy("audit", "  allow read under \"@/ro\"\n");
    let audit = t.root.join("audit.jsonl");
    let out = corral_run(&path, &["--audit", audit.to_str().unwrap()], "exit 7");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let line = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(line.lines().count(), 1, "{line}");
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let hash: String = Sha256::digest(source.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["event"], "corral.run");
    assert_eq!(v["policy"], "p");
    assert_eq!(v["policy_sha256"], hash.as_str());
    assert!(v["abi"].as_u64().is_some_and(|a| a >= 1), "{v}");
    assert!(v["gaps"].is_array(), "{v}");
    assert_eq!(v["command"], serde_json::json!(["/bin/sh", "-c", "exit 7"]));

    // Without `--audit` the line goes to stderr.
    let out = corral_run(&path, &[], "true");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("{\"")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["policy_sha256"], hash.as_str());
}

#[test]
fn usage_errors_exit_2() {
    let t = Tree::new();
    let (path, _) = t.policy("usage", "  allow read under \"@/ro\"\n");
    // No command.
    let out = Command::new(env!("CARGO_BIN_EXE_corral")).arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // A missing policy file.
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "/nonexistent/p.corral", "--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // An unknown policy name.
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("run")
        .arg(&path)
        .args(["--policy", "nope", "--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// A ruleset `corral build` wrote is applied by `run --ruleset` with the
/// same effect as lowering at run time, and refused once the policy
/// changes.
#[test]
fn a_prebuilt_ruleset_is_applied_only_for_the_policy_it_was_built_from() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    let (path, _) =
        t.policy("prebuilt", "  allow read, list under \"@/ro\"\n  deny read \"@/ro/secret.txt\"\n");
    let out_dir = t.root.join("built");
    build_ruleset(&path, &out_dir);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("landlock.run.json")).unwrap()).unwrap();
    assert_eq!(meta["policy"], "p");
    assert_eq!(meta["root"], "/");

    let ruleset = out_dir.to_str().unwrap();
    let script = format!(
        "cat {} >/dev/null && echo read-ok; cat {} >/dev/null 2>&1 || echo secret-denied; cat {} >/dev/null 2>&1 || echo rw-denied",
        t.p("ro/a.txt"),
        t.p("ro/secret.txt"),
        t.p("rw/d.txt")
    );
    let out = corral_run(&path, &["--ruleset", ruleset], &script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["read-ok", "secret-denied", "rw-denied"],
        "{}",
        text(&out)
    );
    let audit = String::from_utf8_lossy(&out.stderr);
    let line = audit.lines().find(|l| l.starts_with("{\"")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["ruleset"], ruleset);

    // The same file with one more allow: the ruleset is stale.
    let (path, _) = t.policy(
        "prebuilt",
        "  allow read, list under \"@/ro\"\n  allow read under \"@/rw\"\n  deny read \"@/ro/secret.txt\"\n",
    );
    let out = corral_run(&path, &["--ruleset", ruleset], "echo ran");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ran"));
    assert!(text(&out).contains("another version of policy `p`"), "{}", text(&out));
}

/// A run that lowers at start names each gap in one line, with where it
/// comes from and an example, not the full report of `corral build`.
#[test]
fn gaps_found_at_start_are_one_line_each() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    let (path, _) = t.policy("gaps", "  allow read, list under \"@/ro\"\n  allow clipboard write\n");
    let out = corral_run(&path, &[], "echo ran");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("warning[C3003 artifact-unsupported]:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("`clipboard`") && line.contains(&format!("at {}:", path.display())), "{line}");
    assert!(stderr.contains("note: `corral build"), "{stderr}");
    assert!(!stderr.contains('╭'), "no full report at start: {stderr}");
}

/// The audit line of a run.
fn audit_line(out: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("{\"")).unwrap_or_else(|| panic!("{}", text(out)));
    serde_json::from_str(line).unwrap()
}

/// While the files a ruleset was compiled from are unchanged, `run
/// --ruleset` applies it without compiling; an edit that keeps the policy's
/// IR is accepted by comparing IR digests; a module file that appears earlier
/// in the import search than the one the build found is noticed.
#[test]
fn a_prebuilt_ruleset_is_current_while_its_inputs_are_unchanged() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    let lib = t.root.join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("shared.corral"), format!("let readable: paths = under \"{}\"\n", t.p("ro")))
        .unwrap();
    let file = t.root.join("imports.corral");
    let source =
        format!("import shared\n\npolicy p {{\n{}  allow read, list shared.readable\n}}\n", prelude());
    std::fs::write(&file, &source).unwrap();
    let out_dir = t.root.join("built");
    let build = Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("build")
        .arg(&file)
        .args(["--home", "/root", "--lib", lib.to_str().unwrap(), "--target", "landlock", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(build.status.code(), Some(0), "{}", text(&build));
    let run = |script: &str| {
        corral_run(&file, &["--lib", lib.to_str().unwrap(), "--ruleset", out_dir.to_str().unwrap()], script)
    };
    let script = format!("cat {} && cat {} 2>/dev/null || echo rw-denied", t.p("ro/a.txt"), t.p("rw/d.txt"));

    let out = run(&script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "content of ro/a.txt\nrw-denied\n");
    assert_eq!(audit_line(&out)["ruleset_checked_by"], "unchanged inputs");

    // `import shared` searches the file's directory before `--lib`: a
    // module appearing there changes the policy, though no file the build
    // read has changed.
    let shadow = t.root.join("shared.corral");
    std::fs::write(&shadow, format!("let readable: paths = under \"{}\"\n", t.p("rw"))).unwrap();
    let out = run("echo ran");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("another version of policy `p`"), "{}", text(&out));
    std::fs::remove_file(&shadow).unwrap();

    // A comment at the end changes the file, not the policy (its rules
    // and their origins).
    std::fs::write(&file, format!("{source}// reviewed\n")).unwrap();
    let out = run(&script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "content of ro/a.txt\nrw-denied\n");
    assert_eq!(audit_line(&out)["ruleset_checked_by"], "policy digest");

    // Another `~` is another policy, even with every file unchanged.
    std::fs::write(&file, &source).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("run")
        .arg(&file)
        .args(["--home", "/tmp", "--lib", lib.to_str().unwrap(), "--ruleset", out_dir.to_str().unwrap()])
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(audit_line(&out)["ruleset_checked_by"], "policy digest");
}

/// Paths of a prebuilt ruleset that vanished, or were replaced by a
/// symbolic link to somewhere else, are left out, never followed.
#[test]
fn vanished_and_relinked_paths_of_a_ruleset_are_left_out() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    let (path, _) = t.policy("moved", "  allow read, list under \"@/ro\"\n  deny read \"@/ro/secret.txt\"\n");
    let out_dir = t.root.join("built");
    build_ruleset(&path, &out_dir);
    // After the build: `ro/sub` becomes a link to `outside`, `ro/b.txt` goes.
    std::fs::remove_dir_all(t.root.join("ro/sub")).unwrap();
    std::os::unix::fs::symlink(t.root.join("outside"), t.root.join("ro/sub")).unwrap();
    std::fs::remove_file(t.root.join("ro/b.txt")).unwrap();
    let script = format!(
        "cat {} >/dev/null && echo a-ok; cat {} >/dev/null 2>&1 || echo link-denied",
        t.p("ro/a.txt"),
        t.p("ro/sub/secret.txt")
    );
    let out = corral_run(&path, &["--ruleset", out_dir.to_str().unwrap()], &script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["a-ok", "link-denied"], "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 path(s) of the ruleset"), "{stderr}");
    assert!(stderr.contains(&t.p("ro/sub")) && stderr.contains(&t.p("ro/b.txt")), "{stderr}");
}

/// On a kernel that lacks a feature the ruleset handles (made to look so
/// with `CORRAL_LANDLOCK_MAX_ABI`), `run` refuses and names the feature;
/// with `--best-effort` it runs, says what is not enforced, and still
/// enforces the rest.
#[test]
fn an_older_kernel_is_refused_unless_best_effort() {
    if !landlock() {
        return;
    }
    let t = Tree::new();
    let (path, _) = t.policy("older", "  allow read, list under \"@/ro\"\n  allow bind tcp 8080\n");
    let script = format!(
        "cat {} >/dev/null && echo ro-ok; cat {} >/dev/null 2>&1 || echo rw-denied",
        t.p("ro/a.txt"),
        t.p("rw/d.txt")
    );
    let older = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_corral"))
            .arg("run")
            .arg(&path)
            .args(["--home", "/root"])
            .args(extra)
            .args(["--", "/bin/sh", "-c", &script])
            .env("NO_COLOR", "1")
            .env(corral_backend_landlock::MAX_ABI_VAR, "3")
            .output()
            .unwrap()
    };
    let out = older(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`bind_tcp` (needs ABI 4)") && stderr.contains("--best-effort"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ro-ok"), "nothing may run");

    let out = older(&["--best-effort"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().collect::<Vec<_>>(),
        ["ro-ok", "rw-denied"],
        "{}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: best effort: not enforced:") && stderr.contains("bind_tcp"),
        "{stderr}"
    );
    let line = stderr.lines().find(|l| l.starts_with("{\"")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["abi"], 3, "{v}");
    let gaps = v["gaps"].as_array().unwrap();
    assert!(
        gaps.iter()
            .any(|g| g["code"] == "best-effort" && g["message"].as_str().unwrap().contains("bind_tcp")),
        "{v}"
    );
}
