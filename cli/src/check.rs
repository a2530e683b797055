//! `corral check FILE…`

use std::path::PathBuf;

use clap::Args;
use corral_compiler::diagnostics::Severity;
use corral_compiler::diagnostics::render::render_json;
use serde_json::json;

use corral_compiler::Compilation;
use corral_verifier::checks::{CheckOptions, assertion_queries, verify_program};

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
    #[command(flatten)]
    verify: VerifyArgs,
    /// Print the SMT-LIB queries behind the assertion NAME and exit.
    #[arg(long, value_name = "NAME")]
    print_smtlib: Option<String>,
}

/// What `check` and `lint` prove, and when they fail.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Time limit of each SMT query, in milliseconds; a query that runs out
    /// is reported as unknown (an error), never as proven.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub timeout_ms: u32,
    /// Skip the analyses (redundant, dead and unmatchable rules, …); the
    /// assertions and safety checks are still proven.
    #[arg(long)]
    pub no_analyses: bool,
    /// Time the analyses of one policy may take, in milliseconds; when it
    /// runs out they stop and say how many rules they left out.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub analysis_budget_ms: u64,
}

impl VerifyArgs {
    /// Whether diagnostics with `errors` errors and `warnings` warnings fail.
    pub fn fails(&self, errors: usize, warnings: usize) -> bool {
        errors > 0 || (self.deny_warnings && warnings > 0)
    }
}

/// Adds the verifier's findings to a compilation without errors (the
/// verifier needs a complete IR), keeping the diagnostics sorted.
pub fn verify(compilation: &mut Compilation, args: &VerifyArgs) {
    if compilation.has_errors() {
        return;
    }
    let options = CheckOptions {
        timeout_ms: args.timeout_ms,
        analyses: !args.no_analyses,
        analysis_budget_ms: args.analysis_budget_ms,
    };
    let findings = verify_program(&compilation.program, &options);
    compilation.diagnostics.extend(findings);
    corral_compiler::diagnostics::sort(&mut compilation.diagnostics);
}

impl CheckArgs {
    /// `check FILES` with these options and nothing else (`lint`'s human
    /// and JSON formats are `check`'s).
    pub fn plain(files: Vec<PathBuf>, compile: CompileArgs, format: Format, verify: VerifyArgs) -> Self {
        CheckArgs { files, compile, format, emit_ir: false, verify, print_smtlib: None }
    }
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
        if let Some(name) = &args.print_smtlib {
            return print_smtlib(&compilation, name, args.verify.timeout_ms);
        }
        let mut compilation = compilation;
        verify(&mut compilation, &args.verify);
        let diags = &compilation.diagnostics;
        let (e, w) = (common::count(diags, Severity::Error), common::count(diags, Severity::Warning));
        errors += e;
        warnings += w;
        if args.verify.fails(e, w) && exit == EXIT_OK {
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

/// `--print-smtlib NAME`: the queries behind every assertion named NAME.
fn print_smtlib(compilation: &Compilation, name: &str, timeout_ms: u32) -> u8 {
    if compilation.has_errors() {
        common::print_human(&compilation.diagnostics, compilation.sources());
        return EXIT_FAIL;
    }
    let solver = corral_verifier::Solver::new(timeout_ms);
    let mut found = false;
    for policy in &compilation.program.policies {
        for a in policy.assertions.iter().filter(|a| a.name.as_deref() == Some(name)) {
            found = true;
            for (i, query) in assertion_queries(policy, a, &solver).iter().enumerate() {
                println!("; policy `{}`, assertion `{name}`, query {}", policy.name, i + 1);
                println!("{query}");
            }
        }
    }
    if found { EXIT_OK } else { common::usage_error(&format!("no assertion named `{name}`")) }
}
