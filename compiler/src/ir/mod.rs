//! The IR: a normalised, backend-neutral form of checked policies.
//!
//! Names are resolved, `~` and params are bound, `readonly` is expanded into
//! its allow and deny, and inherited rules and assertions are merged into
//! each policy. Every rule and assertion keeps the span of the source it
//! came from. The evaluator, the verifier and every backend read only this.

pub mod host;
pub mod path;

use std::fmt;

use serde::Serialize;

pub use corral_grammar::ast::{CmpOp, Device, Effect, Proto, Right};
pub use host::{Cidr, HostAtom};
pub use path::{GlobPart, PathPattern, Segment};

use crate::source::{SourceMap, SourceSpan};

/// A set built from atoms with union, intersection and difference.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Set<A> {
    Empty,
    Atom(A),
    Union(Vec<Set<A>>),
    Inter(Vec<Set<A>>),
    Diff(Box<Set<A>>, Box<Set<A>>),
}

impl<A> Set<A> {
    /// The union of `sets`, flattening nested unions and dropping empties.
    pub fn union(sets: impl IntoIterator<Item = Set<A>>) -> Set<A> {
        let mut out = Vec::new();
        for s in sets {
            match s {
                Set::Empty => {}
                Set::Union(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Set::Empty,
            1 => out.pop().unwrap_or(Set::Empty),
            _ => Set::Union(out),
        }
    }

    pub fn inter(sets: impl IntoIterator<Item = Set<A>>) -> Set<A> {
        let mut out = Vec::new();
        for s in sets {
            match s {
                Set::Inter(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Set::Empty,
            1 => out.pop().unwrap_or(Set::Empty),
            _ => Set::Inter(out),
        }
    }

    /// `a - b`; `(a - b) - c` is kept flat as `a - (b | c)`.
    pub fn diff(a: Set<A>, b: Set<A>) -> Set<A> {
        match (a, b) {
            (Set::Empty, _) => Set::Empty,
            (a, Set::Empty) => a,
            (Set::Diff(a, b), c) => Set::Diff(a, Box::new(Set::union([*b, c]))),
            (a, b) => Set::Diff(Box::new(a), Box::new(b)),
        }
    }

    /// Nesting depth of the expression (an atom is 1).
    pub fn depth(&self) -> usize {
        match self {
            Set::Empty | Set::Atom(_) => 1,
            Set::Union(v) | Set::Inter(v) => 1 + v.iter().map(Set::depth).max().unwrap_or(0),
            Set::Diff(a, b) => 1 + a.depth().max(b.depth()),
        }
    }

    /// Every atom of the expression, in order.
    pub fn atoms(&self) -> Vec<&A> {
        let mut out = Vec::new();
        self.collect_atoms(&mut out);
        out
    }

    fn collect_atoms<'a>(&'a self, out: &mut Vec<&'a A>) {
        match self {
            Set::Empty => {}
            Set::Atom(a) => out.push(a),
            Set::Union(v) | Set::Inter(v) => v.iter().for_each(|s| s.collect_atoms(out)),
            Set::Diff(a, b) => {
                a.collect_atoms(out);
                b.collect_atoms(out);
            }
        }
    }
}

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange { lo: 0, hi: u16::MAX };

    pub fn contains(self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ALL {
            f.write_str("*")
        } else if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}..{}", self.lo, self.hi)
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A set of (host, port) pairs: the product of a host set and a port set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct EndpointAtom {
    pub hosts: Set<HostAtom>,
    pub ports: Set<PortRange>,
}

pub type PathSet = Set<PathPattern>;
pub type HostSet = Set<HostAtom>;
pub type PortSet = Set<PortRange>;
pub type EndpointSet = Set<EndpointAtom>;

/// A set of file rights, as a bit mask over [`Right::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rights(pub u8);

impl Rights {
    pub fn of(right: Right) -> Rights {
        Rights(1 << right as u8)
    }

    pub fn all() -> Rights {
        Rights((1 << Right::ALL.len()) - 1)
    }

    pub fn contains(self, right: Right) -> bool {
        self.0 & Rights::of(right).0 != 0
    }

    pub fn with(self, right: Right) -> Rights {
        Rights(self.0 | Rights::of(right).0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Right> {
        Right::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

impl FromIterator<Right> for Rights {
    fn from_iter<I: IntoIterator<Item = Right>>(iter: I) -> Self {
        iter.into_iter().fold(Rights::default(), Rights::with)
    }
}

impl Serialize for Rights {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Right::keyword))
    }
}

/// `tcp`, `udp`, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Protos {
    pub tcp: bool,
    pub udp: bool,
}

impl Protos {
    pub const BOTH: Protos = Protos { tcp: true, udp: true };

    pub fn from_option(proto: Option<Proto>) -> Protos {
        match proto {
            None => Protos::BOTH,
            Some(Proto::Tcp) => Protos { tcp: true, udp: false },
            Some(Proto::Udp) => Protos { tcp: false, udp: true },
        }
    }

    pub fn contains(self, proto: Proto) -> bool {
        match proto {
            Proto::Tcp => self.tcp,
            Proto::Udp => self.udp,
        }
    }
}

/// The mode of a device access. Devices without modes (camera, …) have the
/// single mode `Use`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceMode {
    Read,
    Write,
    Capture,
    Inject,
    Use,
}

impl DeviceMode {
    /// The modes a device has: clipboard read/write, screen capture, input
    /// inject, and `Use` for the others.
    pub fn modes_of(device: Device) -> &'static [DeviceMode] {
        match device {
            Device::Clipboard => &[DeviceMode::Read, DeviceMode::Write],
            Device::Screen => &[DeviceMode::Capture],
            Device::Input => &[DeviceMode::Inject],
            _ => &[DeviceMode::Use],
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            DeviceMode::Read => "read",
            DeviceMode::Write => "write",
            DeviceMode::Capture => "capture",
            DeviceMode::Inject => "inject",
            DeviceMode::Use => "use",
        }
    }

    pub fn from_keyword(word: &str) -> Option<DeviceMode> {
        Some(match word {
            "read" => DeviceMode::Read,
            "write" => DeviceMode::Write,
            "capture" => DeviceMode::Capture,
            "inject" => DeviceMode::Inject,
            _ => return None,
        })
    }
}

/// Where a rule or assertion came from: the policy that declared it (which
/// differs from the policy holding it when inherited) and its span.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    pub policy: String,
    pub span: SourceSpan,
    /// True when the rule is one half of a `readonly`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub readonly: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileRule {
    pub effect: Effect,
    pub rights: Rights,
    pub paths: PathSet,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConnectRule {
    pub effect: Effect,
    pub protos: Protos,
    pub endpoints: EndpointSet,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BindRule {
    pub effect: Effect,
    pub protos: Protos,
    pub ports: PortSet,
    /// Peers a connection may come from; `None` is every peer.
    pub from: Option<HostSet>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceRule {
    pub effect: Effect,
    pub device: Device,
    /// The modes covered; every mode of the device when the rule names none.
    pub modes: Vec<DeviceMode>,
    pub origin: Origin,
}

/// The isolation tier, ordered weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Process,
    Container,
    Microvm,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Process, Tier::Container, Tier::Microvm];

    pub fn keyword(self) -> &'static str {
        match self {
            Tier::Process => "process",
            Tier::Container => "container",
            Tier::Microvm => "microvm",
        }
    }

