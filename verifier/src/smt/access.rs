//! The variables of one access and what the IR says about them: membership
//! in access sets, rule coverage, and the decision of LANGUAGE.md §4 (some
//! allow covers, no deny covers), mirroring `corral_compiler::eval`.
//!
//! - file: a right (3-bit bit-vector, the index in `Right::ALL`) and a path
//!   (string);
//! - connect: `udp` (Boolean; false is tcp), a host, a port (16 bits);
//! - bind: `udp`, a port, `has_peer` and a peer host;
//! - device: the device (index in `Device::ALL`) and the mode (index in
//!   [`MODES`]).

use std::collections::{BTreeSet, HashMap};

use corral_compiler::eval::matching::path_segments;
use corral_compiler::eval::{Access, Host, RuleRef};
use corral_compiler::ir::{
    AccessSet, Device, DeviceMode, Effect, EndpointAtom, GlobPart, HostAtom, HostSet, PathPattern, PathSet,
    Policy, PortRange, PortSet, Protos, Right, Rights, Segment, Set,
};
use z3::ast::{BV, Bool, String as ZString};

use super::F;
use super::hosts::{HostVar, NameSpace};
use super::paths::{PathAlphabet, PathEncoder};
use crate::query::{Kind, Literal, Query};
use crate::relevance::{self, PathCover};

/// Device modes by their index in the encoding.
pub(crate) const MODES: [DeviceMode; 5] =
    [DeviceMode::Read, DeviceMode::Write, DeviceMode::Capture, DeviceMode::Inject, DeviceMode::Use];

/// The variables of the one access a query looks for.
#[derive(Debug)]
pub(crate) enum Vars {
    File { right: BV, path: ZString },
    Connect { udp: Bool, host: HostVar, port: BV },
    Bind { udp: Bool, port: BV, has_peer: Bool, peer: HostVar },
    Device { device: BV, mode: BV },
}

/// Which host of an access a host set speaks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Which {
    Target,
    Peer,
}

/// Builds the formula of one query. Encodings of atoms and of rule sets
/// are built once and shared by every literal that mentions them.
pub(crate) struct Encoder<'q> {
    pub(crate) vars: Vars,
    pub(crate) paths: Option<PathEncoder>,
    pub(crate) names: NameSpace,
    /// File rights a witness can have, from the positive literals.
    rights: Rights,
    path_atoms: HashMap<&'q PathPattern, F>,
    /// Encoded sets, by address: a rule's set is shared by its rights.
    path_sets: HashMap<usize, F>,
    host_atoms: HashMap<(Which, &'q HostAtom), F>,
    endpoint_atoms: HashMap<&'q EndpointAtom, F>,
    path_covers: Vec<PathCover<'q>>,
    endpoint_covers: Vec<Vec<&'q EndpointAtom>>,
    pub(crate) stats: Stats,
}

/// How much of the IR a query encoded, for benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Atoms encoded for z3.
    pub atoms: usize,
    /// Atoms found irrelevant and replaced by `false`.
    pub dropped: usize,
    /// Path states a file search visited.
    pub states: usize,
    /// The file query's Boolean skeleton alone was unsatisfiable.
    pub skeleton_unsat: bool,
}

fn right_index(right: Right) -> u64 {
    Right::ALL.iter().position(|r| *r == right).unwrap_or(0) as u64
}

fn device_index(device: Device) -> u64 {
    Device::ALL.iter().position(|d| *d == device).unwrap_or(0) as u64
}

fn mode_index(mode: DeviceMode) -> u64 {
    MODES.iter().position(|m| *m == mode).unwrap_or(0) as u64
}

/// Every character of the literal parts of `pattern`.
fn pattern_chars(pattern: &PathPattern, out: &mut BTreeSet<char>) {
    fn parts(glob: &[GlobPart], out: &mut BTreeSet<char>) {
        for part in glob {
            match part {
                GlobPart::Literal(l) => out.extend(l.chars()),
                GlobPart::Alternatives(alts) => alts.iter().for_each(|a| parts(a, out)),
                GlobPart::Star | GlobPart::Question => {}
            }
        }
    }
    for seg in &pattern.segments {
        match seg {
            Segment::Literal(l) => out.extend(l.chars()),
            Segment::Glob(g) => parts(g, out),
            Segment::AnyDepth => {}
        }
    }
}

