//! Translation validation with Windows semantics.
//!
//! The emitted artifact is read back as a *model* policy: what it lets
//! through, in the policy's own terms. Paths are read back through
//! [`PathMapper::to_policy`] (every policy path a Windows path stands for)
//! and folded to lower case, and the policy's path patterns are folded
//! too: Windows names files without regard to case, so an ACE on
//! `C:\Work` also covers `c:\WORK\x`, and the policy's meaning on Windows
//! is its meaning on lower-cased paths. A policy whose allows and denies
//! differ only in case is reported (C3002): on Windows the deny wins.
//!
//! Then, per access kind, the verifier searches for an access the model
//! permits and the folded policy denies (broader: C3001, an error, with
//! the access) and the reverse (narrower: C3002, a warning). A search that
//! runs out of time is unknown, never proven.

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::{Access, Evaluator, Host};
use corral_compiler::ir::{
    AccessSet, BindRule, Cidr, ConnectRule, Device, DeviceMode, DeviceRule, Effect, EndpointAtom,
    EndpointSet, FileRule, GlobPart, HostAtom, HostSet, Origin, PathPattern, PathSet, Policy, PortRange,
    PortSet, Protos, Right, Rights, Segment, Set,
};
use corral_verifier::refine::{Verdict, broader, narrower};
use corral_verifier::{Kind, Literal, Solver};
use serde_json::{Value, json};

use crate::appcontainer::{self, DELETE, FILE_APPEND_DATA, FILE_EXECUTE, FILE_READ_DATA, FILE_WRITE_DATA};
use crate::net;
use crate::paths::PathMapper;

const KINDS: [Kind; 4] = [Kind::File, Kind::Connect, Kind::Bind, Kind::Device];

/// What an artifact lets through, before it becomes an IR policy.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub files: Vec<(Effect, Rights, PathSet)>,
    pub connects: Vec<(Effect, Protos, EndpointSet)>,
    pub binds: Vec<(Effect, Protos, PortSet, Option<HostSet>)>,
    pub devices: Vec<(Device, Vec<DeviceMode>)>,
}

impl Model {
    /// The model as a policy; every rule points at the policy's span.
    pub fn into_policy(self, policy: &Policy) -> Policy {
        let origin = Origin { policy: "model".to_owned(), span: policy.span, readonly: false };
        Policy {
            files: self
                .files
                .into_iter()
                .map(|(effect, rights, paths)| FileRule { effect, rights, paths, origin: origin.clone() })
                .collect(),
            connects: self
                .connects
                .into_iter()
                .map(|(effect, protos, endpoints)| ConnectRule {
                    effect,
                    protos,
                    endpoints,
                    origin: origin.clone(),
                })
                .collect(),
            binds: self
                .binds
                .into_iter()
                .map(|(effect, protos, ports, from)| BindRule {
                    effect,
                    protos,
                    ports,
                    from,
                    origin: origin.clone(),
                })
                .collect(),
            devices: self
                .devices
                .into_iter()
                .map(|(device, modes)| DeviceRule {
                    effect: Effect::Allow,
                    device,
                    modes,
                    origin: origin.clone(),
                })
                .collect(),
            ..Policy::new("model", policy.span)
        }
    }
}

// Path patterns over lower-cased literal segments.
fn pattern(segs: &[String], tail: &[Segment]) -> PathSet {
    let mut segments: Vec<Segment> = segs.iter().map(|s| Segment::Literal(s.to_lowercase())).collect();
    segments.extend(tail.iter().cloned());
    Set::Atom(PathPattern { segments })
}
fn object(segs: &[String]) -> PathSet {
    pattern(segs, &[])
}
fn children(segs: &[String]) -> PathSet {
    pattern(segs, &[Segment::AnyDepth])
}
fn tree(segs: &[String]) -> PathSet {
    Set::union([object(segs), children(segs)])
}
fn direct_children(segs: &[String]) -> PathSet {
    pattern(segs, &[Segment::Glob(vec![GlobPart::Star])])
}
fn grandchildren(segs: &[String]) -> PathSet {
    pattern(segs, &[Segment::Glob(vec![GlobPart::Star]), Segment::AnyDepth])
}

fn rights(list: &[Right]) -> Rights {
    list.iter().copied().collect()
}

fn any_port() -> PortSet {
    Set::Atom(PortRange::ALL)
}

