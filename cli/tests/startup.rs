//! Start-up: libz3 is loaded when a command first solves, not when corral
//! starts (`verifier/z3-loader`). What the dynamic loader reports with
//! `LD_DEBUG=files` shows which libraries a process mapped.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::Path;
use std::process::{Command, Output};

/// The one target whose `z3` link `.cargo/config.toml` replaces with the
/// loader; elsewhere libz3 is linked as usual and these tests do not apply.
fn lazy_target() -> bool {
    let lazy = cfg!(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"));
    if !lazy {
        eprintln!("skipped: libz3 is loaded lazily only on x86_64-unknown-linux-gnu");
    }
    lazy
}

fn corral_traced(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("LD_DEBUG", "files")
        .args(args)
        .output()
        .unwrap()
}

fn loaded_z3(out: &Output) -> bool {
    String::from_utf8_lossy(&out.stderr).lines().any(|l| l.contains("file=libz3"))
}

const EXAMPLE: &str = "examples/coding-assistant.corral";

#[test]
fn commands_that_never_solve_do_not_load_libz3() {
    if !lazy_target() {
        return;
    }
    let commands: [&[&str]; 3] = [
        &["--version"],
        &["fmt", "--check", EXAMPLE],
        &["eval", EXAMPLE, "--policy", "coding_assistant", "--access", "read /etc/passwd"],
    ];
    for args in commands {
        let out = corral_traced(args);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}: {out:?}");
        assert!(!loaded_z3(&out), "`corral {}` loaded libz3", args.join(" "));
    }
}

#[test]
fn check_loads_libz3_on_first_use_and_proves() {
    if !lazy_target() {
        return;
    }
    let out = corral_traced(&["check", EXAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(loaded_z3(&out), "`corral check` did not load libz3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no problems"));
    // A failing assertion is still found and explained through the
    // trampolines (the witness comes from z3's model).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leak.corral");
    std::fs::write(
        &file,
        "policy p {\n    identity local \"a\"\n    allow read under \"/home/u\"\n    assert never read under \"/home/u/.ssh\"\n}\n",
    )
    .unwrap();
    let out = corral_traced(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("counterexample: read /home/u/.ssh"), "{out:?}");
}

/// Without a loadable libz3, commands that never solve still work, and the
/// first solver call stops with a clear error and exit code 2 (no crash).
/// libz3 is hidden by bind-mounting `/dev/null` over it in a private
/// mount namespace (`unshare -rm`).
#[test]
fn a_missing_libz3_is_an_error_at_the_first_solver_call() {
    if !lazy_target() {
        return;
    }
    let Some(libz3) = ["/usr/lib/x86_64-linux-gnu/libz3.so.4", "/lib/x86_64-linux-gnu/libz3.so.4"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("skipped: libz3.so.4 is not where Debian puts it");
        return;
    };
    let corral = env!("CARGO_BIN_EXE_corral");
    let hidden = |args: &str| {
        Command::new("unshare")
            .args(["-rm", "sh", "-c"])
            .arg(format!("mount --bind /dev/null {libz3} && exec {corral} {args}"))
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .output()
            .unwrap()
    };
    let probe = hidden("--version");
    if !probe.status.success() {
        eprintln!(
            "skipped: cannot hide libz3 in a mount namespace: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        );
        return;
    }
    let out = hidden(&format!("fmt --check {EXAMPLE}"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = hidden(&format!("check {EXAMPLE}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: cannot load the Z3 solver library `libz3.so.4`"), "{stderr}");
    assert!(stderr.contains("help: install it"), "{stderr}");
}
