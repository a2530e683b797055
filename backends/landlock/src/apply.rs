//! Applying a lowered ruleset (landlockconfig JSON) to the current process
//! with the `landlock` crate: one layer, `no_new_privs`.
//!
//! The kernel's ABI is probed first; an access, network right or scope the
//! kernel lacks is an error unless `best_effort`, in which case it is left
//! out and listed in [`Applied::not_enforced`].

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use serde_json::Value;

/// The outcome of [`apply`].
#[derive(Debug)]
pub struct Applied {
    /// The ABI the kernel enforces with (the highest both it and this build know).
    pub kernel_abi: u8,
    /// Features of the ruleset the kernel does not enforce (only with best effort).
    pub not_enforced: Vec<String>,
    /// Paths of the ruleset that no longer exist, or are now symbolic
    /// links: they were left out, which grants less (never more).
    pub skipped: Vec<String>,
}

/// Opens a ruleset path for a rule without following a symbolic link (a
/// path replaced by a link since the ruleset was built must not grant the
/// link's target). `None` when it is gone or is a link.
fn open_beneath(path: &str) -> Result<Option<std::fs::File>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path);
    match opened {
        Ok(file) => {
            let is_link = file
                .metadata()
                .map_err(|e| format!("cannot inspect `{path}`: {e}"))?
                .file_type()
                .is_symlink();
            Ok((!is_link).then_some(file))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // O_NOFOLLOW on a link without O_PATH would be ELOOP; with O_PATH
        // the link itself opens. Kept for kernels that differ.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Ok(None),
        Err(e) => Err(format!("cannot open `{path}`: {e}")),
    }
}

/// The filesystem access named in landlockconfig, and the ABI introducing it.
fn fs_access(name: &str) -> Option<(AccessFs, u8)> {
    Some(match name {
        "execute" => (AccessFs::Execute, 1),
        "write_file" => (AccessFs::WriteFile, 1),
        "read_file" => (AccessFs::ReadFile, 1),
        "read_dir" => (AccessFs::ReadDir, 1),
        "remove_dir" => (AccessFs::RemoveDir, 1),
        "remove_file" => (AccessFs::RemoveFile, 1),
        "make_char" => (AccessFs::MakeChar, 1),
        "make_dir" => (AccessFs::MakeDir, 1),
        "make_reg" => (AccessFs::MakeReg, 1),
        "make_sock" => (AccessFs::MakeSock, 1),
        "make_fifo" => (AccessFs::MakeFifo, 1),
        "make_block" => (AccessFs::MakeBlock, 1),
        "make_sym" => (AccessFs::MakeSym, 1),
        "refer" => (AccessFs::Refer, 2),
        "truncate" => (AccessFs::Truncate, 3),
        "ioctl_dev" => (AccessFs::IoctlDev, 5),
        _ => return None,
    })
}

fn net_access(name: &str) -> Option<AccessNet> {
    match name {
        "bind_tcp" => Some(AccessNet::BindTcp),
        "connect_tcp" => Some(AccessNet::ConnectTcp),
        _ => None,
    }
}

fn scope(name: &str) -> Option<Scope> {
    match name {
        "abstract_unix_socket" => Some(Scope::AbstractUnixSocket),
        "signal" => Some(Scope::Signal),
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Whether a ruleset using the features of ABI `n` can be created here.
fn supports(n: u8) -> bool {
    let abi = ABI::from(i32::from(n));
    let mut ruleset = match Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))
    {
        Ok(r) => r,
        Err(_) => return false,
    };
    if n >= 4 {
        ruleset = match ruleset.handle_access(AccessNet::from_all(abi)) {
            Ok(r) => r,
            Err(_) => return false,
        };
    }
    if n >= 6 {
        ruleset = match ruleset.scope(Scope::from_all(abi)) {
            Ok(r) => r,
            Err(_) => return false,
        };
    }
    ruleset.create().is_ok()
}

