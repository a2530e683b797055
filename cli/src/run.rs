//! `corral run FILE [--policy P] [--abi N] -- CMD ARGS…`: lower the policy
//! for the live file system, apply it with Landlock (one layer,
//! `no_new_privs`), write one audit line and exec CMD.
//!
//! With `--ruleset DIR`, the ruleset `corral build --target landlock`
//! wrote into DIR is applied instead of lowering again, after checking
//! that it was built from the same policy for `/`: the files it was
//! compiled from are unchanged (no compile at all), or else the policy
//! compiles to the same IR digest.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use clap::Args;
use corral_backend_landlock::{LATEST_ABI, apply, lower};
use corral_compiler::diagnostics::{Code, Severity};
use corral_compiler::source::SourceMap;
use serde_json::json;

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
    /// Apply the ruleset `corral build --target landlock --out DIR` wrote,
    /// instead of resolving the policy against the file system now. It
    /// must have been built from the same policy (same rules, `~` and
    /// params) for the tree `/`; entries created since the build are
    /// treated as the build's own gaps say.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["abi", "validate"])]
    ruleset: Option<PathBuf>,
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
    let prepared = match &args.ruleset {
        Some(dir) => prebuilt(args, dir),
        None => lowered_now(args),
    };
    let (subject, prepared) = match prepared {
        Ok(p) => p,
        Err(code) => return code,
    };
    if (prepared.broader || prepared.errors > 0) && !args.accept_broader {
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

    let applied = match apply(&prepared.config, args.best_effort) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}; nothing was run");
            return EXIT_FAIL;
        }
    };
    for item in &applied.not_enforced {
        eprintln!("warning: best effort: not enforced: {item}");
    }
    if !applied.skipped.is_empty() {
        eprintln!(
            "warning: {} path(s) of the ruleset no longer exist or became symbolic links and were left out (the agent gets less): {}",
            applied.skipped.len(),
            applied.skipped.join(", ")
        );
    }

    let mut gaps = prepared.gaps;
    gaps.extend(applied.not_enforced.iter().map(|m| json!({ "code": "best-effort", "message": m })));
    gaps.extend(applied.skipped.iter().map(|p| {
        json!({ "code": "skipped", "severity": "warning", "message": format!("`{p}` no longer exists or is a symbolic link; left out") })
    }));
    let line = json!({
        "event": "corral.run",
        "policy": subject.policy,
        "identity": subject.identity,
        "policy_sha256": common::sha256_hex(&bytes),
        "abi": applied.kernel_abi,
        "ruleset_abi": prepared.config["abi"],
        "ruleset": args.ruleset.as_ref().map(|d| d.display().to_string()),
        "ruleset_checked_by": prepared.checked_by,
        "validated": prepared.validated,
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

/// The ruleset to apply and what is known of its gaps.
struct Prepared {
    config: serde_json::Value,
    /// How a prebuilt ruleset was found current: `unchanged inputs` or
    /// `policy digest`.
    checked_by: Option<&'static str>,
    gaps: Vec<serde_json::Value>,
    errors: usize,
    broader: bool,
    validated: Option<bool>,
}

/// The policy a run enforces, for its audit line.
struct Subject {
    policy: String,
    identity: Option<String>,
}

impl Subject {
    fn of(policy: &corral_compiler::ir::Policy) -> Self {
        Subject {
            policy: policy.name.clone(),
            identity: policy.identity.as_ref().map(|i| i.value.to_string()),
        }
    }
}

/// Compiles the policy and lowers it for the live file system.
fn lowered_now(args: &RunArgs) -> Result<(Subject, Prepared), u8> {
    let (_, compilation) = common::compile_clean(&args.file, &args.compile, EXIT_FAIL, "nothing was run")?;
    let policy =
        select_policy(&compilation.program, args.policy.as_deref()).map_err(|e| common::usage_error(&e))?;
    let options = corral_backend_landlock::Options {
        abi: args.abi.unwrap_or(LATEST_ABI),
        validate: args.validate,
        timeout_ms: args.timeout_ms,
    };
    let lowering = lower(policy, Path::new("/"), &options);
    let diags = &lowering.diagnostics;
    print_gaps(diags, compilation.sources(), &args.file, &policy.name);
    let prepared = Prepared {
        gaps: diags
            .iter()
            .map(|d| json!({ "code": d.code.as_str(), "severity": d.severity, "message": d.message }))
            .collect(),
        errors: common::count(diags, Severity::Error),
        broader: diags.iter().any(|d| d.code == Code::ArtifactBroader),
        validated: args.validate.then_some(lowering.validated),
        config: lowering.config,
        checked_by: None,
    };
    Ok((Subject::of(policy), prepared))
}

/// The lowering's gaps, one line each: a run starts often, and
/// `corral build` (or the audit line) has them in full.
fn print_gaps(
    diags: &[corral_compiler::diagnostics::Diagnostic],
    sources: &SourceMap,
    file: &Path,
    policy: &str,
) {
    for d in diags {
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let at = d.primary_span().map(|span| format!(" at {}", sources.location(span))).unwrap_or_default();
        let example = d.counterexamples.first().map(|c| format!(", e.g. `{c}`")).unwrap_or_default();
        eprintln!("{severity}[{} {}]: {}{at}{example}", d.code.as_str(), d.code.slug(), d.message);
    }
    if !diags.is_empty() {
        eprintln!(
            "note: `corral build {} --policy {policy} --target landlock --out DIR` shows each gap in full; `corral run --ruleset DIR` then starts without lowering",
            file.display()
        );
    }
}

/// Reads the ruleset `corral build` wrote into `dir` and checks that it
/// was built from the policy as it is now, for the tree `/`: without
/// compiling when the files it was compiled from are unchanged
/// ([`crate::inputs`]), else by compiling and comparing the IR digest.
fn prebuilt(args: &RunArgs, dir: &Path) -> Result<(Subject, Prepared), u8> {
    let refuse = |message: String| {
        eprintln!("error: {message}; nothing was run");
        EXIT_FAIL
    };
    let read = |name: &str| -> Result<serde_json::Value, u8> {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| refuse(format!("cannot read `{}`: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| refuse(format!("`{}` is not valid JSON: {e}", path.display())))
    };
    let meta = read("landlock.run.json")?;
    let config = read("landlock.json")?;
    let built_for = meta["policy"].as_str().unwrap_or("?").to_owned();
    if meta["root"].as_str() != Some("/") {
        return Err(refuse(format!(
            "the ruleset in `{}` was resolved against another tree than `/`",
            dir.display()
        )));
    }
    let options = args.compile.options().map_err(|e| common::usage_error(&e))?;
    let asked_for_it = args.policy.as_deref().is_none_or(|p| p == built_for);
    let unchanged = asked_for_it && crate::inputs::unchanged(&meta["compiled_from"], &args.file, &options);
    let subject = if unchanged {
        Subject { policy: built_for, identity: meta["identity"].as_str().map(str::to_owned) }
    } else {
        let (_, compilation) =
            common::compile_clean(&args.file, &args.compile, EXIT_FAIL, "nothing was run")?;
        let policy = select_policy(&compilation.program, args.policy.as_deref())
            .map_err(|e| common::usage_error(&e))?;
        if built_for != policy.name {
            return Err(refuse(format!(
                "the ruleset in `{}` was built for policy `{built_for}`, not `{}`",
                dir.display(),
                policy.name
            )));
        }
        if meta["policy_digest"].as_str() != Some(common::policy_digest(policy).as_str()) {
            return Err(refuse(format!(
                "the ruleset in `{}` was built from another version of policy `{}` (its rules, `~` or params differ); build it again",
                dir.display(),
                policy.name
            )));
        }
        Subject::of(policy)
    };
    let gaps: Vec<serde_json::Value> = meta["gaps"].as_array().cloned().unwrap_or_default();
    let code = |g: &serde_json::Value, c: Code| g["code"].as_str() == Some(c.as_str());
    let prepared = Prepared {
        errors: gaps.iter().filter(|g| g["severity"].as_str() == Some("error")).count(),
        broader: gaps.iter().any(|g| code(g, Code::ArtifactBroader)),
        validated: meta["validated"].as_bool(),
        gaps,
        config,
        checked_by: Some(if unchanged { "unchanged inputs" } else { "policy digest" }),
    };
    Ok((subject, prepared))
}