    pub fn from_keyword(word: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.keyword() == word)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Identity {
    Local { name: String },
    Entra { tenant: String, app_id: String },
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Local { name } => write!(f, "local \"{name}\""),
            Identity::Entra { tenant, app_id } => write!(f, "entra \"{tenant}/{app_id}\""),
        }
    }
}

/// A scalar setting with the span it was declared at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// What a quantified formula or an access speaks about.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessSet {
    Files { rights: Rights, paths: PathSet },
    Connect { protos: Protos, endpoints: EndpointSet },
    Bind { protos: Protos, ports: PortSet, from: Option<HostSet> },
    Device { device: Device, modes: Vec<DeviceMode> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    Can,
    Never,
    Only,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Formula {
    pub kind: FormulaKind,
    pub span: SourceSpan,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormulaKind {
    Access {
        quantifier: Quantifier,
        set: AccessSet,
    },
    Isolation {
        op: CmpOp,
        tier: Tier,
    },
    Not(Box<Formula>),
    And(Vec<Formula>),
    Or(Vec<Formula>),
    /// `a implies b implies c`, right-associative: `a implies (b implies c)`;
    /// kept flat so that long chains build no deep tree.
    Implies(Vec<Formula>),
    Bool(bool),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assertion {
    pub name: Option<String>,
    pub formula: Formula,
    pub because: Option<String>,
    pub origin: Origin,
}

/// A built-in safety check (LANGUAGE.md §5), run on every policy unless the
/// policy opts out of it by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetyCheck {
    /// Write, create or delete on `std.persistence` files.
    Persistence,
    /// Read of `std.secrets` together with connect to `internet`.
    Exfiltration,
    /// Exec of files the agent can write or create, below isolation `container`.
    ExecWritable,
}

impl SafetyCheck {
    pub const ALL: [SafetyCheck; 3] =
        [SafetyCheck::Persistence, SafetyCheck::Exfiltration, SafetyCheck::ExecWritable];

    /// The name used in `allow unsafe NAME`.
    pub fn keyword(self) -> &'static str {
        match self {
            SafetyCheck::Persistence => "persistence",
            SafetyCheck::Exfiltration => "exfiltration",
            SafetyCheck::ExecWritable => "exec_writable",
        }
    }

    pub fn from_keyword(word: &str) -> Option<SafetyCheck> {
        SafetyCheck::ALL.into_iter().find(|c| c.keyword() == word)
    }
}

/// `allow unsafe CHECK because "REASON"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnsafeOptOut {
    pub check: SafetyCheck,
    pub because: String,
    pub origin: Origin,
}

