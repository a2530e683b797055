//! `corral fmt [--check] FILE… [--format human|json]`

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use corral_compiler::diagnostics::Diagnostic;
use corral_compiler::diagnostics::render::render_json;
use corral_compiler::source::{FileId, SourceMap};
use serde_json::json;

use crate::common::{self, EXIT_FAIL, EXIT_OK, EXIT_USAGE, Format};

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Files to format in place; `-` reads standard input and writes the
    /// result to standard output.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Change nothing; list the files that are not formatted and exit 1.
    #[arg(long)]
    check: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// What happened to one file.
enum Outcome {
    Unchanged,
    /// Rewritten (or, for standard input, the formatted text).
    Formatted(Option<String>),
    /// `--check`: formatting would change it.
    WouldReformat,
    /// It does not parse: the syntax errors, in their own source map.
    SyntaxErrors(Vec<Diagnostic>, SourceMap),
    Unreadable(String),
    Unwritable(String),
}

impl Outcome {
    fn status(&self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Formatted(_) => "formatted",
            Outcome::WouldReformat => "would-reformat",
            Outcome::SyntaxErrors(..) => "syntax-errors",
            Outcome::Unreadable(_) => "unreadable",
            Outcome::Unwritable(_) => "unwritable",
        }
    }

    fn exit(&self) -> u8 {
        match self {
            Outcome::Unchanged | Outcome::Formatted(_) => EXIT_OK,
            Outcome::WouldReformat | Outcome::SyntaxErrors(..) => EXIT_FAIL,
            Outcome::Unreadable(_) | Outcome::Unwritable(_) => EXIT_USAGE,
        }
    }
}

fn format_one(file: &PathBuf, check: bool) -> Outcome {
    let stdin = file.as_os_str() == "-";
    let text = if stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map(|_| s)
    } else {
        std::fs::read_to_string(file)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => return Outcome::Unreadable(format!("cannot read `{}`: {e}", file.display())),
    };
    let Some(formatted) = corral_grammar::fmt::format_source(&text) else {
        let mut sources = SourceMap::default();
        let id: FileId = sources.add(file.display().to_string(), text.clone());
        let diags = corral_grammar::parse(&text)
            .errors
            .iter()
            .map(|e| corral_compiler::diagnostics::syntax_diagnostic(e, id))
            .collect();
        return Outcome::SyntaxErrors(diags, sources);
    };
    if check {
        return if formatted == text { Outcome::Unchanged } else { Outcome::WouldReformat };
    }
    if stdin {
        return Outcome::Formatted(Some(formatted));
    }
    if formatted == text {
        return Outcome::Unchanged;
    }
    match std::fs::write(file, &formatted) {
        Ok(()) => Outcome::Formatted(None),
        Err(e) => Outcome::Unwritable(format!("cannot write `{}`: {e}", file.display())),
    }
}

pub fn run(args: &FmtArgs) -> u8 {
    let mut exit = EXIT_OK;
    let mut reports = Vec::new();
    for file in &args.files {
        let outcome = format_one(file, args.check);
        exit = exit.max(outcome.exit());
        let name = if file.as_os_str() == "-" { "<stdin>".to_owned() } else { file.display().to_string() };
        match args.format {
            Format::Human => print_human(&name, &outcome),
            Format::Json => {
                let mut report = json!({ "file": name, "status": outcome.status() });
                match &outcome {
                    Outcome::Formatted(Some(text)) => report["text"] = json!(text),
                    Outcome::SyntaxErrors(diags, sources) => {
                        report["diagnostics"] = render_json(diags, sources)
                    }
                    Outcome::Unreadable(e) | Outcome::Unwritable(e) => report["error"] = json!(e),
                    _ => {}
                }
                reports.push(report);
            }
        }
    }
    if args.format == Format::Json {
        let count = |status: &str| reports.iter().filter(|r| r["status"] == status).count();
        let summary = json!({
            "formatted": count("formatted"),
            "would_reformat": count("would-reformat"),
            "unchanged": count("unchanged"),
            "errors": reports.len() - count("formatted") - count("would-reformat") - count("unchanged"),
            "ok": exit == EXIT_OK,
        });
        common::print_json(
            &json!({ "version": 1, "check": args.check, "files": reports, "summary": summary }),
        );
    }
    exit
}

fn print_human(name: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Unchanged => {}
        Outcome::Formatted(Some(text)) => print!("{text}"),
        Outcome::Formatted(None) => eprintln!("formatted {name}"),
        Outcome::WouldReformat if name == "<stdin>" => eprintln!("would reformat <stdin>"),
        Outcome::WouldReformat => println!("would reformat {name}"),
        Outcome::SyntaxErrors(diags, sources) => {
            // Show why: the file does not parse.
            common::print_human(diags, sources);
            eprintln!("error: `{name}` has syntax errors; not formatted");
        }
        Outcome::Unreadable(e) | Outcome::Unwritable(e) => eprintln!("error: {e}"),
    }
}