/// The file rules of `policy` with one of `rights`.
fn file_rules(policy: &Policy, rights: Rights) -> impl Iterator<Item = &corral_compiler::ir::FileRule> {
    policy.files.iter().filter(move |r| r.rights.0 & rights.0 != 0)
}

impl<'q> Encoder<'q> {
    /// Prepares the variables, the alphabet and the relevance filter of
    /// `query`. With `prefilter` off every atom is encoded.
    pub(crate) fn new(query: &Query<'q>, prefilter: bool) -> Result<Self, String> {
        let rights = query.possible_rights();
        let names = query_names(query);
        let vars = match query.kind {
            Kind::File => Vars::File { right: BV::new_const("right", 3), path: ZString::new_const("path") },
            Kind::Connect => Vars::Connect {
                udp: Bool::new_const("udp"),
                host: HostVar::new("host", &names),
                port: BV::new_const("port", 16),
            },
            Kind::Bind => Vars::Bind {
                udp: Bool::new_const("udp"),
                port: BV::new_const("port", 16),
                has_peer: Bool::new_const("has_peer"),
                peer: HostVar::new("peer", &names),
            },
            Kind::Device => {
                Vars::Device { device: BV::new_const("device", 4), mode: BV::new_const("mode", 3) }
            }
        };
        let paths = if query.kind == Kind::File {
            let alphabet = PathAlphabet::new(&query_chars(query));
            if alphabet.overflow {
                return Err("the query uses more distinct rare characters than z3 can represent".into());
            }
            Some(PathEncoder::new(alphabet))
        } else {
            None
        };
        let mut encoder = Encoder {
            vars,
            paths,
            names,
            rights,
            path_atoms: HashMap::new(),
            path_sets: HashMap::new(),
            host_atoms: HashMap::new(),
            endpoint_atoms: HashMap::new(),
            path_covers: Vec::new(),
            endpoint_covers: Vec::new(),
            stats: Stats::default(),
        };
        if prefilter {
            encoder.build_covers(query);
        }
        Ok(encoder)
    }

    /// Covers of the positive literals (see `relevance`).
    fn build_covers(&mut self, query: &Query<'q>) {
        for lit in &query.literals {
            match (query.kind, lit) {
                (Kind::File, Literal::In(AccessSet::Files { paths, .. })) => {
                    self.path_covers.push(PathCover::new(relevance::cover(paths)));
                }
                (Kind::File, Literal::Covered { policy, rule: RuleRef::File(i) }) => {
                    if let Some(rule) = policy.files.get(*i) {
                        self.path_covers.push(PathCover::new(relevance::cover(&rule.paths)));
                    }
                }
                (Kind::File, Literal::Permitted { policy, right }) => {
                    let rights = right.map_or(self.rights, Rights::of);
                    let atoms = file_rules(policy, rights)
                        .filter(|r| r.effect == Effect::Allow)
                        .flat_map(|r| relevance::cover(&r.paths));
                    self.path_covers.push(PathCover::new(atoms));
                }
                (Kind::Connect, Literal::In(AccessSet::Connect { endpoints, .. })) => {
                    self.endpoint_covers.push(relevance::cover(endpoints));
                }
                (Kind::Connect, Literal::Covered { policy, rule: RuleRef::Connect(i) }) => {
                    if let Some(rule) = policy.connects.get(*i) {
                        self.endpoint_covers.push(relevance::cover(&rule.endpoints));
                    }
                }
                (Kind::Connect, Literal::Permitted { policy, .. }) => {
                    let atoms = policy
                        .connects
                        .iter()
                        .filter(|r| r.effect == Effect::Allow)
                        .flat_map(|r| relevance::cover(&r.endpoints))
                        .collect();
                    self.endpoint_covers.push(atoms);
                }
                _ => {}
            }
        }
    }