/// One policy with everything it inherits merged in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    pub name: String,
    pub docs: Vec<String>,
    pub span: SourceSpan,
    /// Every ancestor through `extends`, nearest first.
    pub extends: Vec<String>,
    /// `within PARENT`: the policy this one must stay inside.
    pub within: Option<String>,
    pub files: Vec<FileRule>,
    pub connects: Vec<ConnectRule>,
    pub binds: Vec<BindRule>,
    pub devices: Vec<DeviceRule>,
    pub identity: Option<Setting<Identity>>,
    /// `None` means the default tier, `process`.
    pub isolation: Option<Setting<Tier>>,
    /// In milliseconds.
    pub timeout: Option<Setting<u64>>,
    pub proxy: Option<Setting<String>>,
    pub assertions: Vec<Assertion>,
    /// Safety checks this policy (or an ancestor) opts out of.
    pub unsafe_allowed: Vec<UnsafeOptOut>,
}

impl Policy {
    /// A policy with no rules, settings or assertions: everything denied.
    /// Backends build the model of an artifact from it, rule by rule.
    pub fn new(name: impl Into<String>, span: SourceSpan) -> Policy {
        Policy {
            name: name.into(),
            docs: Vec::new(),
            span,
            extends: Vec::new(),
            within: None,
            files: Vec::new(),
            connects: Vec::new(),
            binds: Vec::new(),
            devices: Vec::new(),
            identity: None,
            isolation: None,
            timeout: None,
            proxy: None,
            assertions: Vec::new(),
            unsafe_allowed: Vec::new(),
        }
    }

    /// The opt-out of `check`, if the policy has one.
    pub fn opt_out(&self, check: SafetyCheck) -> Option<&UnsafeOptOut> {
        self.unsafe_allowed.iter().find(|o| o.check == check)
    }

    /// The effective isolation tier.
    pub fn tier(&self) -> Tier {
        self.isolation.as_ref().map_or(Tier::Process, |s| s.value)
    }
}

/// Every policy of the checked files, with the files their spans point into.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Program {
    /// The home directory `~` was bound to.
    pub home: String,
    pub files: SourceMap,
    /// Sorted by name.
    pub policies: Vec<Policy>,
}

impl Program {
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }
}
