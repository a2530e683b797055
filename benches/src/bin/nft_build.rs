//! Build time of the nftables backend: `nft_build [RULES] [--validate]`
//! generates a network policy of RULES rules (default 5,000), compiles it,
//! lowers it to nftables (median of 21 runs), writes the nft script and
//! checks it with `nft -c -f` inside `unshare -rn` when `nft` is there.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool reports on stdout

use std::process::{Command, ExitCode};
use std::time::Instant;

use corral_backend_nftables::{NftOptions, lower_to_nftables};
use corral_benches::{HOME, generate_network_policy};
use corral_compiler::{Options, compile_string};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rules = args.iter().find_map(|a| a.parse::<usize>().ok()).unwrap_or(5_000);
    let validate = args.iter().any(|a| a == "--validate");
    let text = generate_network_policy(rules);
    let start = Instant::now();
    let compiled =
        compile_string("net.corral", text, None, &Options { home: HOME.into(), ..Default::default() });
    let compile = start.elapsed();
    let Some(policy) = compiled.program.policies.first() else {
        eprintln!("the generated policy does not compile");
        return ExitCode::FAILURE;
    };
    let fast = NftOptions { validate_timeout_ms: None, ..NftOptions::default() };
    let mut times = Vec::new();
    let mut lowering = None;
    for _ in 0..21 {
        let start = Instant::now();
        let l = match lower_to_nftables(policy, &fast) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{}", e.0);
                return ExitCode::FAILURE;
            }
        };
        times.push(start.elapsed());
        lowering = Some(l);
    }
    times.sort();
    let Some(lowering) = lowering else { return ExitCode::FAILURE };
    let json_bytes = serde_json::to_string(&lowering.json).map_or(0, |s| s.len());
    println!(
        "rules={rules} compile_ms={:.1} lower_ms_median={:.1} lower_ms_min={:.1} lower_ms_max={:.1} elements={} nft_bytes={} json_bytes={json_bytes}",
        ms(compile),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        lowering.elements,
        lowering.text.len(),
    );
    let path = std::env::temp_dir().join(format!("corral-nft-bench-{rules}.nft"));
    if std::fs::write(&path, &lowering.text).is_ok() {
        let start = Instant::now();
        match Command::new("unshare").args(["-rn", "nft", "-c", "-f"]).arg(&path).output() {
            Ok(out) => println!(
                "nft -c -f {} (unshare -rn): {} in {:.0} ms{}",
                path.display(),
                if out.status.success() { "accepted" } else { "REJECTED" },
                ms(start.elapsed()),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .map_or(String::new(), |l| format!(": {l}")),
            ),
            Err(e) => println!("nft -c not run: {e}"),
        }
    }
    if validate {
        let start = Instant::now();
        let with = NftOptions { validate_timeout_ms: Some(120_000), ..NftOptions::default() };
        match lower_to_nftables(policy, &with) {
            Ok(l) => println!(
                "with translation validation: {:.0} ms, proven={}",
                ms(start.elapsed()),
                l.validation.is_some_and(|v| v.proven())
            ),
            Err(e) => eprintln!("{}", e.0),
        }
    }
    ExitCode::SUCCESS
}
