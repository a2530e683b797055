//! Time and peak memory of `corral diff` on a generated policy:
//! `diff_time RULES` generates the fleet policy of RULES rules, and a new
//! version of it with one allow added (a write under `/srv/teams`) and one
//! deny removed (the secrets), compiles both, then diffs the policy with
//! itself (every class proven equal) and with the new version (gains in
//! read, write, create, delete). Prints the wall time of each and the peak
//! resident set (`VmHWM`). Linux only.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool reports on stdout

use std::process::ExitCode;
use std::time::Instant;

use corral_benches::{HOME, POLICY, generate_policy, peak_mib};
use corral_compiler::{Options, compile_string};
use corral_verifier::Solver;
use corral_verifier::diff::diff;
use corral_verifier::refine::Verdict;

fn main() -> ExitCode {
    let Some(rules) = std::env::args().nth(1).and_then(|a| a.parse::<usize>().ok()) else {
        eprintln!("usage: diff_time RULES");
        return ExitCode::from(2);
    };
    let old_text = generate_policy(rules);
    let new_text = old_text.replace("    deny read, write, create, delete secrets.all\n", "").replace(
        "    allow read, list artifacts\n",
        "    allow read, list artifacts\n    allow write under \"/srv/teams\"\n",
    );
    let options = Options { home: HOME.into(), ..Default::default() };
    let old = compile_string("old.corral", old_text, None, &options);
    let new = compile_string("new.corral", new_text, None, &options);
    if old.has_errors() || new.has_errors() {
        eprintln!("the generated policies do not compile");
        return ExitCode::from(1);
    }
    let (Some(old_policy), Some(new_policy)) = (old.program.policy(POLICY), new.program.policy(POLICY))
    else {
        eprintln!("no policy `{POLICY}`");
        return ExitCode::from(1);
    };
    let solver = Solver::new(60_000);
    let start = Instant::now();
    let same = corral_verifier::isolated(|| diff(old_policy, old_policy, &solver));
    let same_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    let changed = corral_verifier::isolated(|| diff(old_policy, new_policy, &solver));
    let changed_ms = start.elapsed().as_secs_f64() * 1e3;
    let differs = |report: &[corral_verifier::diff::ClassDiff]| {
        report.iter().filter(|c| !c.is_equal()).map(|c| c.class.to_string()).collect::<Vec<_>>()
    };
    let unknown = changed
        .iter()
        .chain(&same)
        .any(|c| matches!(c.gained, Verdict::Unknown(_)) || matches!(c.lost, Verdict::Unknown(_)));
    println!(
        "rules={rules} self_ms={same_ms:.1} self_differs={:?} changed_ms={changed_ms:.1} changed_differs={:?} unknown={unknown} peak_mib={}",
        differs(&same),
        differs(&changed),
        peak_mib()
    );
    ExitCode::SUCCESS
}