fn any_host() -> HostSet {
    Set::union([Set::Atom(HostAtom::AnyName), Set::Atom(HostAtom::AnyAddr)])
}

/// Every name but the loopback names.
fn internet_names() -> HostSet {
    Set::diff(
        Set::Atom(HostAtom::AnyName),
        Set::union([
            Set::Atom(HostAtom::Name("localhost".to_owned())),
            Set::Atom(HostAtom::Subdomains("localhost".to_owned())),
        ]),
    )
}

fn endpoints(hosts: HostSet, ports: PortSet) -> EndpointSet {
    Set::Atom(EndpointAtom { hosts, ports })
}

/// `a-b`, `a` or `Any` as a port set.
fn parse_ports(text: &str) -> Option<PortSet> {
    if text == "Any" {
        return Some(any_port());
    }
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let (lo, hi) = (lo.parse().ok()?, hi.parse().ok()?);
    (lo <= hi).then_some(Set::Atom(PortRange { lo, hi }))
}

fn parse_hosts(list: &Value) -> HostSet {
    Set::union(
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|c| HostAtom::parse(c).ok())
            .map(Set::Atom),
    )
}

fn protos_of(word: &str) -> Option<Protos> {
    match word.to_ascii_lowercase().as_str() {
        "tcp" => Some(Protos { tcp: true, udp: false }),
        "udp" => Some(Protos { tcp: false, udp: true }),
        "any" => Some(Protos::BOTH),
        _ => None,
    }
}

fn device_capability(name: &str) -> Option<(Device, DeviceMode)> {
    appcontainer::DEVICE_CAPABILITIES.iter().find(|(_, _, c)| *c == name).map(|&(d, m, _)| (d, m))
}

/// The AppContainer manifest, read back.
pub fn appcontainer_model(manifest: &Value, mapper: &PathMapper) -> Model {
    let mut m = Model::default();
    for ace in manifest["files"]["aces"].as_array().into_iter().flatten() {
        let (Some(path), Some(mask), Some(inh)) = (
            ace["path"].as_str(),
            ace["mask"].as_u64().and_then(|v| u32::try_from(v).ok()),
            ace["inheritance"].as_str().and_then(appcontainer::Inheritance::from_keyword),
        ) else {
            continue;
        };
        let effect = if ace["type"] == "deny" { Effect::Deny } else { Effect::Allow };
        for segs in mapper.to_policy(path).unwrap_or_default() {
            use appcontainer::Inheritance as I;
            let (own, below_create) = match inh {
                I::None => (object(&segs), direct_children(&segs)),
                I::Tree => (tree(&segs), children(&segs)),
                I::InheritOnly => (children(&segs), grandchildren(&segs)),
            };
            if mask & FILE_READ_DATA != 0 {
                m.files.push((effect, rights(&[Right::Read, Right::List]), own.clone()));
            }
            if mask & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0 {
                m.files.push((effect, rights(&[Right::Write]), own.clone()));
                m.files.push((effect, rights(&[Right::Create]), below_create));
            }
            if mask & DELETE != 0 {
                m.files.push((effect, rights(&[Right::Delete]), own.clone()));
                // A denied entry exists (or nothing may create it) and
                // cannot be removed: it cannot be created either.
                if effect == Effect::Deny && inh != I::InheritOnly {
                    m.files.push((effect, rights(&[Right::Create]), object(&segs)));
                }
            }
            if mask & FILE_EXECUTE != 0 {
                m.files.push((effect, rights(&[Right::Exec]), own));
            }
        }
    }
    let caps = appcontainer::capability_names(manifest);
    let out = appcontainer::outbound_reach(&caps);
    if !out.is_empty() {
        m.connects.push((Effect::Allow, Protos::BOTH, endpoints(net::host_set(&out), any_port())));
    }
    if caps.contains(&"internetClient") || caps.contains(&"internetClientServer") {
        m.connects.push((Effect::Allow, Protos::BOTH, endpoints(internet_names(), any_port())));
    }
    let inbound = appcontainer::inbound_reach(&caps);
    if !inbound.is_empty() {
        m.binds.push((Effect::Allow, Protos::BOTH, any_port(), None));
        m.binds.push((
            Effect::Deny,
            Protos::BOTH,
            any_port(),
            Some(Set::diff(any_host(), net::host_set(&inbound))),
        ));
    }
    for rule in manifest["firewall"].as_array().into_iter().flatten() {
        let (Some(protos), Some(ports)) =
            (rule["protocol"].as_str().and_then(protos_of), rule["ports"].as_str().and_then(parse_ports))
        else {
            continue;
        };
        let hosts = parse_hosts(&rule["remoteAddresses"]);
        if rule["direction"] == "outbound" {
            m.connects.push((Effect::Deny, protos, endpoints(hosts, ports)));
        } else {
            m.binds.push((Effect::Deny, protos, ports, Some(hosts)));
        }
    }
    for cap in &caps {
        if let Some((device, mode)) = device_capability(cap) {
            m.devices.push((device, vec![mode]));
        }
    }
    let ui = manifest["uiLimits"]["mask"].as_u64().unwrap_or(u64::MAX);
    if ui & 0x02 == 0 {
        m.devices.push((Device::Clipboard, vec![DeviceMode::Read]));
    }
    if ui & 0x04 == 0 {
        m.devices.push((Device::Clipboard, vec![DeviceMode::Write]));
    }
    if ui & 0x01 == 0 {
        m.devices.push((Device::Windows, vec![DeviceMode::Use]));
    }
    m
}

