//! Membership of concrete accesses in the IR's access sets and rules: what
//! the verifier replays every SMT witness through, so that a witness is only
//! ever shown after the concrete semantics agreed with it.
//!
//! Rule coverage reuses the evaluator's own `covers` functions, so "rule X
//! covers access a" here is exactly what [`super::decide_by_scan`] decides.

use super::matching::path_segments;
use super::{Access, RuleRef, bind_covers, connect_covers, device_covers, file_covers};
use crate::ir::{AccessSet, Policy, Right};

impl AccessSet {
    /// Is `access` in the set? A file access is in `Files { rights, paths }`
    /// when its right is one of `rights` and its path one of `paths` (a
    /// malformed path is in no set); a connect access when its protocol is
    /// one of `protos` and (host, port) one of `endpoints`. A bind access is
    /// in `Bind { protos, ports, from }` when its protocol and port are in
    /// the set and, when `from` is given, it has a peer and the peer is in
    /// `from`; without `from` every bind access on those ports is in it,
    /// with or without a peer. A device access when device and mode match.
    /// An access of another kind is never in the set.
    pub fn contains(&self, access: &Access) -> bool {
        match (self, access) {
            (AccessSet::Files { rights, paths }, Access::File { right, path }) => {
                rights.contains(*right) && paths.contains_path(path)
            }
            (AccessSet::Connect { protos, endpoints }, Access::Connect { proto, host, port }) => {
                protos.contains(*proto) && endpoints.contains_endpoint(host, *port)
            }
            (AccessSet::Bind { protos, ports, from }, Access::Bind { proto, port, peer }) => {
                protos.contains(*proto)
                    && ports.contains_port(*port)
                    && match (from, peer) {
                        (None, _) => true,
                        (Some(from), Some(peer)) => from.contains_host(peer),
                        (Some(_), None) => false,
                    }
            }
            (AccessSet::Device { device, modes }, Access::Device { device: d, mode }) => {
                device == d && modes.contains(mode)
            }
            _ => false,
        }
    }
}

/// Does `rule` of `policy` cover `access`, exactly as the evaluator decides
/// it (bind peers included)? A rule of another kind than the access, or a
/// reference out of range, covers nothing.
pub fn rule_covers(policy: &Policy, rule: RuleRef, access: &Access) -> bool {
    match (rule, access) {
        (RuleRef::File(i), Access::File { right, path }) => {
            let Some(rule) = policy.files.get(i) else { return false };
            path_segments(path).is_some_and(|segs| file_covers(rule, *right, &segs))
        }
        (RuleRef::Connect(i), Access::Connect { proto, host, port }) => {
            policy.connects.get(i).is_some_and(|r| connect_covers(r, *proto, host, *port))
        }
        (RuleRef::Bind(i), Access::Bind { proto, port, peer }) => {
            policy.binds.get(i).is_some_and(|r| bind_covers(r, *proto, *port, peer.as_ref()))
        }
        (RuleRef::Device(i), Access::Device { device, mode }) => {
            policy.devices.get(i).is_some_and(|r| device_covers(r, *device, *mode))
        }
        _ => false,
    }
}

/// `access` with its file right replaced by `right`: the same resource
/// asked about with another right. Accesses of other kinds are returned
/// unchanged.
pub fn with_right(access: &Access, right: Right) -> Access {
    match access {
        Access::File { path, .. } => Access::File { right, path: path.clone() },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::{Options, compile_source};

    fn policy(body: &str) -> Policy {
        let text = format!("policy p {{\n{body}\n}}\n");
        let compiled = compile_source("p.corral", &text, None, &Options::default());
        assert!(!compiled.has_errors(), "{:#?}", compiled.diagnostics);
        compiled.program.policies.into_iter().next().unwrap()
    }

    fn access(text: &str) -> Access {
        Access::parse(text, "/home/u").unwrap()
    }

    #[test]
    fn rule_coverage_is_the_evaluators() {
        let p = policy("allow bind tcp 8000..8999 from \"10.0.0.0/8\"\ndeny bind tcp 8080 from \"10.0.0.1\"");
        assert!(rule_covers(&p, RuleRef::Bind(0), &access("bind tcp 8080")));
        assert!(!rule_covers(&p, RuleRef::Bind(1), &access("bind tcp 8080")));
        assert!(rule_covers(&p, RuleRef::Bind(1), &access("bind tcp 8080 from 10.0.0.1")));
        assert!(!rule_covers(&p, RuleRef::Bind(0), &access("bind tcp 8080 from 192.0.2.1")));
        assert!(!rule_covers(&p, RuleRef::File(0), &access("read /x")));
        assert!(!rule_covers(&p, RuleRef::Bind(7), &access("bind tcp 8080")));
    }

    #[test]
    fn bind_sets_without_from_hold_every_peer() {
        let p = policy("allow bind tcp 8080\nallow bind udp 53 from \"10.0.0.0/8\"");
        let all = AccessSet::Bind { protos: p.binds[0].protos, ports: p.binds[0].ports.clone(), from: None };
        let from = AccessSet::Bind {
            protos: p.binds[1].protos,
            ports: p.binds[1].ports.clone(),
            from: p.binds[1].from.clone(),
        };
        assert!(all.contains(&access("bind tcp 8080")));
        assert!(all.contains(&access("bind tcp 8080 from 192.0.2.1")));
        assert!(!all.contains(&access("bind udp 8080")));
        assert!(from.contains(&access("bind udp 53 from 10.1.2.3")));
        assert!(!from.contains(&access("bind udp 53")));
        assert!(!from.contains(&access("read /x")));
    }
}
