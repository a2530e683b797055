//! `corral build FILE --target landlock --out DIR`

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use corral_backend_landlock::{LATEST_ABI, Proof, lower};
use corral_compiler::diagnostics::Severity;
use corral_compiler::diagnostics::render::render_json;
use corral_verifier::refine::Verdict;
use serde_json::json;

use crate::common::select_policy;

#[path = "build_windows.rs"]
mod windows;
use crate::common::{self, CompileArgs, EXIT_FAIL, EXIT_OK, Format};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// A Landlock ruleset (landlockconfig JSON) for Linux.
    Landlock,
    /// A Windows AppContainer manifest with apply and revert scripts.
    Appcontainer,
    /// A Microsoft Execution Containers (MXC) ContainerConfig 0.8.0-alpha.
    Mxc,
    /// An nftables ruleset (nft text and libnftables JSON) for connect and bind.
    Nftables,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The policy to build; may be left out when the file defines one.
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
    /// The enforcement backend.
    #[arg(long, value_enum)]
    target: Target,
    /// The directory the artifacts are written to (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The Landlock ABI to build for [default: the latest this build knows].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=i64::from(LATEST_ABI)))]
    abi: Option<u8>,
    /// The file tree the policy's paths are resolved against.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Write the artifact even when it allows more than the policy.
    #[arg(long)]
    accept_broader: bool,
    /// Per verifier query of translation validation, for every target (0:
    /// no limit); a query that runs out is unknown, and the artifact is
    /// then not validated.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout_ms: u32,
    /// Windows targets: launch as a least-privilege AppContainer (LPAC).
    #[arg(long)]
    lpac: bool,
    /// Windows targets: the drive of absolute paths outside the home (`/usr` → `C:\usr`).
    #[arg(long, value_name = "LETTER", default_value_t = 'C', value_parser = parse_drive)]
    drive: char,
    /// Windows targets: the Windows directory `~` stands for.
    #[arg(long, value_name = "DIR", default_value = "%USERPROFILE%")]
    profile_dir: String,
    #[command(flatten)]
    nftables: crate::build_nftables::NftArgs,
    #[command(flatten)]
    compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: &BuildArgs) -> u8 {
    let (options, compilation) =
        match common::compile_clean(&args.file, &args.compile, EXIT_FAIL, "nothing was built") {
            Ok(c) => c,
            Err(code) => return code,
        };
    let policy = match select_policy(&compilation.program, args.policy.as_deref()) {
        Ok(p) => p,
        Err(e) => return common::usage_error(&e),
    };
    if args.target == Target::Nftables {
        let common = crate::build_nftables::Common {
            file: &args.file,
            out: &args.out,
            accept_broader: args.accept_broader,
            format: args.format,
            timeout_ms: args.timeout_ms,
        };
        return crate::build_nftables::run(&common, &args.nftables, policy, &compilation);
    }
    if let Some(code) = windows::run(args, policy, &compilation) {
        return code;
    }
    if !args.root.is_dir() {
        return common::usage_error(&format!("`--root {}` is not a directory", args.root.display()));
    }
    let abi = args.abi.unwrap_or(LATEST_ABI);
    let lowering_options =
        corral_backend_landlock::Options { abi, validate: true, timeout_ms: args.timeout_ms };
    let lowering = lower(policy, &args.root, &lowering_options);
    let diags = &lowering.diagnostics;
    let run_meta = json!({
        "version": 1,
        "policy": policy.name,
        "identity": policy.identity.as_ref().map(|i| i.value.to_string()),
        "policy_digest": common::policy_digest(policy),
        "compiled_from": crate::inputs::record(&args.file, &options, &compilation),
        "root": args.root.display().to_string(),
        "abi": lowering.config["abi"],
        "exact": lowering.exact,
        "validated": lowering.validated,
        "gaps": diags.iter().map(|d| json!({ "code": d.code.as_str(), "severity": d.severity, "message": d.message })).collect::<Vec<_>>(),
    });
    let report = Report {
        file: &args.file,
        policy,
        compilation: &compilation,
        format: args.format,
        accept_broader: args.accept_broader,
        target: "landlock",
        artifact: "the ruleset",
        diagnostics: diags,
        summary: &lowering.summary,
        fields: json!({
            "abi": lowering.config["abi"],
            "exact": lowering.exact,
            "validated": lowering.validated,
            "validation": lowering.proofs.iter().map(proof_json).collect::<Vec<_>>(),
            "config": lowering.config,
        }),
    };
    finish(report, || write_artifacts(&args.out, &lowering.config, &lowering.summary, &run_meta))
}