/// The MXC config, read back. Name-based egress is delegated to the
/// configured proxy: with `network.proxy`, the policy's own rules decide
/// names.
pub fn mxc_model(config: &Value, mapper: &PathMapper, policy: &Policy) -> Model {
    let mut m = Model::default();
    let fs = &config["filesystem"];
    let all = Rights::all();
    for (key, effect, r) in [
        ("readwritePaths", Effect::Allow, all),
        ("readonlyPaths", Effect::Allow, rights(&[Right::Read, Right::List, Right::Exec])),
        ("deniedPaths", Effect::Deny, all),
    ] {
        for path in fs[key].as_array().into_iter().flatten().filter_map(Value::as_str) {
            for segs in mapper.to_policy(path).unwrap_or_default() {
                m.files.push((effect, r, tree(&segs)));
            }
        }
    }
    let net = &config["network"];
    for rule in net["egress"]["allow"].as_array().into_iter().flatten() {
        let hosts = match rule["to"].as_array() {
            None => Set::Atom(HostAtom::AnyAddr),
            Some(peers) => Set::union(peers.iter().map(|p| {
                let inc =
                    p["cidr"].as_str().and_then(|c| HostAtom::parse(c).ok()).map_or(Set::Empty, Set::Atom);
                Set::diff(inc, parse_hosts(&p["except"]))
            })),
        };
        let ports: Vec<(Protos, PortSet)> = match rule["ports"].as_array() {
            None => vec![(Protos::BOTH, any_port())],
            Some(list) => list
                .iter()
                .filter_map(|p| {
                    let protos = protos_of(p["protocol"].as_str().unwrap_or("any"))?;
                    let ports = match (p["port"].as_u64(), p["endPort"].as_u64()) {
                        (None, _) => any_port(),
                        (Some(lo), hi) => {
                            let lo = u16::try_from(lo).ok()?;
                            let hi = hi.map_or(Some(lo), |h| u16::try_from(h).ok())?;
                            Set::Atom(PortRange { lo, hi })
                        }
                    };
                    Some((protos, ports))
                })
                .collect(),
        };
        for (protos, ports) in ports {
            m.connects.push((Effect::Allow, protos, endpoints(hosts.clone(), ports)));
        }
    }
    let loopback = net::builtin_addrs("loopback");
    let mut peers = Vec::new();
    if net["ingress"]["hostLoopback"] == "allow" {
        m.connects.push((Effect::Allow, Protos::BOTH, endpoints(net::host_set(&loopback), any_port())));
        peers = net::union(&peers, &loopback);
    }
    if net["ingress"]["default"] == "allow" {
        peers = net::union(&peers, &net::builtin_addrs("private"));
    }
    // Inbound traffic the capabilities open counts too: MXC has no ingress
    // setting for the internet, and `privateNetworkClientServer`, which
    // LAN egress needs in a process container, opens both directions.
    let caps: Vec<&str> = config["processContainer"]["capabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    peers = net::union(&peers, &appcontainer::inbound_reach(&caps));
    if !peers.is_empty() {
        m.binds.push((Effect::Allow, Protos::BOTH, any_port(), None));
        m.binds.push((
            Effect::Deny,
            Protos::BOTH,
            any_port(),
            Some(Set::diff(any_host(), net::host_set(&peers))),
        ));
    }
    if net["proxy"]["url"].is_string() {
        for r in &policy.connects {
            m.connects.push((r.effect, r.protos, names_only(&r.endpoints)));
        }
    }
    for cap in
        config["processContainer"]["capabilities"].as_array().into_iter().flatten().filter_map(Value::as_str)
    {
        if let Some((device, mode)) = device_capability(cap) {
            m.devices.push((device, vec![mode]));
        }
    }
    let ui = &config["ui"];
    if ui["disable"] == false {
        match ui["clipboard"].as_str() {
            Some("read") => m.devices.push((Device::Clipboard, vec![DeviceMode::Read])),
            Some("write") => m.devices.push((Device::Clipboard, vec![DeviceMode::Write])),
            Some("all") => m.devices.push((Device::Clipboard, vec![DeviceMode::Read, DeviceMode::Write])),
            _ => {}
        }
        if ui["injection"] == true {
            m.devices.push((Device::Input, vec![DeviceMode::Inject]));
        }
        if config["processContainer"]["ui"]["isolation"] != "container" {
            m.devices.push((Device::Windows, vec![DeviceMode::Use]));
            m.devices.push((Device::Screen, vec![DeviceMode::Capture]));
        }
    }
    m
}

/// The endpoint set restricted to DNS names.
fn names_only(set: &EndpointSet) -> EndpointSet {
    match set {
        Set::Empty => Set::Empty,
        Set::Atom(a) => Set::Atom(EndpointAtom {
            hosts: Set::inter([a.hosts.clone(), Set::Atom(HostAtom::AnyName)]),
            ports: a.ports.clone(),
        }),
        Set::Union(v) => Set::Union(v.iter().map(names_only).collect()),
        Set::Inter(v) => Set::Inter(v.iter().map(names_only).collect()),
        Set::Diff(a, b) => Set::Diff(Box::new(names_only(a)), b.clone()),
    }
}

fn fold_pattern(p: &PathPattern) -> PathPattern {
    fn parts(v: &[GlobPart]) -> Vec<GlobPart> {
        v.iter()
            .map(|g| match g {
                GlobPart::Literal(l) => GlobPart::Literal(l.to_lowercase()),
                GlobPart::Alternatives(alts) => {
                    GlobPart::Alternatives(alts.iter().map(|a| parts(a)).collect())
                }
                other => other.clone(),
            })
            .collect()
    }
    PathPattern {
        segments: p
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => Segment::Literal(l.to_lowercase()),
                Segment::Glob(g) => Segment::Glob(parts(g)),
                Segment::AnyDepth => Segment::AnyDepth,
            })
            .collect(),
    }
}

