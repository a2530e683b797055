//! Helpers shared by the CLI's integration tests (`mod common;` in each;
//! every test binary uses a part of them).

#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use std::path::Path;
use std::process::{Command, Output};

/// Whether this kernel has Landlock; a test that needs it returns early,
/// and this says why.
pub fn landlock() -> bool {
    let abi = corral_backend_landlock::probe_abi();
    if abi == 0 {
        eprintln!("skipped: landlock is not available on this kernel");
    }
    abi > 0
}

/// `corral ARGS…` in `dir`, without colours.
pub fn corral(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Writes `source` to `dir/p.corral` and runs `corral build p.corral
/// --home /home/u --target TARGET --out out EXTRA…` in `dir`.
pub fn build(dir: &Path, target: &str, source: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("p.corral"), source).unwrap();
    let mut args = vec!["build", "--home", "/home/u", "p.corral", "--target", target, "--out", "out"];
    args.extend_from_slice(extra);
    corral(dir, &args)
}

/// A command's exit status and output, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