    /// The constraints every access of the query's kind satisfies: a
    /// well-formed path and a right the positive literals allow, a host
    /// name `Host::parse` accepts, a mode the device has.
    pub(crate) fn domain(&self) -> F {
        match &self.vars {
            Vars::File { path, .. } => {
                let Vars::File { right, .. } = &self.vars else { return F::FALSE };
                let wf = self.paths.as_ref().map_or(F::FALSE, |p| F::Term(p.well_formed(path)));
                let rights =
                    F::or(self.rights.iter().map(|r| F::Term(right.eq(BV::from_u64(right_index(r), 3)))));
                F::and([wf, rights])
            }
            Vars::Connect { host, .. } => F::Term(host.well_formed(&self.names)),
            Vars::Bind { has_peer, peer, .. } => F::Term(has_peer.implies(peer.well_formed(&self.names))),
            Vars::Device { device, mode } => F::or(Device::ALL.into_iter().map(|d| {
                F::and([
                    F::Term(device.eq(BV::from_u64(device_index(d), 4))),
                    F::or(
                        DeviceMode::modes_of(d)
                            .iter()
                            .map(|m| F::Term(mode.eq(BV::from_u64(mode_index(*m), 3)))),
                    ),
                ])
            })),
        }
    }

    pub(crate) fn literal(&mut self, lit: &Literal<'q>) -> F {
        match lit {
            Literal::In(set) => self.in_set(set),
            Literal::NotIn(set) => self.in_set(set).not(),
            Literal::Permitted { policy, right } => self.permitted(policy, *right),
            Literal::NotPermitted { policy, right } => self.permitted(policy, *right).not(),
            Literal::Covered { policy, rule } => self.covered(policy, *rule),
            Literal::NotCovered { policy, rule } => self.covered(policy, *rule).not(),
            Literal::Is(access) => self.is(access),
        }
    }

    // -- Scalars ----------------------------------------------------------

    /// The right is one of `rights`. The domain already keeps it among the
    /// possible rights, so a superset of those is no constraint.
    fn right_in(&self, rights: Rights) -> F {
        let Vars::File { right, .. } = &self.vars else { return F::FALSE };
        let both = Rights(rights.0 & self.rights.0);
        if both.is_empty() {
            return F::FALSE;
        }
        if both == self.rights {
            return F::TRUE;
        }
        F::or(both.iter().map(|r| F::Term(right.eq(BV::from_u64(right_index(r), 3)))))
    }

    fn proto_in(&self, protos: Protos) -> F {
        let udp = match &self.vars {
            Vars::Connect { udp, .. } | Vars::Bind { udp, .. } => udp,
            _ => return F::FALSE,
        };
        match (protos.tcp, protos.udp) {
            (true, true) => F::TRUE,
            (true, false) => F::Term(udp.not()),
            (false, true) => F::Term(udp.clone()),
            (false, false) => F::FALSE,
        }
    }

    fn port_set(&self, set: &PortSet) -> F {
        let port = match &self.vars {
            Vars::Connect { port, .. } | Vars::Bind { port, .. } => port,
            _ => return F::FALSE,
        };
        set_formula(set, &mut |range: &PortRange| port_in(port, *range))
    }

    // -- Paths ------------------------------------------------------------

    fn path_atom(&mut self, pattern: &'q PathPattern) -> F {
        if let Some(f) = self.path_atoms.get(pattern) {
            return f.clone();
        }
        let relevant = self.path_covers.iter().all(|c| c.may_meet(pattern));
        let f = match (&self.vars, &self.paths) {
            (Vars::File { path, .. }, Some(enc)) if relevant => {
                self.stats.atoms += 1;
                F::Term(enc.matches(path, pattern))
            }
            _ => {
                self.stats.dropped += 1;
                F::FALSE
            }
        };
        self.path_atoms.insert(pattern, f.clone());
        f
    }