fn fold_set(set: &PathSet) -> PathSet {
    match set {
        Set::Empty => Set::Empty,
        Set::Atom(p) => Set::Atom(fold_pattern(p)),
        Set::Union(v) => Set::Union(v.iter().map(fold_set).collect()),
        Set::Inter(v) => Set::Inter(v.iter().map(fold_set).collect()),
        Set::Diff(a, b) => Set::Diff(Box::new(fold_set(a)), Box::new(fold_set(b))),
    }
}

/// The policy with every path pattern in lower case: its meaning on a
/// file system that ignores case.
pub fn fold_case(policy: &Policy) -> Policy {
    let mut folded = policy.clone();
    for r in &mut folded.files {
        r.paths = fold_set(&r.paths);
    }
    folded
}

/// C3002 for an allow and a deny whose patterns differ only in case.
fn case_conflicts(policy: &Policy, target: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let patterns = |effect: Effect| -> Vec<(String, &FileRule)> {
        policy
            .files
            .iter()
            .filter(|r| r.effect == effect)
            .flat_map(|r| r.paths.atoms().into_iter().map(move |p| (p.to_string(), r)))
            .collect()
    };
    let denies = patterns(Effect::Deny);
    let mut seen = std::collections::BTreeSet::new();
    for (a, allow) in patterns(Effect::Allow) {
        for (d, deny) in &denies {
            if a != *d && a.to_lowercase() == d.to_lowercase() && seen.insert((a.clone(), d.clone())) {
                out.push(
                    Diagnostic::warning(
                        Code::ArtifactNarrower,
                        format!("`{a}` and `{d}` name one file on windows; the {target} artifact denies it"),
                    )
                    .primary(allow.origin.span, "allowed here")
                    .secondary(deny.origin.span, "denied here, in another case")
                    .help("windows compares file names without regard to case; write both rules in one case"),
                );
            }
        }
    }
    out
}

