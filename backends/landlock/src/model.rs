//! The emitted ruleset read back as a Corral policy: the *model* that
//! translation validation compares with the policy, and that the
//! real-kernel tests compare with the kernel.
//!
//! The model follows Landlock's semantics (landlock(7)) for the accesses a
//! ruleset handles:
//! - a `pathBeneath` rule on a directory grants `read_dir` on it and on
//!   every directory below, and its other accesses on every entry strictly
//!   below (files are read, written and run; entries are made and removed
//!   inside it);
//! - a rule on a file grants its accesses on that file only;
//! - a file runs only where `execute` and `read_file` are both granted
//!   (execve opens it for reading too), by the same rule or by two;
//! - an access the ruleset does not handle is allowed everywhere (for
//!   example truncation below ABI 3); `ioctl_dev` (ABI 5) is not a Corral
//!   right, so leaving it unhandled below ABI 5 widens nothing here;
//! - a TCP port rule grants the port to every host.
//!
//! A Corral right is in the model when *any* Landlock access that stands
//! for it is granted (for `write`: `write_file` or `truncate`), which is
//! what an over-approximation check needs. UDP and devices are outside what
//! Landlock mediates; the model leaves them out and the backend reports
//! them as unsupported.

use std::collections::BTreeSet;
use std::path::Path;

use corral_compiler::ir::{
    BindRule, ConnectRule, Effect, EndpointAtom, FileRule, Origin, PathPattern, Policy, PortRange, PortSet,
    Protos, Right, Rights, Segment, Set,
};
use corral_compiler::source::SourceSpan;
use serde_json::Value;

use crate::access::{access_rights, right_accesses};

/// TCP only: what Landlock's network rules speak about.
const TCP: Protos = Protos { tcp: true, udp: false };