    fn path_set(&mut self, set: &'q PathSet) -> F {
        let key = std::ptr::from_ref(set) as usize;
        if let Some(f) = self.path_sets.get(&key) {
            return f.clone();
        }
        let f = set_formula(set, &mut |p: &'q PathPattern| self.path_atom(p));
        self.path_sets.insert(key, f.clone());
        f
    }

    // -- Hosts and endpoints ---------------------------------------------

    fn host_var(&self, which: Which) -> Option<&HostVar> {
        match (&self.vars, which) {
            (Vars::Connect { host, .. }, Which::Target) => Some(host),
            (Vars::Bind { peer, .. }, Which::Peer) => Some(peer),
            _ => None,
        }
    }

    fn host_atom(&mut self, which: Which, atom: &'q HostAtom) -> F {
        if let Some(f) = self.host_atoms.get(&(which, atom)) {
            return f.clone();
        }
        let f = match self.host_var(which) {
            Some(var) => F::Term(var.atom(&self.names, atom)),
            None => F::FALSE,
        };
        self.stats.atoms += 1;
        self.host_atoms.insert((which, atom), f.clone());
        f
    }

    fn host_set(&mut self, which: Which, set: &'q HostSet) -> F {
        set_formula(set, &mut |a: &'q HostAtom| self.host_atom(which, a))
    }

    fn endpoint_atom(&mut self, atom: &'q EndpointAtom) -> F {
        if let Some(f) = self.endpoint_atoms.get(atom) {
            return f.clone();
        }
        let relevant = self.endpoint_covers.iter().all(|cover| endpoint_may_meet(cover, atom));
        let f = if relevant {
            let hosts = self.host_set(Which::Target, &atom.hosts);
            F::and([hosts, self.port_set(&atom.ports)])
        } else {
            self.stats.dropped += 1;
            F::FALSE
        };
        self.endpoint_atoms.insert(atom, f.clone());
        f
    }

    // -- Sets, rules, decisions ---------------------------------------------

    fn in_set(&mut self, set: &'q AccessSet) -> F {
        match (set, &self.vars) {
            (AccessSet::Files { rights, paths }, Vars::File { .. }) => {
                let r = self.right_in(*rights);
                if matches!(r, F::Const(false)) {
                    return F::FALSE;
                }
                F::and([r, self.path_set(paths)])
            }
            (AccessSet::Connect { protos, endpoints }, Vars::Connect { .. }) => {
                let p = self.proto_in(*protos);
                F::and([p, set_formula(endpoints, &mut |e: &'q EndpointAtom| self.endpoint_atom(e))])
            }
            (AccessSet::Bind { protos, ports, from }, Vars::Bind { has_peer, .. }) => {
                let has_peer = F::Term(has_peer.clone());
                let peer = match from {
                    None => F::TRUE,
                    Some(from) => F::and([has_peer, self.host_set(Which::Peer, from)]),
                };
                F::and([self.proto_in(*protos), self.port_set(ports), peer])
            }
            (AccessSet::Device { device, modes }, Vars::Device { .. }) => self.device_in(*device, modes),
            _ => F::FALSE,
        }
    }

    fn device_in(&self, d: Device, modes: &[DeviceMode]) -> F {
        let Vars::Device { device, mode } = &self.vars else { return F::FALSE };
        F::and([
            F::Term(device.eq(BV::from_u64(device_index(d), 4))),
            F::or(modes.iter().map(|m| F::Term(mode.eq(BV::from_u64(mode_index(*m), 3))))),
        ])
    }

    /// Rule `rule` of `policy` covers the access, with the file right
    /// `right` when given (else the access's own).
    fn covered(&mut self, policy: &'q Policy, rule: RuleRef) -> F {
        match rule {
            RuleRef::File(i) => match policy.files.get(i) {
                Some(r) if matches!(self.vars, Vars::File { .. }) => {
                    let rights = self.right_in(r.rights);
                    if matches!(rights, F::Const(false)) {
                        return F::FALSE;
                    }
                    F::and([rights, self.path_set(&r.paths)])
                }
                _ => F::FALSE,
            },
            RuleRef::Connect(i) => match policy.connects.get(i) {
                Some(r) => self.connect_covers(&r.endpoints, r.protos),
                None => F::FALSE,
            },
            RuleRef::Bind(i) => match policy.binds.get(i) {
                Some(r) => self.bind_covers(r.effect, r.protos, &r.ports, r.from.as_ref()),
                None => F::FALSE,
            },
            RuleRef::Device(i) => match policy.devices.get(i) {
                Some(r) => self.device_in(r.device, &r.modes),
                None => F::FALSE,
            },
        }
    }

    fn connect_covers(&mut self, endpoints: &'q Set<EndpointAtom>, protos: Protos) -> F {
        if !matches!(self.vars, Vars::Connect { .. }) {
            return F::FALSE;
        }
        let p = self.proto_in(protos);
        if matches!(p, F::Const(false)) {
            return F::FALSE;
        }
        F::and([p, set_formula(endpoints, &mut |e: &'q EndpointAtom| self.endpoint_atom(e))])
    }

    /// `eval::bind_covers`: without a peer, an allow covers whatever its
    /// `from`, a deny only without `from`; with a peer, a rule covers when
    /// it has no `from` or the peer is in it.
    fn bind_covers(
        &mut self,
        effect: Effect,
        protos: Protos,
        ports: &'q PortSet,
        from: Option<&'q HostSet>,
    ) -> F {
        let Vars::Bind { has_peer, .. } = &self.vars else { return F::FALSE };
        let has_peer = F::Term(has_peer.clone());
        let peer = match from {
            None => F::TRUE,
            Some(from) => {
                let in_from = F::and([has_peer.clone(), self.host_set(Which::Peer, from)]);
                match effect {
                    Effect::Allow => F::or([has_peer.not(), in_from]),
                    Effect::Deny => in_from,
                }
            }
        };
        F::and([self.proto_in(protos), self.port_set(ports), peer])
    }

    /// LANGUAGE.md §4: some allow covers and no deny covers; for a file,
    /// with `right` instead of the access's own right when given.
    fn permitted(&mut self, policy: &'q Policy, right: Option<Right>) -> F {
        match &self.vars {
            Vars::File { right: var, .. } => {
                let var = var.clone();
                if let Some(r) = right {
                    return self.file_permitted(policy, r);
                }
                let rights: Vec<Right> = self.rights.iter().collect();
                let single = rights.len() == 1;
                let mut cases = Vec::new();
                for r in rights {
                    let perm = self.file_permitted(policy, r);
                    let is_r =
                        if single { F::TRUE } else { F::Term(var.eq(BV::from_u64(right_index(r), 3))) };
                    cases.push(F::and([is_r, perm]));
                }
                F::or(cases)
            }
            Vars::Connect { .. } => {
                let (mut allows, mut denies) = (Vec::new(), Vec::new());
                for r in &policy.connects {
                    let f = self.connect_covers(&r.endpoints, r.protos);
                    if r.effect == Effect::Allow { allows.push(f) } else { denies.push(f) }
                }
                F::and([F::or(allows), F::or(denies).not()])
            }
            Vars::Bind { .. } => {
                let (mut allows, mut denies) = (Vec::new(), Vec::new());
                for r in &policy.binds {
                    let f = self.bind_covers(r.effect, r.protos, &r.ports, r.from.as_ref());
                    if r.effect == Effect::Allow { allows.push(f) } else { denies.push(f) }
                }
                F::and([F::or(allows), F::or(denies).not()])
            }
            Vars::Device { .. } => {
                let (mut allows, mut denies) = (Vec::new(), Vec::new());
                for r in &policy.devices {
                    let f = self.device_in(r.device, &r.modes);
                    if r.effect == Effect::Allow { allows.push(f) } else { denies.push(f) }
                }
                F::and([F::or(allows), F::or(denies).not()])
            }
        }
    }

    /// The path is permitted for the right `right`.
    fn file_permitted(&mut self, policy: &'q Policy, right: Right) -> F {
        let (mut allows, mut denies) = (Vec::new(), Vec::new());
        for r in policy.files.iter().filter(|r| r.rights.contains(right)) {
            let f = self.path_set(&r.paths);
            if r.effect == Effect::Allow { allows.push(f) } else { denies.push(f) }
        }
        F::and([F::or(allows), F::or(denies).not()])
    }

    /// The access is exactly `access`.
    fn is(&mut self, access: &Access) -> F {
        match (access, &self.vars, &self.paths) {
            (Access::File { right, path }, Vars::File { path: var, .. }, Some(enc)) => {
                if path_segments(path).is_none() {
                    return F::FALSE;
                }
                let is_path = F::Term(enc.is(var, path));
                F::and([self.right_in(Rights::of(*right)), is_path])
            }
            (Access::Connect { proto, host, port }, Vars::Connect { host: var, port: pv, .. }, _) => {
                F::and([
                    self.proto_in(Protos::from_option(Some(*proto))),
                    F::Term(var.is(&self.names, host)),
                    F::Term(pv.eq(BV::from_u64(u64::from(*port), 16))),
                ])
            }
            (Access::Bind { proto, port, peer }, Vars::Bind { port: pv, has_peer, peer: var, .. }, _) => {
                let peer = match peer {
                    None => F::Term(has_peer.not()),
                    Some(h) => F::Term(Bool::and(&[has_peer.clone(), var.is(&self.names, h)])),
                };
                F::and([
                    self.proto_in(Protos::from_option(Some(*proto))),
                    F::Term(pv.eq(BV::from_u64(u64::from(*port), 16))),
                    peer,
                ])
            }
            (Access::Device { device, mode }, Vars::Device { .. }, _) => self.device_in(*device, &[*mode]),
            _ => F::FALSE,
        }
    }
}

/// A set as a formula over its atoms. An empty intersection is empty, as
/// in `Set::contains_by`.
fn set_formula<'a, A>(set: &'a Set<A>, atom: &mut impl FnMut(&'a A) -> F) -> F {
    match set {
        Set::Empty => F::FALSE,
        Set::Atom(a) => atom(a),
        Set::Union(v) => {
            let parts: Vec<F> = v.iter().map(|s| set_formula(s, atom)).collect();
            F::or(parts)
        }
        Set::Inter(v) if v.is_empty() => F::FALSE,
        Set::Inter(v) => {
            let parts: Vec<F> = v.iter().map(|s| set_formula(s, atom)).collect();
            F::and(parts)
        }
        Set::Diff(a, b) => {
            let left = set_formula(a, atom);
            if matches!(left, F::Const(false)) {
                return F::FALSE;
            }
            F::and([left, set_formula(b, atom).not()])
        }
    }
}

fn port_in(port: &BV, range: PortRange) -> F {
    if range == PortRange::ALL {
        return F::TRUE;
    }
    if range.lo == range.hi {
        return F::Term(port.eq(BV::from_u64(u64::from(range.lo), 16)));
    }
    let lo = (range.lo > 0).then(|| F::Term(BV::from_u64(u64::from(range.lo), 16).bvule(port)));
    let hi = (range.hi < u16::MAX).then(|| F::Term(port.bvule(BV::from_u64(u64::from(range.hi), 16))));
    F::and(lo.into_iter().chain(hi))
}

/// May some endpoint be in `atom` and in one of `cover`'s atoms?
fn endpoint_may_meet(cover: &[&EndpointAtom], atom: &EndpointAtom) -> bool {
    let hosts = relevance::cover(&atom.hosts);
    let ports = relevance::cover(&atom.ports);
    cover.iter().any(|c| {
        let c_hosts = relevance::cover(&c.hosts);
        let c_ports = relevance::cover(&c.ports);
        hosts.iter().any(|h| relevance::host_cover_may_meet(&c_hosts, h))
            && ports.iter().any(|p| c_ports.iter().any(|q| relevance::ports_may_meet(**p, **q)))
    })
}

/// The names and `*.` suffixes of a host set.
fn collect_hosts(set: &HostSet, names: &mut BTreeSet<String>, suffixes: &mut BTreeSet<String>) {
    for atom in set.atoms() {
        match atom {
            HostAtom::Name(n) => {
                names.insert(n.to_ascii_lowercase());
            }
            HostAtom::Subdomains(s) => {
                suffixes.insert(s.to_ascii_lowercase());
            }
            HostAtom::Cidr(_) | HostAtom::AnyName | HostAtom::AnyAddr => {}
        }
    }
}

/// The name classes of every name and `*.` suffix the query can mention.
fn query_names(query: &Query<'_>) -> NameSpace {
    let (mut names, mut suffixes) = (BTreeSet::new(), BTreeSet::new());
    let mut seen: Vec<*const Policy> = Vec::new();
    for lit in &query.literals {
        match lit {
            Literal::In(AccessSet::Connect { endpoints, .. })
            | Literal::NotIn(AccessSet::Connect { endpoints, .. }) => {
                for e in endpoints.atoms() {
                    collect_hosts(&e.hosts, &mut names, &mut suffixes);
                }
            }
            Literal::In(AccessSet::Bind { from: Some(from), .. })
            | Literal::NotIn(AccessSet::Bind { from: Some(from), .. }) => {
                collect_hosts(from, &mut names, &mut suffixes);
            }
            Literal::Covered { policy, rule } | Literal::NotCovered { policy, rule } => match rule {
                RuleRef::Connect(i) => {
                    for e in policy.connects.get(*i).into_iter().flat_map(|r| r.endpoints.atoms()) {
                        collect_hosts(&e.hosts, &mut names, &mut suffixes);
                    }
                }
                RuleRef::Bind(i) => {
                    if let Some(from) = policy.binds.get(*i).and_then(|r| r.from.as_ref()) {
                        collect_hosts(from, &mut names, &mut suffixes);
                    }
                }
                RuleRef::File(_) | RuleRef::Device(_) => {}
            },
            Literal::Permitted { policy, .. } | Literal::NotPermitted { policy, .. } => {
                let key = std::ptr::from_ref(*policy);
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                for rule in &policy.connects {
                    for e in rule.endpoints.atoms() {
                        collect_hosts(&e.hosts, &mut names, &mut suffixes);
                    }
                }
                for from in policy.binds.iter().filter_map(|r| r.from.as_ref()) {
                    collect_hosts(from, &mut names, &mut suffixes);
                }
            }
            Literal::Is(Access::Connect { host: Host::Name(n), .. })
            | Literal::Is(Access::Bind { peer: Some(Host::Name(n)), .. }) => {
                names.insert(n.to_ascii_lowercase());
            }
            _ => {}
        }
    }
    NameSpace::new(&names, &suffixes)
}

/// Every character of a path literal the query can mention.
fn query_chars(query: &Query<'_>) -> BTreeSet<char> {
    let mut chars = BTreeSet::new();
    let mut seen: Vec<*const Policy> = Vec::new();
    for lit in &query.literals {
        match lit {
            Literal::In(AccessSet::Files { paths, .. }) | Literal::NotIn(AccessSet::Files { paths, .. }) => {
                paths.atoms().into_iter().for_each(|p| pattern_chars(p, &mut chars));
            }
            Literal::Permitted { policy, .. }
            | Literal::NotPermitted { policy, .. }
            | Literal::Covered { policy, .. }
            | Literal::NotCovered { policy, .. } => {
                let key = std::ptr::from_ref(*policy);
                if !seen.contains(&key) {
                    seen.push(key);
                    for rule in &policy.files {
                        rule.paths.atoms().into_iter().for_each(|p| pattern_chars(p, &mut chars));
                    }
                }
            }
            Literal::Is(Access::File { path, .. }) => chars.extend(path.chars()),
            _ => {}
        }
    }
    chars
}
