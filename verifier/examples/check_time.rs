//! Times `verify_program` (assertions, safety checks, bounds, analyses) on
//! policy files and on generated fleet policies:
//! `cargo run --release -p corral-verifier --example check_time -- examples/*.corral 1000`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::time::Instant;

use corral_compiler::{Options, compile_file, compile_source};
use corral_verifier::checks::{CheckOptions, verify_program};

fn main() {
    for arg in std::env::args().skip(1) {
        let options = Options { home: "/home/u".into(), ..Default::default() };
        let compiled = match arg.parse::<usize>() {
            Ok(rules) => {
                compile_source("fleet.corral", &corral_benches::generate_policy(rules), None, &options)
            }
            Err(_) => match compile_file(Path::new(&arg), &options) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{arg}: {e}");
                    continue;
                }
            },
        };
        for analyses in [false, true] {
            let t = Instant::now();
            let found = verify_program(
                &compiled.program,
                &CheckOptions { timeout_ms: 10_000, analyses, ..CheckOptions::default() },
            );
            let codes: Vec<String> = found.iter().map(|d| format!("{:?}", d.code)).collect();
            println!("{arg} (analyses {analyses}): {:?}, {} findings {codes:?}", t.elapsed(), found.len());
        }
    }
}
