//! `corral check FILE…`

use std::path::PathBuf;

use clap::Args;
use corral_compiler::diagnostics::Severity;
use corral_compiler::diagnostics::render::render_json;
use serde_json::json;

use crate::common::{self, CompileArgs, EXIT_FAIL, EXIT_OK, EXIT_USAGE, Format};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Policy files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Print the IR of every policy as JSON (for debugging).
    #[arg(long)]
    emit_ir: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
}

pub fn run(args: &CheckArgs) -> u8 {
    let options = match args.compile.options() {
        Ok(o) => o,
        Err(e) => return common::usage_error(&e),
    };
    let mut reports = Vec::new();
    let mut exit = EXIT_OK;
    let (mut errors, mut warnings) = (0, 0);
    for file in &args.files {
        let compilation = match common::compile(file, &options) {
            Ok(c) => c,
            Err(e) => {
                if args.format == Format::Json {
                    reports.push(json!({ "file": file.display().to_string(), "error": e }));
                } else {
                    eprintln!("error: {e}");
                }
                exit = EXIT_USAGE;
                continue;
            }
        };
        let diags = &compilation.diagnostics;
        let (e, w) = (common::count(diags, Severity::Error), common::count(diags, Severity::Warning));
        errors += e;
        warnings += w;
        if (e > 0 || (args.deny_warnings && w > 0)) && exit == EXIT_OK {
            exit = EXIT_FAIL;
        }
        match args.format {
            Format::Human => {
                common::print_human(diags, compilation.sources());
                if args.emit_ir {
                    common::print_json(&serde_json::to_value(&compilation.program).unwrap_or_default());
                }
            }
            Format::Json => {
                let mut report = json!({
                    "file": file.display().to_string(),
                    "policies": compilation.program.policies.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                    "diagnostics": render_json(diags, compilation.sources()),
                });
                if args.emit_ir {
                    report["ir"] = serde_json::to_value(&compilation.program).unwrap_or_default();
                }
                reports.push(report);
            }
        }
    }
    match args.format {
        Format::Human => {
            let files = common::plural(args.files.len(), "file");
            if errors == 0 && warnings == 0 {
                eprintln!("checked {files}: no problems");
            } else {
                eprintln!(
                    "checked {files}: {}, {}",
                    common::plural(errors, "error"),
                    common::plural(warnings, "warning")
                );
            }
        }
        Format::Json => common::print_json(&json!({
            "version": 1,
            "files": reports,
            "summary": { "errors": errors, "warnings": warnings, "ok": exit == EXIT_OK },
        })),
    }
    exit
}
