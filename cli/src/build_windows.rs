//! `corral build --target appcontainer|mxc`: the Windows arms of `build`
//! (a child module of `build.rs`, so that it reads the same arguments).

use std::path::{Path, PathBuf};

use corral_backend_windows::{Lowering, WindowsOptions, lower_to_appcontainer, lower_to_mxc};
use corral_compiler::Compilation;
use corral_compiler::ir::Policy;
use serde_json::json;

use super::{BuildArgs, Target};
use crate::common;

/// Builds for a Windows target; `None` when the target is another.
pub(super) fn run(args: &BuildArgs, policy: &Policy, compilation: &Compilation) -> Option<u8> {
    let target = match args.target {
        Target::Appcontainer => "appcontainer",
        Target::Mxc => "mxc",
        _ => return None,
    };
    if args.profile_dir.trim_end_matches('\\').is_empty() {
        return Some(common::usage_error("`--profile-dir` is empty"));
    }
    let options = WindowsOptions {
        drive: args.drive.to_ascii_uppercase(),
        profile_dir: args.profile_dir.clone(),
        lpac: args.lpac,
        timeout_ms: args.timeout_ms,
    };
    let home = &compilation.program.home;
    let lowering = match args.target {
        Target::Appcontainer => lower_to_appcontainer(policy, home, &options),
        _ => lower_to_mxc(policy, home, &options),
    };
    let artifact = format!("the {target} artifact");
    let report = super::Report {
        file: &args.file,
        policy,
        compilation,
        format: args.format,
        accept_broader: args.accept_broader,
        target,
        artifact: &artifact,
        diagnostics: &lowering.diagnostics,
        summary: &lowering.summary,
        fields: json!({
            "exact": lowering.exact,
            "validated": lowering.validated,
            "validation": lowering.validation,
            "config": lowering.artifact,
        }),
    };
    Some(super::finish(report, || write_artifacts(&args.out, target, &lowering)))
}

/// Writes `TARGET.json`, the scripts and `TARGET.txt` into `out`.
fn write_artifacts(out: &Path, target: &str, lowering: &Lowering) -> Result<Vec<PathBuf>, String> {
    let mut files = vec![(format!("{target}.json"), super::pretty(&lowering.artifact)?)];
    for (name, script) in &lowering.scripts {
        files.push(((*name).to_owned(), script.clone()));
    }
    files.push((format!("{target}.txt"), lowering.summary.clone()));
    super::write_files(out, files)
}