/// Reads `config` (landlockconfig JSON, as emitted) back as a policy named
/// `NAME (landlock model)`. Paths are resolved against `root` to tell files
/// from directories; a path that is missing there counts as a directory,
/// which grants more.
pub fn model(config: &Value, root: &Path, name: &str) -> Policy {
    let mut files = Vec::new();
    let handled = strings(&config["ruleset"][0]["handledAccessFs"]);
    // Accesses the ruleset leaves unhandled are allowed on every path.
    let unhandled: BTreeSet<Right> = Right::ALL
        .into_iter()
        .filter(|r| right_accesses(*r).iter().any(|a| *a != "ioctl_dev" && !handled.iter().any(|h| h == a)))
        .collect();
    if !unhandled.is_empty() {
        files
            .push(file_rule(&unhandled, Set::union([Set::Atom(PathPattern::root()), Set::Atom(below(&[]))])));
    }
    // Where `execute` and `read_file` are granted: Landlock's execve needs
    // both (the file is opened for reading and for execution).
    let mut exec_at = Vec::new();
    let mut read_at = Vec::new();
    if let Some(rules) = config["pathBeneath"].as_array() {
        for rule in rules {
            let rights: BTreeSet<Right> =
                strings(&rule["allowedAccess"]).iter().flat_map(|a| access_rights(a)).collect();
            for parent in strings(&rule["parent"]) {
                let segs: Vec<String> =
                    parent.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                let fs = root.join(parent.trim_start_matches('/'));
                let is_file = std::fs::symlink_metadata(&fs).is_ok_and(|m| !m.is_dir());
                let here = Set::Atom(literal(&segs));
                let inside_paths = if is_file { here.clone() } else { Set::Atom(below(&segs)) };
                if rights.contains(&Right::Exec) {
                    exec_at.push(inside_paths.clone());
                }
                if rights.contains(&Right::Read) {
                    read_at.push(inside_paths);
                }
                if is_file {
                    let on_file: BTreeSet<Right> =
                        rights.iter().copied().filter(|r| matches!(r, Right::Read | Right::Write)).collect();
                    files.push(file_rule(&on_file, here));
                    continue;
                }
                if rights.contains(&Right::List) {
                    files.push(file_rule(
                        &BTreeSet::from([Right::List]),
                        Set::union([here, Set::Atom(below(&segs))]),
                    ));
                }
                let inside: BTreeSet<Right> =
                    rights.iter().copied().filter(|r| !matches!(r, Right::List | Right::Exec)).collect();
                files.push(file_rule(&inside, Set::Atom(below(&segs))));
            }
        }
    }
    if unhandled.contains(&Right::Exec) {
        // Unhandled: allowed everywhere already (rule above).
    } else if !exec_at.is_empty() {
        let readable = if unhandled.contains(&Right::Read) {
            Set::union([Set::Atom(PathPattern::root()), Set::Atom(below(&[]))])
        } else {
            Set::union(read_at)
        };
        files.push(file_rule(&BTreeSet::from([Right::Exec]), Set::inter([Set::union(exec_at), readable])));
    }
    files.retain(|r| r.rights != Rights::default());

    let handled_net = strings(&config["ruleset"][0]["handledAccessNet"]);
    let ports = |access: &str| -> PortSet {
        if !handled_net.iter().any(|h| h == access) {
            return Set::Atom(PortRange::ALL);
        }
        let mut ports = Vec::new();
        for rule in config["netPort"].as_array().into_iter().flatten() {
            if strings(&rule["allowedAccess"]).iter().any(|a| a == access) {
                ports.extend(
                    rule["port"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .filter_map(|p| u16::try_from(p).ok()),
                );
            }
        }
        port_ranges(ports)
    };
    let any_host = || {
        Set::union([
            Set::Atom(corral_compiler::ir::HostAtom::AnyName),
            Set::Atom(corral_compiler::ir::HostAtom::AnyAddr),
        ])
    };
    let connects = vec![ConnectRule {
        effect: Effect::Allow,
        protos: TCP,
        endpoints: Set::Atom(EndpointAtom { hosts: any_host(), ports: ports("connect_tcp") }),
        origin: origin(name),
    }];
    let binds = vec![BindRule {
        effect: Effect::Allow,
        protos: TCP,
        ports: ports("bind_tcp"),
        from: None,
        origin: origin(name),
    }];

    Policy {
        files: files
            .into_iter()
            .map(|mut r| {
                r.origin = origin(name);
                r
            })
            .collect(),
        connects,
        binds,
        ..Policy::new(format!("{name} (landlock model)"), SourceSpan::default())
    }
}

/// Ports as a union of maximal ranges (a rule per port would make one
/// solver atom per port: 64 512 for `1024..65535`).
pub(crate) fn port_ranges(mut ports: Vec<u16>) -> PortSet {
    ports.sort_unstable();
    ports.dedup();
    let mut ranges: Vec<PortRange> = Vec::new();
    for p in ports {
        match ranges.last_mut() {
            Some(r) if u32::from(r.hi) + 1 == u32::from(p) => r.hi = p,
            _ => ranges.push(PortRange { lo: p, hi: p }),
        }
    }
    Set::union(ranges.into_iter().map(Set::Atom))
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

/// The pattern that matches exactly `path` (an absolute policy path).
pub(crate) fn literal_path(path: &str) -> PathPattern {
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    literal(&segs)
}

/// The pattern of everything strictly below `path`.
pub(crate) fn below_path(path: &str) -> PathPattern {
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    below(&segs)
}

fn literal(segs: &[String]) -> PathPattern {
    PathPattern { segments: segs.iter().map(|s| Segment::Literal(s.clone())).collect() }
}

/// Everything strictly below `segs`.
fn below(segs: &[String]) -> PathPattern {
    let mut p = literal(segs);
    p.segments.push(Segment::AnyDepth);
    p
}

fn file_rule(rights: &BTreeSet<Right>, paths: Set<PathPattern>) -> FileRule {
    let bits = rights.iter().fold(Rights::default(), |acc, r| Rights(acc.0 | Rights::of(*r).0));
    FileRule { effect: Effect::Allow, rights: bits, paths, origin: origin("") }
}

fn origin(policy: &str) -> Origin {
    Origin { policy: policy.to_owned(), span: SourceSpan::default(), readonly: false }
}