/// What the searches found for one kind in one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindResult {
    pub kind: Kind,
    /// Separating accesses, each found with the ones before excluded.
    pub found: Vec<Access>,
    /// Set when a search ran out of time or failed: nothing is proven.
    pub unknown: Option<String>,
}

impl KindResult {
    pub fn holds(&self) -> bool {
        self.found.is_empty() && self.unknown.is_none()
    }
}

/// Counterexamples looked for per kind and direction.
pub const MAX_COUNTEREXAMPLES: usize = 3;

/// The outcome of validating one artifact.
#[derive(Clone, Debug)]
pub struct Report {
    pub broader: Vec<KindResult>,
    pub narrower: Vec<KindResult>,
    pub diagnostics: Vec<Diagnostic>,
    /// No access the artifact permits is denied by the policy (every
    /// broader search ended without a counterexample).
    pub validated: bool,
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::File => "file",
        Kind::Connect => "connect",
        Kind::Bind => "bind",
        Kind::Device => "device",
    }
}

fn result_json(r: &KindResult) -> Value {
    if r.holds() {
        return json!("holds");
    }
    let mut v = json!({ "counterexamples": r.found.iter().map(ToString::to_string).collect::<Vec<_>>() });
    if let Some(why) = &r.unknown {
        v["unknown"] = json!(why);
    }
    v
}

impl Report {
    pub fn json(&self) -> Value {
        let side = |v: &[KindResult]| -> Value {
            Value::Object(v.iter().map(|k| (kind_word(k.kind).to_owned(), result_json(k))).collect())
        };
        json!({ "validated": self.validated, "broader": side(&self.broader), "narrower": side(&self.narrower) })
    }