/// The highest Landlock feature level (1..=6) the running kernel supports,
/// or 0 when Landlock is unavailable. ABI 7 adds no access rights, so a
/// kernel at 7 probes as 6; [`apply`] reports the kernel's own ABI.
///
/// `CORRAL_LANDLOCK_MAX_ABI=N` caps the answer at N: it makes this kernel
/// look older, so that refusing a missing feature and `--best-effort` can
/// be exercised for real on a new kernel. It can only take features away;
/// without `--best-effort` a missing one is still refused.
pub fn probe_abi() -> u8 {
    let probed = (1..=6).rev().find(|n| supports(*n)).unwrap_or(0);
    let cap = std::env::var(MAX_ABI_VAR).ok().and_then(|v| v.parse::<u8>().ok());
    cap.map_or(probed, |c| probed.min(c))
}

/// The environment variable that caps [`probe_abi`].
pub const MAX_ABI_VAR: &str = "CORRAL_LANDLOCK_MAX_ABI";

/// What of a ruleset the kernel (at feature level `probed`) enforces.
#[derive(Debug)]
struct Plan {
    handled_fs: BitFlags<AccessFs>,
    handled_net: BitFlags<AccessNet>,
    scopes: BitFlags<Scope>,
    /// What the kernel lacks, in words.
    missing: Vec<String>,
}

/// Splits the ruleset's handled accesses into those the kernel enforces and
/// those it lacks; lacking any is an error unless `best_effort`.
fn plan(config: &Value, probed: u8, best_effort: bool) -> Result<Plan, String> {
    let mut missing = Vec::new();
    let ruleset = config.get("ruleset").and_then(|r| r.get(0)).cloned().unwrap_or(Value::Null);

    let mut handled_fs: BitFlags<AccessFs> = BitFlags::EMPTY;
    for name in strings(&ruleset["handledAccessFs"]) {
        match fs_access(name) {
            Some((a, min)) if min <= probed => handled_fs |= a,
            Some((_, min)) => missing.push(format!("filesystem access `{name}` (needs ABI {min})")),
            None => return Err(format!("unknown filesystem access `{name}` in the ruleset")),
        }
    }
    let mut handled_net: BitFlags<AccessNet> = BitFlags::EMPTY;
    for name in strings(&ruleset["handledAccessNet"]) {
        match net_access(name) {
            Some(a) if probed >= 4 => handled_net |= a,
            Some(_) => missing.push(format!("tcp `{name}` (needs ABI 4): every port is allowed")),
            None => return Err(format!("unknown network access `{name}` in the ruleset")),
        }
    }
    let mut scopes: BitFlags<Scope> = BitFlags::EMPTY;
    for name in strings(&ruleset["scoped"]) {
        match scope(name) {
            Some(s) if probed >= 6 => scopes |= s,
            Some(_) => missing.push(format!("scope `{name}` (needs ABI 6)")),
            None => return Err(format!("unknown scope `{name}` in the ruleset")),
        }
    }
    if !missing.is_empty() && !best_effort {
        return Err(format!(
            "the kernel's landlock (ABI {probed}) cannot enforce: {}; pass `--best-effort` to run anyway",
            missing.join("; ")
        ));
    }
    if handled_fs.is_empty() {
        return Err("the ruleset handles no filesystem access".to_owned());
    }
    Ok(Plan { handled_fs, handled_net, scopes, missing })
}

