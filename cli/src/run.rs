//! `corral run FILE [--policy P] [--abi N] -- CMD ARGS…`: lower the policy
//! for the live file system, apply it with Landlock (one layer,
//! `no_new_privs`), write one audit line and exec CMD.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use clap::Args;
use corral_backend_landlock::{LATEST_ABI, apply, lower};
use corral_compiler::diagnostics::{Code, Severity};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::select_policy;
use crate::common::{self, CompileArgs, EXIT_FAIL};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The policy to enforce; may be left out when the file defines one.
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
    /// The Landlock ABI to lower for [default: the latest this build knows].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=i64::from(LATEST_ABI)))]
    abi: Option<u8>,
    /// Run even when the kernel lacks a feature the ruleset needs; prints what is not enforced.
    #[arg(long)]
    best_effort: bool,
    /// Run even when the ruleset allows accesses the policy denies (C3001).
    #[arg(long)]
    accept_broader: bool,
    /// Run translation validation before running (as `corral build` does):
    /// the verifier's proof and the check of every existing entry below
    /// each rule. Off by default, since it costs far more than the run.
    #[arg(long)]
    validate: bool,
    /// Per verifier query, with `--validate`.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout_ms: u32,
    /// Append the audit line to FILE instead of writing it to stderr.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    #[command(flatten)]
    compile: CompileArgs,
    /// The command to run in the sandbox, and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

pub fn run(args: &RunArgs) -> u8 {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => return common::usage_error(&format!("cannot read `{}`: {e}", args.file.display())),
    };
    let (_, compilation) =
        match common::compile_clean(&args.file, &args.compile, EXIT_FAIL, "nothing was run") {
            Ok(c) => c,
            Err(code) => return code,
        };
    let policy = match select_policy(&compilation.program, args.policy.as_deref()) {
        Ok(p) => p,
        Err(e) => return common::usage_error(&e),
    };
    let options = corral_backend_landlock::Options {
        abi: args.abi.unwrap_or(LATEST_ABI),
        validate: args.validate,
        timeout_ms: args.timeout_ms,
    };
    let lowering = lower(policy, Path::new("/"), &options);
    let diags = &lowering.diagnostics;
    common::print_human(diags, compilation.sources());
    let broader = diags.iter().any(|d| d.code == Code::LandlockBroader);
    let errors = common::count(diags, Severity::Error);
    if (broader || errors > 0) && !args.accept_broader {
        eprintln!(
            "error: the ruleset would allow accesses the policy denies; nothing was run (pass `--accept-broader` to run anyway)"
        );
        return EXIT_FAIL;
    }
    // Opened before the sandbox applies, which may not allow writing it.
    let mut audit: Box<dyn Write> = match &args.audit {
        Some(path) => match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot open `{}`: {e}", path.display());
                return EXIT_FAIL;
            }
        },
        None => Box::new(std::io::stderr()),
    };

    let applied = match apply(&lowering.config, args.best_effort) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}; nothing was run");
            return EXIT_FAIL;
        }
    };
    for item in &applied.not_enforced {
        eprintln!("warning: best effort: not enforced: {item}");
    }

    let mut gaps: Vec<serde_json::Value> =
        diags.iter().map(|d| json!({ "code": d.code.as_str(), "message": d.message })).collect();
    gaps.extend(applied.not_enforced.iter().map(|m| json!({ "code": "best-effort", "message": m })));
    let line = json!({
        "event": "corral.run",
        "policy": policy.name,
        "identity": policy.identity.as_ref().map(|i| i.value.to_string()),
        "policy_sha256": hex(&Sha256::digest(&bytes)),
        "abi": applied.kernel_abi,
        "ruleset_abi": lowering.config["abi"],
        "validated": args.validate.then_some(lowering.validated),
        "gaps": gaps,
        "command": args.command.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>(),
    });
    if let Err(e) = writeln!(audit, "{line}").and_then(|()| audit.flush()) {
        eprintln!("error: cannot write the audit line: {e}; nothing was run");
        return EXIT_FAIL;
    }
    drop(audit);

    let Some((program, rest)) = args.command.split_first() else {
        return common::usage_error("no command to run");
    };
    let err = std::process::Command::new(program).args(rest).exec();
    eprintln!("error: cannot run `{}`: {err}", program.to_string_lossy());
    if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
