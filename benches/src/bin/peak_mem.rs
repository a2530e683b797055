//! Peak memory of checking a generated policy: `peak_mem RULES` generates
//! a policy of RULES rules, compiles it, and prints the process's peak
//! resident set (`VmHWM` of /proc/self/status) before and after. Run one
//! process per size: the peak never goes down. Linux only.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool reports on stdout

use std::process::ExitCode;
use std::time::Instant;

use corral_benches::{HOME, generate_policy, mib, status_kib};
use corral_compiler::{Options, compile_string};

fn main() -> ExitCode {
    let Some(rules) = std::env::args().nth(1).and_then(|a| a.parse::<usize>().ok()) else {
        eprintln!("usage: peak_mem RULES");
        return ExitCode::from(2);
    };
    let text = generate_policy(rules);
    let before = status_kib("VmHWM:");
    let start = Instant::now();
    let source_bytes = text.len();
    // The text is handed over, as `corral check` hands over the file it read.
    let compiled =
        compile_string("fleet.corral", text, None, &Options { home: HOME.into(), ..Default::default() });
    let elapsed = start.elapsed();
    let after = status_kib("VmHWM:");
    let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
    println!(
        "rules={rules} source_bytes={} peak_before_compile_mib={} peak_mib={} compile_ms={:.1} diagnostics={} errors={errors}",
        source_bytes,
        mib(before),
        mib(after),
        elapsed.as_secs_f64() * 1e3,
        compiled.diagnostics.len(),
    );
    if errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
