//! The concrete evaluator: decides one access against one policy, and
//! names every rule that covers it (LANGUAGE.md §4).
//!
//! An access is permitted iff some `allow` covers it and no `deny` does;
//! everything else is denied. [`Evaluator`] answers through an index built
//! once per policy; [`decide_by_scan`] answers by looking at every rule and
//! is the reference the index is tested against. Both decide each rule
//! with the same `covers` functions below, so they can differ only in which
//! rules they look at.

pub mod access;
pub mod glob;
mod index;
pub mod matching;
pub mod sets;

use serde::Serialize;

pub use crate::ir::host::{BUILTIN_SETS as BUILTIN_HOST_SETS, builtin_set as builtin_host_set};
pub use access::{Access, AccessError};
pub use matching::{Host, path_segments};

use crate::ir::{
    BindRule, ConnectRule, Device, DeviceMode, DeviceRule, Effect, FileRule, Origin, Policy, Proto, Right,
};
use crate::source::{FileId, SourceSpan};
use index::PolicyIndex;

/// A rule of a policy, by kind and position in that kind's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum RuleRef {
    File(usize),
    Connect(usize),
    Bind(usize),
    Device(usize),
}

/// Returned for a [`RuleRef`] that does not belong to the policy, so that
/// a stale reference shows as unknown instead of aborting the program.
static UNKNOWN_ORIGIN: Origin =
    Origin { policy: String::new(), span: SourceSpan { file: FileId(0), start: 0, end: 0 }, readonly: false };

impl RuleRef {
    /// Where the rule came from. A reference that is out of range for
    /// `policy` gets an empty origin.
    pub fn origin<'a>(&self, policy: &'a Policy) -> &'a Origin {
        let origin = match *self {
            RuleRef::File(i) => policy.files.get(i).map(|r| &r.origin),
            RuleRef::Connect(i) => policy.connects.get(i).map(|r| &r.origin),
            RuleRef::Bind(i) => policy.binds.get(i).map(|r| &r.origin),
            RuleRef::Device(i) => policy.devices.get(i).map(|r| &r.origin),
        };
        origin.unwrap_or(&UNKNOWN_ORIGIN)
    }

    /// The rule's effect, or `None` when the reference is out of range.
    pub fn effect(&self, policy: &Policy) -> Option<Effect> {
        match *self {
            RuleRef::File(i) => policy.files.get(i).map(|r| r.effect),
            RuleRef::Connect(i) => policy.connects.get(i).map(|r| r.effect),
            RuleRef::Bind(i) => policy.binds.get(i).map(|r| r.effect),
            RuleRef::Device(i) => policy.devices.get(i).map(|r| r.effect),
        }
    }
}

/// The verdict on one access, with every rule of each effect that covers
/// it, in rule order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub permitted: bool,
    pub allows: Vec<RuleRef>,
    pub denies: Vec<RuleRef>,
}

impl Decision {
    /// The rules that decided the verdict: the covering denies when one
    /// overrides, the covering allows when permitted, and none when nothing
    /// covers the access (the default deny).
    pub fn deciding(&self) -> &[RuleRef] {
        if self.denies.is_empty() { &self.allows } else { &self.denies }
    }

    fn record(&mut self, effect: Effect, rule: RuleRef) {
        match effect {
            Effect::Allow => self.allows.push(rule),
            Effect::Deny => self.denies.push(rule),
        }
    }

    fn finish(mut self) -> Self {
        self.permitted = !self.allows.is_empty() && self.denies.is_empty();
        self
    }
}

fn file_covers(rule: &FileRule, right: Right, path: &[&str]) -> bool {
    rule.rights.contains(right) && rule.paths.contains_segments(path)
}

fn connect_covers(rule: &ConnectRule, proto: Proto, host: &Host, port: u16) -> bool {
    rule.protos.contains(proto) && rule.endpoints.contains_endpoint(host, port)
}

