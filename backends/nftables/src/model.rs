//! Translation validation. The emitted JSON is read back as a *model*
//! policy (an IR policy whose rules say what the ruleset accepts) and the
//! verifier looks for an access that separates it from the policy it was
//! built from (`corral_verifier::refine`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use corral_compiler::ir::host::addr_bits;
use corral_compiler::ir::{
    BindRule, Cidr, ConnectRule, Effect, EndpointAtom, HostAtom, HostSet, Origin, Policy, PortRange, Protos,
    Set,
};
use corral_verifier::refine::{self, Verdict};
use corral_verifier::{Kind, Literal, Solver};
use serde_json::Value;

use crate::names::cidrs_of;

/// The verdicts of one build's translation validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    pub connect_broader: Verdict,
    pub connect_narrower: Verdict,
    pub bind_broader: Verdict,
    pub bind_narrower: Verdict,
}

impl Validation {
    /// The ruleset provably permits nothing the (compared) policy denies.
    pub fn proven(&self) -> bool {
        self.connect_broader == Verdict::Holds && self.bind_broader == Verdict::Holds
    }

    pub fn to_json(&self) -> Value {
        let v = |v: &Verdict| match v {
            Verdict::Holds => serde_json::json!({ "verdict": "holds" }),
            Verdict::Counterexample(a) => {
                serde_json::json!({ "verdict": "counterexample", "access": a.to_string() })
            }
            Verdict::Unknown(why) => serde_json::json!({ "verdict": "unknown", "reason": why }),
        };
        serde_json::json!({
            "proven": self.proven(),
            "connect": { "broader": v(&self.connect_broader), "narrower": v(&self.connect_narrower) },
            "bind": { "broader": v(&self.bind_broader), "narrower": v(&self.bind_narrower) },
        })
    }
}

pub fn show_verdict(v: &Verdict) -> String {
    match v {
        Verdict::Holds => "none".to_owned(),
        Verdict::Counterexample(a) => format!("e.g. `{a}`"),
        Verdict::Unknown(why) => format!("unknown ({why})"),
    }
}

fn addr_of(v: &Value) -> Option<(u128, u128)> {
    let parse = |s: &str| s.parse::<IpAddr>().ok().map(addr_bits);
    match v {
        Value::String(s) => parse(s).map(|a| (a, a)),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let addr: IpAddr = p.get("addr")?.as_str()?.parse().ok()?;
                let len = u8::try_from(p.get("len")?.as_u64()?).ok()?;
                let len = if addr.is_ipv4() { len.checked_add(96)? } else { len };
                let c = Cidr { addr: addr_bits(addr), len };
                Some((c.first(), c.last()))
            } else {
                let r = o.get("range")?.as_array()?;
                Some((parse(r.first()?.as_str()?)?, parse(r.get(1)?.as_str()?)?))
            }
        }
        _ => None,
    }
}

fn port_of(v: &Value) -> Option<PortRange> {
    if let Some(p) = v.as_u64() {
        let p = u16::try_from(p).ok()?;
        return Some(PortRange { lo: p, hi: p });
    }
    let r = v.get("range")?.as_array()?;
    Some(PortRange {
        lo: u16::try_from(r.first()?.as_u64()?).ok()?,
        hi: u16::try_from(r.get(1)?.as_u64()?).ok()?,
    })
}

/// (chain, l4 protocol, set name) of every accept rule that looks up a set.
fn set_rules(cmds: &[Value]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for cmd in cmds {
        let Some(rule) = cmd.get("add").and_then(|a| a.get("rule")) else { continue };
        let Some(chain) = rule.get("chain").and_then(Value::as_str) else { continue };
        let Some(expr) = rule.get("expr").and_then(Value::as_array) else { continue };
        let mut proto = None;
        let mut set = None;
        for e in expr {
            let Some(m) = e.get("match") else { continue };
            let (left, right) = (m.get("left"), m.get("right"));
            if left.and_then(|l| l.get("meta")).is_some() {
                proto = right.and_then(Value::as_str).map(str::to_owned);
            }
            if let Some(name) = right.and_then(Value::as_str).and_then(|r| r.strip_prefix('@')) {
                set = Some(name.to_owned());
                if let Some(parts) = left.and_then(|l| l.get("concat")).and_then(Value::as_array) {
                    proto = parts
                        .get(1)
                        .and_then(|p| p.get("payload"))
                        .and_then(|p| p.get("protocol"))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                }
            }
        }
        if let (Some(proto), Some(set)) = (proto, set) {
            out.push((chain.to_owned(), proto, set));
        }
    }
    out
}

