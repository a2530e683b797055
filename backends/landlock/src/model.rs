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
                if is_file {
                    let on_file: BTreeSet<Right> = rights
                        .iter()
                        .copied()
                        .filter(|r| matches!(r, Right::Read | Right::Write | Right::Exec))
                        .collect();
                    files.push(file_rule(&on_file, here));
                    continue;
                }
                if rights.contains(&Right::List) {
                    files.push(file_rule(
                        &BTreeSet::from([Right::List]),
                        Set::union([here, Set::Atom(below(&segs))]),
                    ));
                }
                let inside: BTreeSet<Right> = rights.iter().copied().filter(|r| *r != Right::List).collect();
                files.push(file_rule(&inside, Set::Atom(below(&segs))));
            }
        }
    }
    files.retain(|r| r.rights != Rights::default());

    let handled_net = strings(&config["ruleset"][0]["handledAccessNet"]);
    let ports = |access: &str| -> PortSet {
        if !handled_net.iter().any(|h| h == access) {
            return Set::Atom(PortRange::ALL);
        }
        let mut out = Vec::new();
        for rule in config["netPort"].as_array().into_iter().flatten() {
            if strings(&rule["allowedAccess"]).iter().any(|a| a == access) {
                for port in rule["port"].as_array().into_iter().flatten().filter_map(Value::as_u64) {
                    if let Ok(p) = u16::try_from(port) {
                        out.push(Set::Atom(PortRange { lo: p, hi: p }));
                    }
                }
            }
        }
        Set::union(out)
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
        name: format!("{name} (landlock model)"),
        docs: Vec::new(),
        span: SourceSpan::default(),
        extends: Vec::new(),
        within: None,
        files: files
            .into_iter()
            .map(|mut r| {
                r.origin = origin(name);
                r
            })
            .collect(),
        connects,
        binds,
        devices: Vec::new(),
        identity: None,
        isolation: None,
        timeout: None,
        proxy: None,
        assertions: Vec::new(),
        unsafe_allowed: Vec::new(),
    }
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