/// "May it listen at all" (no peer) is granted by an allow whatever its
/// `from`, since some peer is then accepted; it is refused only by a deny
/// without `from`, since a deny limited to some peers still leaves others.
/// With a peer, a rule covers when it has no `from` or the peer is in it.
fn bind_covers(rule: &BindRule, proto: Proto, port: u16, peer: Option<&Host>) -> bool {
    rule.protos.contains(proto)
        && rule.ports.contains_port(port)
        && match (peer, &rule.from) {
            (_, None) => true,
            (None, Some(_)) => rule.effect == Effect::Allow,
            (Some(peer), Some(from)) => from.contains_host(peer),
        }
}

fn device_covers(rule: &DeviceRule, device: Device, mode: DeviceMode) -> bool {
    rule.device == device && rule.modes.contains(&mode)
}

/// Decides `access` looking only at the rules of its kind listed in
/// `candidates` (ascending). `file_path` is the access's path, already
/// split, when it is a file access.
fn decide_among(
    policy: &Policy,
    access: &Access,
    file_path: Option<&[&str]>,
    candidates: impl IntoIterator<Item = usize>,
) -> Decision {
    let mut decision = Decision::default();
    for i in candidates {
        let covering = match access {
            Access::File { right, .. } => policy
                .files
                .get(i)
                .filter(|r| file_path.is_some_and(|path| file_covers(r, *right, path)))
                .map(|r| (r.effect, RuleRef::File(i))),
            Access::Connect { proto, host, port } => policy
                .connects
                .get(i)
                .filter(|r| connect_covers(r, *proto, host, *port))
                .map(|r| (r.effect, RuleRef::Connect(i))),
            Access::Bind { proto, port, peer } => policy
                .binds
                .get(i)
                .filter(|r| bind_covers(r, *proto, *port, peer.as_ref()))
                .map(|r| (r.effect, RuleRef::Bind(i))),
            Access::Device { device, mode } => policy
                .devices
                .get(i)
                .filter(|r| device_covers(r, *device, *mode))
                .map(|r| (r.effect, RuleRef::Device(i))),
        };
        if let Some((effect, rule)) = covering {
            decision.record(effect, rule);
        }
    }
    decision.finish()
}

/// Decides `access` by looking at every rule of its kind: the slow,
/// obviously complete reference for [`Evaluator::decide`].
pub fn decide_by_scan(policy: &Policy, access: &Access) -> Decision {
    match access {
        Access::File { path, .. } => match path_segments(path) {
            Some(segs) => decide_among(policy, access, Some(&segs), 0..policy.files.len()),
            // A malformed path is in no rule's set: default deny.
            None => Decision::default(),
        },
        Access::Connect { .. } => decide_among(policy, access, None, 0..policy.connects.len()),
        Access::Bind { .. } => decide_among(policy, access, None, 0..policy.binds.len()),
        Access::Device { .. } => decide_among(policy, access, None, 0..policy.devices.len()),
    }
}

/// Is `access` permitted by `policy`? A straight scan without an index;
/// build an [`Evaluator`] to decide many accesses.
pub fn is_permitted(policy: &Policy, access: &Access) -> bool {
    decide_by_scan(policy, access).permitted
}

/// Decides accesses against one policy, with indexes built once so that a
/// decision looks at a few candidate rules instead of all of them.
#[derive(Debug)]
pub struct Evaluator<'p> {
    policy: &'p Policy,
    index: PolicyIndex,
}

impl<'p> Evaluator<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        Evaluator { policy, index: PolicyIndex::new(policy) }
    }

    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    /// The verdict on `access` and every rule that covers it; the same as
    /// [`decide_by_scan`], faster.
    pub fn decide(&self, access: &Access) -> Decision {
        let policy = self.policy;
        match access {
            Access::File { path, .. } => match path_segments(path) {
                Some(segs) => {
                    let candidates = self.index.file_candidates(&segs);
                    decide_among(policy, access, Some(&segs), candidates)
                }
                None => Decision::default(),
            },
            Access::Connect { host, .. } => {
                decide_among(policy, access, None, self.index.connect_candidates(host))
            }
            Access::Bind { .. } => decide_among(policy, access, None, 0..policy.binds.len()),
            Access::Device { .. } => decide_among(policy, access, None, 0..policy.devices.len()),
        }
    }

    pub fn is_permitted(&self, access: &Access) -> bool {
        self.decide(access).permitted
    }
}
