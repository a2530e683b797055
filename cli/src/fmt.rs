//! `corral fmt [--check] FILE…`

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use corral_compiler::source::{FileId, SourceMap};

use crate::common::{self, EXIT_FAIL, EXIT_OK, EXIT_USAGE};

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Files to format in place; `-` reads standard input and writes the
    /// result to standard output.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Change nothing; list the files that are not formatted and exit 1.
    #[arg(long)]
    check: bool,
}

pub fn run(args: &FmtArgs) -> u8 {
    let mut exit = EXIT_OK;
    for file in &args.files {
        let stdin = file.as_os_str() == "-";
        let text = if stdin {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map(|_| s)
        } else {
            std::fs::read_to_string(file)
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", file.display());
                exit = EXIT_USAGE;
                continue;
            }
        };
        let Some(formatted) = corral_grammar::fmt::format_source(&text) else {
            // Show why: the file does not parse.
            let mut sources = SourceMap::default();
            let id: FileId = sources.add(file.display().to_string(), text.clone());
            let parsed = corral_grammar::parse(&text);
            let diags: Vec<_> = parsed
                .errors
                .iter()
                .map(|e| corral_compiler::diagnostics::syntax_diagnostic(e, id))
                .collect();
            common::print_human(&diags, &sources);
            eprintln!("error: `{}` has syntax errors; not formatted", file.display());
            exit = exit.max(EXIT_FAIL);
            continue;
        };
        if stdin {
            if args.check {
                if formatted != text {
                    eprintln!("would reformat <stdin>");
                    exit = exit.max(EXIT_FAIL);
                }
            } else {
                print!("{formatted}");
            }
            continue;
        }
        if formatted == text {
            continue;
        }
        if args.check {
            println!("would reformat {}", file.display());
            exit = exit.max(EXIT_FAIL);
        } else if let Err(e) = std::fs::write(file, &formatted) {
            eprintln!("error: cannot write `{}`: {e}", file.display());
            exit = EXIT_USAGE;
        } else {
            eprintln!("formatted {}", file.display());
        }
    }
    exit
}
