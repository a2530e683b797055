//! Network rules: TCP ports for `bind_tcp` and `connect_tcp` (ABI 4).
//! Landlock matches ports only, never hosts or peers.

use std::collections::BTreeSet;

use corral_compiler::eval::{Access, Evaluator, Host};
use corral_compiler::ir::{Effect, HostAtom, Policy, PortRange, Proto, Set};

/// Hosts tried to find one a port-only rule would wrongly allow.
const PROBES: [&str; 3] = ["corral-probe.invalid", "192.0.2.1", "2001:db8::1"];

/// The ports granted for one TCP access, and the accesses the ports let
/// through although the policy denies them (by rule index).
#[derive(Debug, Default)]
pub struct PortLowering {
    pub ports: Vec<u16>,
    pub broader: Vec<(usize, String)>,
}

impl PortLowering {
    /// Every port is granted: the access need not be handled at all.
    pub fn all_ports(&self) -> bool {
        self.ports.len() == usize::from(u16::MAX) + 1
    }
}

/// A host the atom contains, to check that a port is reachable at all.
fn sample_host(atom: &HostAtom) -> Option<Host> {
    let text = match atom {
        HostAtom::Name(n) => n.clone(),
        HostAtom::Subdomains(s) => format!("corral-probe.{s}"),
        // The network's first address stands for the range.
        HostAtom::Cidr(c) => return Some(Host::Addr(c.addr)),
        HostAtom::AnyName => "corral-probe.invalid".to_owned(),
        HostAtom::AnyAddr => "192.0.2.1".to_owned(),
    };
    Host::parse(&text).ok()
}

fn probes() -> Vec<Host> {
    PROBES.iter().filter_map(|p| Host::parse(p).ok()).collect()
}

fn show(host: &Host, port: u16) -> String {
    match host {
        Host::Name(n) => format!("{n}:{port}"),
        Host::Addr(_) => {
            let text =
                PROBES.iter().find(|p| Host::parse(p).ok().as_ref() == Some(host)).copied().unwrap_or("?");
            if text.contains(':') { format!("[{text}]:{port}") } else { format!("{text}:{port}") }
        }
    }
}

/// The ports of one endpoint atom and hosts to try on them.
type PortsAndHosts = (Set<PortRange>, Vec<Host>);

fn connect(proto: Proto, host: Host, port: u16) -> Access {
    Access::Connect { proto, host, port }
}

/// TCP connect: a port is granted when some allowed host is reachable on it.
pub fn lower_connect(policy: &Policy, eval: &Evaluator<'_>) -> PortLowering {
    let mut out = PortLowering::default();
    let probes = probes();
    let allows: Vec<(usize, Vec<PortsAndHosts>)> = policy
        .connects
        .iter()
        .enumerate()
        .filter(|(_, r)| r.effect == Effect::Allow && r.protos.tcp)
        .map(|(i, r)| {
            let atoms = r
                .endpoints
                .atoms()
                .into_iter()
                .map(|e| {
                    let mut hosts: Vec<Host> = e.hosts.atoms().into_iter().filter_map(sample_host).collect();
                    hosts.extend(probes.iter().cloned());
                    (e.ports.clone(), hosts)
                })
                .collect();
            (i, atoms)
        })
        .collect();
    for port in 0..=u16::MAX {
        let mut granted_by = None;
        for (rule, atoms) in &allows {
            let reachable = atoms.iter().any(|(ports, hosts)| {
                ports.contains_port(port)
                    && hosts.iter().any(|h| eval.is_permitted(&connect(Proto::Tcp, h.clone(), port)))
            });
            if reachable {
                granted_by = Some(*rule);
                break;
            }
        }
        let Some(rule) = granted_by else { continue };
        out.ports.push(port);
        if let Some(h) = probes.iter().find(|h| !eval.is_permitted(&connect(Proto::Tcp, (*h).clone(), port)))
        {
            out.broader.push((rule, format!("connect tcp {}", show(h, port))));
        }
    }
    out
}

/// TCP bind: a port is granted when listening on it is permitted.
pub fn lower_bind(policy: &Policy, eval: &Evaluator<'_>) -> PortLowering {
    let mut out = PortLowering::default();
    let probes = probes();
    let tcp_rules: BTreeSet<usize> = policy
        .binds
        .iter()
        .enumerate()
        .filter(|(_, r)| r.effect == Effect::Allow && r.protos.tcp)
        .map(|(i, _)| i)
        .collect();
    if tcp_rules.is_empty() {
        return out;
    }
    for port in 0..=u16::MAX {
        let listen = Access::Bind { proto: Proto::Tcp, port, peer: None };
        let decision = eval.decide(&listen);
        if !decision.permitted {
            continue;
        }
        out.ports.push(port);
        let rule = decision.allows.first().map_or(0, |r| match r {
            corral_compiler::eval::RuleRef::Bind(i) => *i,
            _ => 0,
        });
        let peer = probes.iter().find(|h| {
            !eval.is_permitted(&Access::Bind { proto: Proto::Tcp, port, peer: Some((*h).clone()) })
        });
        if let Some(h) = peer {
            let shown = show(h, 0);
            let host = shown.trim_end_matches(":0").trim_start_matches('[').trim_end_matches(']');
            out.broader.push((rule, format!("bind tcp {port} from {host}")));
        }
    }
    out
}