/// Applies `config` to the current process (and so to what it execs).
/// On error nothing has been restricted, unless the error says so.
pub fn apply(config: &Value, best_effort: bool) -> Result<Applied, String> {
    let probed = probe_abi();
    if probed == 0 {
        let msg = "landlock is not available on this kernel (not built in, or not enabled at boot)";
        return Err(msg.to_owned());
    }
    let Plan { handled_fs, handled_net, scopes, missing } = plan(config, probed, best_effort)?;

    let hard = |e: landlock::RulesetError| format!("cannot build the landlock ruleset: {e}");
    let mut attr = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(handled_fs)
        .map_err(hard)?;
    if !handled_net.is_empty() {
        attr = attr.handle_access(handled_net).map_err(hard)?;
    }
    if !scopes.is_empty() {
        attr = attr.scope(scopes).map_err(hard)?;
    }
    let mut created = attr.create().map_err(hard)?;
    let mut skipped = Vec::new();
    for rule in config["pathBeneath"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let access: BitFlags<AccessFs> = strings(&rule["allowedAccess"])
            .into_iter()
            .filter_map(fs_access)
            .map(|(a, _)| a)
            .fold(BitFlags::EMPTY, |acc, a| acc | a)
            & handled_fs;
        if access.is_empty() {
            continue;
        }
        for parent in strings(&rule["parent"]) {
            let Some(fd) = open_beneath(parent)? else {
                skipped.push(parent.to_owned());
                continue;
            };
            created = created
                .add_rule(PathBeneath::new(fd, access))
                .map_err(|e| format!("cannot add the rule for `{parent}`: {e}"))?;
        }
    }
    if !handled_net.is_empty() {
        for rule in config["netPort"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let access: BitFlags<AccessNet> = strings(&rule["allowedAccess"])
                .into_iter()
                .filter_map(net_access)
                .fold(BitFlags::EMPTY, |acc, a| acc | a)
                & handled_net;
            if access.is_empty() {
                continue;
            }
            for port in rule["port"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let port = port
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| format!("bad port `{port}` in the ruleset"))?;
                created = created
                    .add_rule(NetPort::new(port, access))
                    .map_err(|e| format!("cannot add the rule for port {port}: {e}"))?;
            }
        }
    }
    let status = created
        .no_new_privs(true)
        .restrict_self()
        .map_err(|e| format!("cannot apply the landlock ruleset: {e}"))?;
    if status.ruleset != RulesetStatus::FullyEnforced || !status.no_new_privs {
        // With hard requirements this is unreachable, but never run unconfined.
        return Err(format!("the landlock ruleset is not fully enforced ({:?})", status.ruleset));
    }
    let kernel_abi = match status.landlock {
        LandlockStatus::Available { kernel_abi: Some(v), .. } => u8::try_from(v).unwrap_or(u8::MAX),
        LandlockStatus::Available { effective_abi, .. } => effective_abi as u8,
        _ => probed,
    };
    // Under the cap of `probe_abi`, the kernel is as old as the cap says.
    let kernel_abi = match std::env::var(MAX_ABI_VAR).ok().and_then(|v| v.parse::<u8>().ok()) {
        Some(cap) => kernel_abi.min(cap),
        None => kernel_abi,
    };
    skipped.sort();
    skipped.dedup();
    Ok(Applied { kernel_abi, not_enforced: missing, skipped })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn config() -> Value {
        json!({ "abi": 6, "ruleset": [{
            "handledAccessFs": ["execute", "read_file", "refer", "truncate", "ioctl_dev"],
            "handledAccessNet": ["bind_tcp", "connect_tcp"],
            "scoped": ["abstract_unix_socket", "signal"],
        }]})
    }

    #[test]
    fn a_kernel_lacking_features_is_refused() {
        let err = plan(&config(), 3, false).unwrap_err();
        assert!(err.contains("`ioctl_dev` (needs ABI 5)"), "{err}");
        assert!(err.contains("tcp `connect_tcp` (needs ABI 4)"), "{err}");
        assert!(err.contains("scope `signal` (needs ABI 6)"), "{err}");
        assert!(err.contains("--best-effort"), "{err}");
    }

    #[test]
    fn best_effort_lists_what_is_not_enforced() {
        let p = plan(&config(), 2, true).unwrap();
        assert_eq!(p.handled_fs, AccessFs::Execute | AccessFs::ReadFile | AccessFs::Refer);
        assert!(p.handled_net.is_empty() && p.scopes.is_empty());
        assert_eq!(p.missing.len(), 6, "{:?}", p.missing);
        assert!(p.missing[0].contains("`truncate` (needs ABI 3)"), "{:?}", p.missing);
    }

    #[test]
    fn a_kernel_with_every_feature_needs_nothing() {
        let p = plan(&config(), 6, false).unwrap();
        assert!(p.missing.is_empty());
        assert_eq!(p.scopes, Scope::AbstractUnixSocket | Scope::Signal);
    }
}
