//! The `corral` command line. Only this crate prints and chooses exit codes.

// The CLI is the one place that writes to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod build;
mod build_nftables;
mod check;
mod common;
mod diff;
mod eval;
mod fmt;
mod inputs;
mod lint;
mod lsp;
mod run;
mod sid;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Corral: declare what an AI agent may touch, prove it, enforce it.
#[derive(Parser, Debug)]
#[command(name = "corral", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse, resolve, type-check and lower policies; report every problem.
    Check(check::CheckArgs),
    /// Lower a policy to an enforcement artifact (Landlock, nftables, AppContainer, MXC).
    Build(build::BuildArgs),
    /// Decide one access with the concrete evaluator and name the deciding rules.
    Eval(eval::EvalArgs),
    /// The semantic difference of two versions of a policy: accesses gained and lost, with witnesses.
    Diff(diff::DiffArgs),
    /// Check policy files for CI: check's diagnostics as SARIF, GitHub annotations, JSON or text.
    Lint(lint::LintArgs),
    /// Format policy files canonically.
    Fmt(fmt::FmtArgs),
    /// The language server, on stdin and stdout (diagnostics, formatting, hover, definitions, completion, outline).
    Lsp(lsp::LspArgs),
    /// Enforce a policy with Landlock and run a command inside it.
    Run(run::RunArgs),
    /// Windows SIDs of AppContainer capabilities and profiles.
    Sid(sid::SidArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(common::EXIT_USAGE),
            };
        }
    };
    let code = match cli.command {
        Command::Build(args) => build::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Lsp(args) => lsp::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Sid(args) => sid::run(&args),
    };
    ExitCode::from(code)
}