fn hosts_of(ranges: &[(u128, u128)]) -> HostSet {
    Set::union(ranges.iter().flat_map(|&(lo, hi)| cidrs_of(lo, hi)).map(|c| Set::Atom(HostAtom::Cidr(c))))
}

/// An address range and a port range of a set element.
type Pair = ((u128, u128), PortRange);

/// Reads the emitted JSON back as a policy: one allow per (chain,
/// protocol, port range) with the addresses the sets pair with it.
pub fn model_of(json: &Value, policy: &Policy) -> Policy {
    let cmds = json.get("nftables").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut sets: BTreeMap<String, Vec<Pair>> = BTreeMap::new();
    for cmd in &cmds {
        let Some(set) = cmd.get("add").and_then(|a| a.get("set")) else { continue };
        let Some(name) = set.get("name").and_then(Value::as_str) else { continue };
        let elems = set.get("elem").and_then(Value::as_array).cloned().unwrap_or_default();
        let entry = sets.entry(name.to_owned()).or_default();
        for e in &elems {
            if let Some(parts) = e.get("concat").and_then(Value::as_array) {
                if let (Some(a), Some(p)) = (parts.first().and_then(addr_of), parts.get(1).and_then(port_of))
                {
                    entry.push((a, p));
                }
            } else if let Some(a) = addr_of(e) {
                entry.push((a, PortRange::ALL));
            }
        }
    }
    let origin = Origin { policy: policy.name.clone(), span: policy.span, readonly: false };
    // (chain, proto, ports) → address ranges, sorted for determinism.
    let mut groups: BTreeMap<(String, String, PortRange), Vec<(u128, u128)>> = BTreeMap::new();
    for (chain, proto, set) in set_rules(&cmds) {
        for (addr, ports) in sets.get(&set).into_iter().flatten() {
            groups.entry((chain.clone(), proto.clone(), *ports)).or_default().push(*addr);
        }
    }
    let mut model = Policy::new(format!("{}_nftables", policy.name), policy.span);
    for ((chain, proto, ports), addrs) in groups {
        let protos = match proto.as_str() {
            "tcp" => Protos { tcp: true, udp: false },
            "udp" => Protos { tcp: false, udp: true },
            _ => continue,
        };
        let hosts = hosts_of(&addrs);
        match chain.as_str() {
            "output" => model.connects.push(ConnectRule {
                effect: Effect::Allow,
                protos,
                endpoints: Set::Atom(EndpointAtom { hosts, ports: Set::Atom(ports) }),
                origin: origin.clone(),
            }),
            "input" => model.binds.push(BindRule {
                effect: Effect::Allow,
                protos,
                ports: Set::Atom(ports),
                from: Some(hosts),
                origin: origin.clone(),
            }),
            _ => {}
        }
    }
    model
}

fn one(mut v: Vec<refine::KindVerdict>) -> Verdict {
    v.pop().map_or_else(|| Verdict::Unknown("no verdict".to_owned()), |k| k.verdict)
}

/// Compares the model with `compared` (the policy, with resolved names
/// replaced by their addresses and the proxy route added in proxy mode).
/// Bind is compared on accesses with a peer address: a packet filter sees
/// peers, not whether a program may listen.
pub fn validate(model: &Policy, compared: &Policy, timeout_ms: u32) -> Validation {
    let solver = Solver::new(timeout_ms);
    let peers = corral_compiler::ir::AccessSet::Bind {
        protos: Protos::BOTH,
        ports: Set::Atom(PortRange::ALL),
        from: Some(Set::Atom(HostAtom::AnyAddr)),
    };
    let bind_scope = [Literal::In(&peers)];
    Validation {
        connect_broader: one(refine::broader(model, compared, &[Kind::Connect], &[], &solver)),
        connect_narrower: one(refine::narrower(model, compared, &[Kind::Connect], &[], &solver)),
        bind_broader: one(refine::broader(model, compared, &[Kind::Bind], &bind_scope, &solver)),
        bind_narrower: one(refine::narrower(model, compared, &[Kind::Bind], &bind_scope, &solver)),
    }
}
