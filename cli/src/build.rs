//! `corral build FILE --target landlock --out DIR`

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use corral_backend_landlock::{LATEST_ABI, lower_to_landlock};
use corral_compiler::diagnostics::Severity;
use corral_compiler::diagnostics::render::render_json;
use serde_json::json;

use crate::common::select_policy;
use crate::common::{self, CompileArgs, EXIT_FAIL, EXIT_OK, Format};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// A Landlock ruleset (landlockconfig JSON) for Linux.
    Landlock,
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
    #[command(flatten)]
    nftables: crate::build_nftables::NftArgs,
    #[command(flatten)]
    compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: &BuildArgs) -> u8 {
    let (_, compilation) =
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
        };
        return crate::build_nftables::run(&common, &args.nftables, policy, &compilation);
    }
    if !args.root.is_dir() {
        return common::usage_error(&format!("`--root {}` is not a directory", args.root.display()));
    }
    let abi = args.abi.unwrap_or(LATEST_ABI);
    let lowering = lower_to_landlock(policy, &args.root, abi);
    let diags = &lowering.diagnostics;
    let errors = common::count(diags, Severity::Error);
    let refused = errors > 0 && !args.accept_broader;
    let written = if refused {
        Ok(Vec::new())
    } else {
        write_artifacts(&args.out, &lowering.config, &lowering.summary)
    };
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAIL;
        }
    };
    match args.format {
        Format::Human => {
            common::print_human(diags, compilation.sources());
            if refused {
                eprintln!(
                    "error: the ruleset would allow accesses the policy denies; nothing was written (pass `--accept-broader` to write it anyway)"
                );
            } else {
                eprint!("{}", lowering.summary);
                for path in &written {
                    eprintln!("wrote {}", path.display());
                }
            }
        }
        Format::Json => common::print_json(&json!({
            "version": 1,
            "file": args.file.display().to_string(),
            "policy": policy.name,
            "target": "landlock",
            "abi": lowering.config["abi"],
            "exact": lowering.exact,
            "validated": lowering.validated,
            "written": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "config": lowering.config,
            "diagnostics": render_json(diags, compilation.sources()),
            "summary": {
                "errors": errors,
                "warnings": common::count(diags, Severity::Warning),
                "ok": !refused,
            },
        })),
    }
    if refused { EXIT_FAIL } else { EXIT_OK }
}

/// Writes `landlock.json` and `landlock.txt` into `out`.
fn write_artifacts(out: &Path, config: &serde_json::Value, summary: &str) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create `{}`: {e}", out.display()))?;
    let text = serde_json::to_string_pretty(config).map_err(|e| format!("cannot write JSON: {e}"))?;
    let json_path = out.join("landlock.json");
    let txt_path = out.join("landlock.txt");
    std::fs::write(&json_path, format!("{text}\n"))
        .map_err(|e| format!("cannot write `{}`: {e}", json_path.display()))?;
    std::fs::write(&txt_path, summary).map_err(|e| format!("cannot write `{}`: {e}", txt_path.display()))?;
    Ok(vec![json_path, txt_path])
}
