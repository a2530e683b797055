//! Time and peak memory of verifying a generated policy:
//! `verify_time RULES [--analyses]` generates a policy of RULES rules with
//! ten assertions, compiles it, then proves its assertions and runs the
//! built-in safety checks (and, with `--analyses`, the analyses), and
//! prints the wall time of each phase and the peak resident set (`VmHWM`).
//! One process per size: the peak never goes down. Linux only.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool reports on stdout

use std::process::ExitCode;
use std::time::Instant;

use corral_benches::{HOME, generate_policy_with_assertions, peak_mib};
use corral_compiler::{Options, compile_string};
use corral_verifier::checks::{CheckOptions, verify_program};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(rules) = args.next().and_then(|a| a.parse::<usize>().ok()) else {
        eprintln!("usage: verify_time RULES [--analyses]");
        return ExitCode::from(2);
    };
    let analyses = args.any(|a| a == "--analyses");
    let text = generate_policy_with_assertions(rules);
    let start = Instant::now();
    let compiled =
        compile_string("fleet.corral", text, None, &Options { home: HOME.into(), ..Default::default() });
    let compile_ms = start.elapsed().as_secs_f64() * 1e3;
    if compiled.has_errors() {
        eprintln!("the generated policy does not compile: {:?}", compiled.diagnostics.first());
        return ExitCode::from(1);
    }
    let assertions: usize = compiled.program.policies.iter().map(|p| p.assertions.len()).sum();
    let start = Instant::now();
    let findings = verify_program(
        &compiled.program,
        &CheckOptions { timeout_ms: 60_000, analyses, ..CheckOptions::default() },
    );
    let verify_ms = start.elapsed().as_secs_f64() * 1e3;
    let codes: Vec<String> = findings
        .iter()
        .map(|d| format!("{} {} {:?}", d.code.as_str(), d.message, d.counterexamples))
        .collect();
    println!(
        "rules={rules} assertions={assertions} analyses={analyses} compile_ms={compile_ms:.1} verify_ms={verify_ms:.1} \
         peak_mib={} findings={codes:?}",
        peak_mib()
    );
    ExitCode::SUCCESS
}