/// What one target built, for [`finish`] to write and report.
pub(crate) struct Report<'a> {
    pub file: &'a Path,
    pub policy: &'a corral_compiler::ir::Policy,
    pub compilation: &'a corral_compiler::Compilation,
    pub format: Format,
    pub accept_broader: bool,
    /// The `--target` value.
    pub target: &'a str,
    /// How messages name the artifact: "the ruleset", "the mxc artifact".
    pub artifact: &'a str,
    pub diagnostics: &'a [corral_compiler::diagnostics::Diagnostic],
    pub summary: &'a str,
    /// The target's own fields of the `--format json` object.
    pub fields: serde_json::Value,
}

/// The end of every target's build: refuses an artifact with errors unless
/// `--accept-broader`, writes the files with `write`, and reports in the
/// chosen format — the diagnostics and summary, or one JSON object with
/// `version`, `file`, `policy`, `target`, the target's fields, `written`,
/// `diagnostics` and `summary`. Returns the exit code.
pub(crate) fn finish(report: Report<'_>, write: impl FnOnce() -> Result<Vec<PathBuf>, String>) -> u8 {
    let diags = report.diagnostics;
    let sources = report.compilation.sources();
    let errors = common::count(diags, Severity::Error);
    let refused = errors > 0 && !report.accept_broader;
    let written = if refused {
        Vec::new()
    } else {
        match write() {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAIL;
            }
        }
    };
    match report.format {
        Format::Human => {
            common::print_human(diags, sources);
            if refused {
                eprintln!(
                    "error: {} would allow accesses the policy denies; nothing was written (pass `--accept-broader` to write it anyway)",
                    report.artifact
                );
            } else {
                eprint!("{}", report.summary);
                for path in &written {
                    eprintln!("wrote {}", path.display());
                }
            }
        }
        Format::Json => {
            let mut out = json!({
                "version": 1,
                "file": report.file.display().to_string(),
                "policy": report.policy.name,
                "target": report.target,
            });
            if let (Some(out), Some(fields)) = (out.as_object_mut(), report.fields.as_object()) {
                out.extend(fields.clone());
                out.insert(
                    "written".to_owned(),
                    json!(written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()),
                );
                out.insert("diagnostics".to_owned(), render_json(diags, sources));
                out.insert(
                    "summary".to_owned(),
                    json!({ "errors": errors, "warnings": common::count(diags, Severity::Warning), "ok": !refused }),
                );
            }
            common::print_json(&out);
        }
    }
    if refused { EXIT_FAIL } else { EXIT_OK }
}

fn parse_drive(s: &str) -> Result<char, String> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Ok(c.to_ascii_uppercase()),
        _ => Err(format!("expected a drive letter, found `{s}`")),
    }
}

/// One kind's verdicts: `proved`, `broader` (with the access) or
/// `unknown` (with the solver's reason); `narrower` likewise.
fn proof_json(p: &Proof) -> serde_json::Value {
    let verdict = |v: &Verdict, found: &str| match v {
        Verdict::Holds => json!({ "verdict": "holds" }),
        Verdict::Counterexample(a) => json!({ "verdict": found, "counterexample": a.to_string() }),
        Verdict::Unknown(why) => json!({ "verdict": "unknown", "reason": why }),
    };
    json!({
        "kind": p.noun(),
        "broader": verdict(&p.broader, "broader"),
        "narrower": verdict(&p.narrower, "narrower"),
        "outside_reported_gaps": p.outside_gaps,
    })
}

/// Writes `landlock.json` (the ruleset), `landlock.txt` (the summary) and
/// `landlock.run.json` (what `corral run --ruleset` checks before applying
/// it) into `out`.
fn write_artifacts(
    out: &Path,
    config: &serde_json::Value,
    summary: &str,
    run_meta: &serde_json::Value,
) -> Result<Vec<PathBuf>, String> {
    write_files(
        out,
        vec![
            ("landlock.json".to_owned(), pretty(config)?),
            ("landlock.txt".to_owned(), summary.to_owned()),
            ("landlock.run.json".to_owned(), pretty(run_meta)?),
        ],
    )
}

/// An artifact's JSON, pretty-printed with a final newline.
pub(crate) fn pretty(value: &serde_json::Value) -> Result<String, String> {
    serde_json::to_string_pretty(value).map(|s| s + "\n").map_err(|e| format!("cannot write JSON: {e}"))
}

/// Creates `out` and writes each `(name, content)` into it, in order;
/// returns the paths written. Every target's artifacts go through here.
pub(crate) fn write_files(out: &Path, files: Vec<(String, String)>) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create `{}`: {e}", out.display()))?;
    let mut written = Vec::new();
    for (name, content) in files {
        let path = out.join(name);
        std::fs::write(&path, content).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
