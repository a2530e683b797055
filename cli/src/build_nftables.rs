//! `corral build FILE --target nftables --out DIR [--resolve | --proxy-mode]`

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use corral_backend_nftables::{NameMode, NftLowering, NftOptions, SystemResolver, lower_to_nftables};
use corral_compiler::Compilation;
use corral_compiler::ir::Policy;
use serde_json::json;

use crate::common::{self, Format};

/// Flags of `--target nftables`.
#[derive(Args, Debug)]
pub struct NftArgs {
    /// nftables: resolve host names now and lower their addresses (recorded with the time).
    #[arg(long, conflicts_with = "proxy_mode")]
    resolve: bool,
    /// nftables: route names through the policy's `proxy` and write its domain allowlist.
    #[arg(long)]
    proxy_mode: bool,
}

/// The options of `corral build` that every target shares.
pub struct Common<'a> {
    pub file: &'a Path,
    pub out: &'a Path,
    pub accept_broader: bool,
    pub format: Format,
    /// Per verifier query of translation validation (0: no limit).
    pub timeout_ms: u32,
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub fn run(args: &Common<'_>, nft: &NftArgs, policy: &Policy, compilation: &Compilation) -> u8 {
    let resolver = SystemResolver;
    let mode = if nft.resolve {
        NameMode::Resolve { resolver: &resolver, at: utc_now() }
    } else if nft.proxy_mode {
        NameMode::Proxy
    } else {
        NameMode::Addresses
    };
    let options = NftOptions { mode, validate_timeout_ms: Some(args.timeout_ms), ..NftOptions::default() };
    let lowering = match lower_to_nftables(policy, &options) {
        Ok(l) => l,
        Err(e) => return common::usage_error(&e.0),
    };
    let report = crate::build::Report {
        file: args.file,
        policy,
        compilation,
        format: args.format,
        accept_broader: args.accept_broader,
        target: "nftables",
        artifact: "the ruleset",
        diagnostics: &lowering.diagnostics,
        summary: &lowering.summary,
        fields: json!({
            "names": lowering.mode,
            "resolved": lowering.resolved,
            "unresolved": lowering.unresolved,
            "exact": lowering.exact,
            "validation": lowering.validation.as_ref().map(|v| v.to_json()),
            "ruleset": lowering.json,
            "allowlist": lowering.allowlist.as_ref().map(|a| a.json.clone()),
        }),
    };
    crate::build::finish(report, || write_artifacts(args.out, &lowering))
}

/// Writes `nftables.nft`, `nftables.json`, `nftables.txt` and, in proxy
/// mode, `proxy-allowlist.txt` and `proxy-allowlist.json` into `out`.
fn write_artifacts(out: &Path, lowering: &NftLowering) -> Result<Vec<PathBuf>, String> {
    use crate::build::pretty;
    let mut files = vec![
        ("nftables.nft".to_owned(), lowering.text.clone()),
        ("nftables.json".to_owned(), pretty(&lowering.json)?),
        ("nftables.txt".to_owned(), lowering.summary.clone()),
    ];
    if let Some(list) = &lowering.allowlist {
        files.push(("proxy-allowlist.txt".to_owned(), list.text.clone()));
        files.push(("proxy-allowlist.json".to_owned(), pretty(&list.json)?));
    }
    crate::build::write_files(out, files)
}
