//! `corral lint FILE… --format human|json|sarif|github`: `check` for CI.
//! The same diagnostics and exit codes as `check`; `sarif` writes a SARIF
//! 2.1.0 log for code scanning, `github` one workflow command per
//! diagnostic, which GitHub Actions shows as an annotation on the line.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use corral_compiler::Compilation;
use corral_compiler::diagnostics::Severity;
use corral_compiler::diagnostics::render::{SarifTool, render_github, render_sarif};

use crate::check::{self, CheckArgs, VerifyArgs};
use crate::common::{self, CompileArgs, EXIT_FAIL, EXIT_OK, EXIT_USAGE, Format};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// As `check` prints it.
    #[default]
    Human,
    /// As `check --format json`.
    Json,
    /// A SARIF 2.1.0 log (GitHub code scanning, Azure DevOps).
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
}

#[derive(Args, Debug)]
pub struct LintArgs {
    /// Policy files to lint.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: LintFormat,
    #[command(flatten)]
    verify: VerifyArgs,
}

/// The repository the SARIF rules' help pages link into.
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

pub fn run(args: &LintArgs) -> u8 {
    let format = match args.format {
        LintFormat::Human => Some(Format::Human),
        LintFormat::Json => Some(Format::Json),
        LintFormat::Sarif | LintFormat::Github => None,
    };
    if let Some(format) = format {
        let plain = CheckArgs::plain(args.files.clone(), args.compile.clone(), format, args.verify.clone());
        return check::run(&plain);
    }
    let options = match args.compile.options() {
        Ok(o) => o,
        Err(e) => return common::usage_error(&e),
    };
    let mut exit = EXIT_OK;
    let mut checked: Vec<Compilation> = Vec::new();
    for file in &args.files {
        match common::compile(file, &options) {
            Ok(mut compilation) => {
                check::verify(&mut compilation, &args.verify);
                let diags = &compilation.diagnostics;
                let fails = args
                    .verify
                    .fails(common::count(diags, Severity::Error), common::count(diags, Severity::Warning));
                if fails && exit == EXIT_OK {
                    exit = EXIT_FAIL;
                }
                checked.push(compilation);
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit = EXIT_USAGE;
            }
        }
    }
    match args.format {
        LintFormat::Sarif => {
            let docs_base = format!("{REPOSITORY}/blob/main/docs/diagnostics");
            let tool = SarifTool {
                version: env!("CARGO_PKG_VERSION"),
                information_uri: REPOSITORY,
                docs_base: &docs_base,
            };
            let files = checked.iter().map(|c| (c.diagnostics.as_slice(), c.sources()));
            common::print_json(&render_sarif(tool, files));
        }
        _ => {
            for c in &checked {
                print!("{}", render_github(&c.diagnostics, c.sources()));
            }
        }
    }
    exit
}
