//! The Windows backends: a policy of the IR lowered to what Windows
//! enforcement consumes.
//!
//! - `appcontainer` (`appcontainer.rs`): an AppContainer profile with its
//!   SID, capability SIDs, file ACEs, per-package firewall rules and the
//!   job object's UI limits, as a JSON manifest with a PowerShell script
//!   that applies it and one that reverts it;
//! - `mxc` (`mxc.rs`): a Microsoft Execution Containers `ContainerConfig`
//!   of version `0.8.0-alpha`.
//!
//! Both read only the IR. Neither has a file tree to resolve patterns
//! against, so each is validated symbolically (`validate.rs`): the artifact
//! is read back as a model policy, with Windows path semantics, and the
//! verifier searches for an access the artifact permits and the policy
//! denies (C3001, an error) or the reverse (C3002, a warning). Mappings and
//! gaps are documented in `docs/backends/appcontainer.md` and
//! `docs/backends/mxc.md`.

pub mod appcontainer;
pub mod files;
pub mod mxc;
pub mod net;
pub mod paths;
pub mod sid;
pub mod validate;

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::ir::{Policy, Tier};
use serde_json::Value;

pub use appcontainer::lower_to_appcontainer;
pub use mxc::lower_to_mxc;

/// Choices a Windows build takes besides the policy.
#[derive(Clone, Debug)]
pub struct WindowsOptions {
    /// The drive of absolute paths that name none (`/usr` → `C:\usr`).
    pub drive: char,
    /// The Windows directory `~` stands for; `%USERPROFILE%` by default,
    /// expanded when the artifact is applied.
    pub profile_dir: String,
    /// Least-privilege AppContainer: not a member of ALL APPLICATION
    /// PACKAGES (`S-1-15-2-1`), only of ALL RESTRICTED APPLICATION
    /// PACKAGES (`S-1-15-2-2`).
    pub lpac: bool,
    /// The solver's time per validation query, in milliseconds.
    pub timeout_ms: u32,
}

impl Default for WindowsOptions {
    fn default() -> Self {
        WindowsOptions {
            drive: 'C',
            profile_dir: paths::USERPROFILE.to_owned(),
            lpac: false,
            timeout_ms: 10_000,
        }
    }
}

/// The result of lowering one policy to a Windows target.
#[derive(Debug)]
pub struct Lowering {
    /// `appcontainer.json` or `mxc.json`.
    pub artifact: Value,
    /// For AppContainer: `apply.ps1` and `revert.ps1`.
    pub scripts: Vec<(&'static str, String)>,
    /// A short human summary of the artifact, its gaps and its validation.
    pub summary: String,
    pub diagnostics: Vec<Diagnostic>,
    /// The artifact permits exactly what the policy permits.
    pub exact: bool,
    /// Translation validation proved the artifact permits nothing the
    /// policy denies.
    pub validated: bool,
    /// The validation verdicts, for `--format json`.
    pub validation: Value,
}

/// The AppContainer profile name of a policy: from its identity
/// (`local "NAME"` → `corral.NAME`, `entra "T/APP"` → `corral.APP`), else
/// from the policy's name; characters other than ASCII letters, digits,
/// `.`, `-` and `_` become `-`, and the name is cut to 64 characters.
pub fn profile_name(policy: &Policy) -> String {
    use corral_compiler::ir::Identity;
    let base = match policy.identity.as_ref().map(|s| &s.value) {
        Some(Identity::Local { name }) => name.clone(),
        Some(Identity::Entra { app_id, .. }) => app_id.clone(),
        None => policy.name.clone(),
    };
    let clean: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '-' })
        .collect();
    format!("corral.{clean}").chars().take(sid::MAX_PROFILE_NAME).collect()
}

/// C3010 when the policy asks for more isolation than an AppContainer
/// process gives.
fn isolation_gap(policy: &Policy, target: &str) -> Option<Diagnostic> {
    let tier = policy.tier();
    if tier == Tier::Process {
        return None;
    }
    let mut d = Diagnostic::error(
        Code::WindowsIsolationWeaker,
        format!("the {target} artifact runs the agent in a process container, weaker than `isolation {}`", tier.keyword()),
    )
    .help("windows containers and virtual machines are not targets yet; lower the tier knowingly with `--accept-broader`");
    if let Some(s) = &policy.isolation {
        d = d.primary(s.origin.span, "the policy asks for this tier");
    }
    Some(d)
}

/// A C3003 warning pointing at file rules that were lowered in part.
fn partial_rules(policy: &Policy, partial: &[usize], target: &str) -> Option<Diagnostic> {
    if partial.is_empty() {
        return None;
    }
    let mut d = Diagnostic::warning(
        Code::ArtifactUnsupported,
        format!("{target} cannot name globs or set intersections; {} lowered in part", plural(partial.len(), "file rule")),
    )
    .help("an allow is left out where it cannot be named and a deny is not enforced; validation shows which accesses this changes")
    .note("windows ACLs and MXC path lists name literal paths and the trees beneath them");
    for &i in partial {
        if let Some(r) = policy.files.get(i) {
            d = d.secondary(r.origin.span, "not expressible in full");
        }
    }
    Some(d)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("{n} {word} is") } else { format!("{n} {word}s are") }
}
