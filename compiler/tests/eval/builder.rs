//! Hand-built IR policies for the evaluator tests, so that each test reads
//! as the rules it is about.

use corral_compiler::eval::{Access, Decision, Evaluator, decide_by_scan};
use corral_compiler::ir::{
    BindRule, ConnectRule, Device, DeviceMode, DeviceRule, Effect, EndpointAtom, FileRule, HostAtom, HostSet,
    Origin, PathPattern, PathSet, Policy, PortRange, PortSet, Proto, Protos, Right, Rights, Set,
};

pub const HOME: &str = "/home/u";

pub fn origin() -> Origin {
    Origin { policy: "p".into(), span: Default::default(), readonly: false }
}

/// One path literal, `~` bound to [`HOME`].
pub fn path(s: &str) -> PathSet {
    Set::Atom(PathPattern::parse(s, HOME).unwrap())
}

/// `under "s"` as the compiler lowers it: `s | s/**`.
pub fn under(s: &str) -> PathSet {
    let below = if s == "/" { "/**".to_owned() } else { format!("{s}/**") };
    Set::union([path(s), path(&below)])
}

pub fn host(s: &str) -> HostSet {
    Set::Atom(HostAtom::parse(s).unwrap())
}

pub fn hosts(list: &[&str]) -> HostSet {
    Set::union(list.iter().map(|s| host(s)))
}

pub fn port(p: u16) -> PortSet {
    Set::Atom(PortRange { lo: p, hi: p })
}

pub fn ports(lo: u16, hi: u16) -> PortSet {
    Set::Atom(PortRange { lo, hi })
}

pub fn any_port() -> PortSet {
    Set::Atom(PortRange::ALL)
}

pub fn endpoint(hosts: HostSet, ports: PortSet) -> Set<EndpointAtom> {
    Set::Atom(EndpointAtom { hosts, ports })
}

/// `"read, write"` → the rights named.
pub fn rights(list: &str) -> Rights {
    list.split(',').map(|w| Right::ALL.into_iter().find(|r| r.keyword() == w.trim()).unwrap()).collect()
}

pub fn empty_policy() -> Policy {
    Policy::new("p", Default::default())
}

/// Builds a policy rule by rule; each method takes the rule's effect first.
pub struct PolicyBuilder(pub Policy);

pub use Effect::{Allow, Deny};

impl PolicyBuilder {
    pub fn new() -> Self {
        PolicyBuilder(empty_policy())
    }

    pub fn file(mut self, effect: Effect, rights_list: &str, paths: PathSet) -> Self {
        let rights = rights(rights_list);
        self.0.files.push(FileRule { effect, rights, paths, origin: origin() });
        self
    }

    pub fn connect(mut self, effect: Effect, proto: Option<Proto>, endpoints: Set<EndpointAtom>) -> Self {
        let protos = Protos::from_option(proto);
        self.0.connects.push(ConnectRule { effect, protos, endpoints, origin: origin() });
        self
    }

    pub fn bind(
        mut self,
        effect: Effect,
        proto: Option<Proto>,
        ports: PortSet,
        from: Option<HostSet>,
    ) -> Self {
        let protos = Protos::from_option(proto);
        self.0.binds.push(BindRule { effect, protos, ports, from, origin: origin() });
        self
    }

    /// `mode: None` is a rule that names no mode: every mode of the device.
    pub fn device(mut self, effect: Effect, device: Device, mode: Option<DeviceMode>) -> Self {
        let modes = match mode {
            Some(m) => vec![m],
            None => DeviceMode::modes_of(device).to_vec(),
        };
        self.0.devices.push(DeviceRule { effect, device, modes, origin: origin() });
        self
    }

    pub fn build(self) -> Policy {
        self.0
    }
}

/// Decides `access` with the indexed evaluator, checking that the straight
/// scan agrees.
pub fn decide(policy: &Policy, access: &str) -> Decision {
    let access = Access::parse(access, HOME).unwrap();
    let indexed = Evaluator::new(policy).decide(&access);
    assert_eq!(indexed, decide_by_scan(policy, &access), "index and scan disagree on `{access}`");
    indexed
}

pub fn permitted(policy: &Policy, access: &str) -> bool {
    decide(policy, access).permitted
}