    pub fn summary_lines(&self) -> String {
        let side = |v: &[KindResult]| -> String {
            v.iter()
                .map(|k| {
                    let mut what: Vec<String> = k.found.iter().map(|a| format!("`{a}`")).collect();
                    if k.unknown.is_some() {
                        what.push("unknown".to_owned());
                    }
                    if what.is_empty() {
                        what.push("none".to_owned());
                    }
                    format!("{} {}", kind_word(k.kind), what.join(", "))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        format!(
            "validation (windows paths, case folded): {}\n  allows beyond the policy: {}\n  denies within the policy: {}\n",
            if self.validated { "no access beyond the policy" } else { "NOT validated" },
            side(&self.broader),
            side(&self.narrower),
        )
    }
}

/// The summary's last line.
pub fn exact_line(diagnostics: &[Diagnostic]) -> String {
    let count = |code: Code| diagnostics.iter().filter(|d| d.code == code).count();
    format!(
        "exact: {} ({} broader, {} narrower, {} unsupported, {} isolation)\n",
        if diagnostics.is_empty() { "yes" } else { "no" },
        count(Code::ArtifactBroader),
        count(Code::ArtifactNarrower),
        count(Code::ArtifactUnsupported),
        count(Code::WindowsIsolationWeaker),
    )
}

fn help(kind: Kind) -> &'static str {
    match kind {
        Kind::File => {
            "windows ACLs and MXC paths name literal paths and the trees beneath them; narrow the allow so that no glob deny falls inside it, or pass `--accept-broader`"
        }
        Kind::Connect => {
            "capabilities open whole address classes and names cannot be filtered without a proxy; pass `--accept-broader` to accept it"
        }
        Kind::Bind => "capabilities open listening on every port; pass `--accept-broader` to accept it",
        Kind::Device => "pass `--accept-broader` to accept it",
    }
}

fn host_atom(host: &Host) -> HostAtom {
    match host {
        Host::Name(n) => HostAtom::Name(n.clone()),
        Host::Addr(a) => HostAtom::Cidr(Cidr::host(*a)),
    }
}

/// The set holding just `access` (for a bind, every bind on its port), to
/// exclude it from the next search.
fn singleton(access: &Access) -> AccessSet {
    match access {
        Access::File { right, path } => AccessSet::Files {
            rights: Rights::of(*right),
            paths: Set::Atom(PathPattern {
                segments: path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| Segment::Literal(s.to_owned()))
                    .collect(),
            }),
        },
        Access::Connect { proto, host, port } => AccessSet::Connect {
            protos: Protos::from_option(Some(*proto)),
            endpoints: endpoints(Set::Atom(host_atom(host)), Set::Atom(PortRange { lo: *port, hi: *port })),
        },
        Access::Bind { proto, port, .. } => AccessSet::Bind {
            protos: Protos::from_option(Some(*proto)),
            ports: Set::Atom(PortRange { lo: *port, hi: *port }),
            from: None,
        },
        Access::Device { device, mode } => AccessSet::Device { device: *device, modes: vec![*mode] },
    }
}

/// Up to [`MAX_COUNTEREXAMPLES`] accesses of `kind` that `yes` permits and
/// `no` denies (`wide`: the model is `yes`).
fn search(model: &Policy, policy: &Policy, kind: Kind, wide: bool, solver: &Solver) -> KindResult {
    let mut out = KindResult { kind, found: Vec::new(), unknown: None };
    while out.found.len() < MAX_COUNTEREXAMPLES {
        let excluded: Vec<AccessSet> = out.found.iter().map(singleton).collect();
        let scope: Vec<Literal<'_>> = excluded.iter().map(Literal::NotIn).collect();
        let verdicts = if wide {
            broader(model, policy, &[kind], &scope, solver)
        } else {
            narrower(model, policy, &[kind], &scope, solver)
        };
        match verdicts.into_iter().next().map(|v| v.verdict) {
            Some(Verdict::Counterexample(access)) if !out.found.contains(&access) => out.found.push(access),
            Some(Verdict::Unknown(why)) => {
                out.unknown = Some(why);
                break;
            }
            _ => break,
        }
    }
    out
}

fn listed(d: Diagnostic, found: &[Access]) -> Diagnostic {
    found.iter().fold(d, |d, a| d.counterexample(a.to_string()))
}

/// Validates `model` against `policy` for `target` (`appcontainer`, `mxc`).
pub fn validate(policy: &Policy, model: &Model, target: &str, timeout_ms: u32) -> Report {
    let folded = fold_case(policy);
    let model = model.clone().into_policy(policy);
    let solver = Solver::new(timeout_ms);
    // One z3 context for the whole validation: the counterexamples go into
    // the artifact's summary and must not depend on earlier work.
    let (wide, lost): (Vec<KindResult>, Vec<KindResult>) = corral_verifier::isolated(|| {
        (
            KINDS.iter().map(|&k| search(&model, &folded, k, true, &solver)).collect(),
            KINDS.iter().map(|&k| search(&model, &folded, k, false, &solver)).collect(),
        )
    });
    let eval = Evaluator::new(&folded);
    let mut diagnostics = case_conflicts(policy, target);
    for r in &wide {
        if let Some(first) = r.found.first() {
            let mut d = Diagnostic::error(
                Code::ArtifactBroader,
                format!("the {target} artifact allows `{first}`, which the policy denies"),
            )
            .help(help(r.kind));
            d = listed(d, &r.found);
            let decision = eval.decide(first);
            if decision.denies.is_empty() {
                d = d.note("no rule of the policy allows it");
            }
            for (i, rule) in decision.denies.iter().enumerate() {
                let span = rule.origin(&folded).span;
                d = if i == 0 {
                    d.primary(span, "the policy denies it here")
                } else {
                    d.secondary(span, "and here")
                };
            }
            diagnostics.push(d);
        }
        if let Some(why) = &r.unknown {
            diagnostics.push(Diagnostic::error(
                Code::ArtifactBroader,
                format!(
                    "the {target} artifact could not be validated for {} accesses: {why}",
                    kind_word(r.kind)
                ),
            ));
        }
    }
    for r in &lost {
        if let Some(first) = r.found.first() {
            let mut d = Diagnostic::warning(
                Code::ArtifactNarrower,
                format!("the {target} artifact denies `{first}`, which the policy allows"),
            )
            .note(format!(
                "the agent loses these accesses, and possibly more {} accesses",
                kind_word(r.kind)
            ));
            d = listed(d, &r.found);
            for rule in eval.decide(first).allows.iter().take(3) {
                d = d.secondary(rule.origin(&folded).span, "allowed here");
            }
            diagnostics.push(d);
        }
        if let Some(why) = &r.unknown {
            diagnostics.push(Diagnostic::warning(
                Code::ArtifactNarrower,
                format!(
                    "what the {target} artifact denies of {} accesses is unknown: {why}",
                    kind_word(r.kind)
                ),
            ));
        }
    }
    let validated = wide.iter().all(KindResult::holds);
    Report { broader: wide, narrower: lost, diagnostics, validated }
}
