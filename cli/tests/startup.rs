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
