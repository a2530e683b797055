//! Host names in network rules. An IP ACL sees addresses only, so every
//! name atom is either left out (addresses mode), replaced by the
//! addresses it resolved to at build time (`--resolve`), or handed to the
//! policy's proxy (proxy mode). This module finds the names, says where
//! they stand (allowed or excluded) and substitutes resolved addresses.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use corral_compiler::ir::host::bits_to_ip;
use corral_compiler::ir::{Cidr, Effect, EndpointAtom, HostAtom, HostSet, Policy, Protos, Set};

use crate::space::{self, Ivs, Resolved};

/// Where a name atom occurs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NameUse {
    pub atom: HostAtom,
    /// True when the atom adds to what is permitted (an allow, not under
    /// the right side of a `-`); false when it takes away.
    pub allowed: bool,
    /// `connect` rule index, or `bind` rule index.
    pub rule: RuleIx,
    pub protos: Protos,
    /// The ports the atom is paired with (for bind, the rule's ports).
    pub ports: Ivs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleIx {
    Connect(usize),
    Bind(usize),
}

fn walk_hosts(set: &HostSet, positive: bool, out: &mut Vec<(HostAtom, bool)>) {
    match set {
        Set::Empty | Set::Atom(HostAtom::Cidr(_) | HostAtom::AnyAddr) => {}
        Set::Atom(a) => out.push((a.clone(), positive)),
        Set::Union(v) | Set::Inter(v) => v.iter().for_each(|s| walk_hosts(s, positive, out)),
        Set::Diff(a, b) => {
            walk_hosts(a, positive, out);
            walk_hosts(b, !positive, out);
        }
    }
}

fn walk_endpoints(set: &Set<EndpointAtom>, positive: bool, out: &mut Vec<(HostAtom, bool, Ivs)>) {
    match set {
        Set::Empty => {}
        Set::Atom(ep) => {
            let ports = space::ports(&ep.ports);
            let mut hosts = Vec::new();
            walk_hosts(&ep.hosts, positive, &mut hosts);
            out.extend(hosts.into_iter().map(|(h, p)| (h, p, ports.clone())));
        }
        Set::Union(v) | Set::Inter(v) => v.iter().for_each(|s| walk_endpoints(s, positive, out)),
        Set::Diff(a, b) => {
            walk_endpoints(a, positive, out);
            walk_endpoints(b, !positive, out);
        }
    }
}

/// Every name atom of the policy's connect and bind rules, in rule order.
pub fn name_uses(policy: &Policy) -> Vec<NameUse> {
    let mut out = Vec::new();
    for (i, rule) in policy.connects.iter().enumerate() {
        let mut found = Vec::new();
        walk_endpoints(&rule.endpoints, rule.effect == Effect::Allow, &mut found);
        for (atom, allowed, ports) in found {
            out.push(NameUse { atom, allowed, rule: RuleIx::Connect(i), protos: rule.protos, ports });
        }
    }
    for (i, rule) in policy.binds.iter().enumerate() {
        let Some(from) = &rule.from else { continue };
        let mut found = Vec::new();
        walk_hosts(from, rule.effect == Effect::Allow, &mut found);
        let ports = space::ports(&rule.ports);
        for (atom, allowed) in found {
            out.push(NameUse {
                atom,
                allowed,
                rule: RuleIx::Bind(i),
                protos: rule.protos,
                ports: ports.clone(),
            });
        }
    }
    out
}

/// Resolved addresses as host sets, for substitution into the policy.
fn addresses_set(addrs: &Ivs) -> HostSet {
    Set::union(addrs.iter().flat_map(|&(lo, hi)| cidrs_of(lo, hi)).map(|c| Set::Atom(HostAtom::Cidr(c))))
}

/// The CIDRs that cover `lo..=hi` exactly, in the 128-bit space (an IPv4
/// range is a range of IPv4-mapped addresses, so its CIDRs are the IPv4
/// ones).
pub fn cidrs_of(lo: u128, hi: u128) -> Vec<Cidr> {
    ipnet::Ipv6Subnets::new(Ipv6Addr::from(lo), Ipv6Addr::from(hi), 0)
        .map(|net| Cidr { addr: u128::from(net.network()), len: net.prefix_len() })
        .collect()
}

fn substitute_hosts(set: &HostSet, resolved: &Resolved) -> HostSet {
    match set {
        Set::Atom(HostAtom::Name(n)) => match resolved.get(n) {
            Some(addrs) => addresses_set(addrs),
            None => set.clone(),
        },
        Set::Atom(HostAtom::Subdomains(s)) => match resolved.get(&format!("*.{s}")) {
            Some(addrs) => addresses_set(addrs),
            None => set.clone(),
        },
        Set::Empty | Set::Atom(_) => set.clone(),
        Set::Union(v) => Set::Union(v.iter().map(|s| substitute_hosts(s, resolved)).collect()),
        Set::Inter(v) => Set::Inter(v.iter().map(|s| substitute_hosts(s, resolved)).collect()),
        Set::Diff(a, b) => {
            Set::Diff(Box::new(substitute_hosts(a, resolved)), Box::new(substitute_hosts(b, resolved)))
        }
    }
}

fn substitute_endpoints(set: &Set<EndpointAtom>, resolved: &Resolved) -> Set<EndpointAtom> {
    match set {
        Set::Empty => Set::Empty,
        Set::Atom(ep) => {
            Set::Atom(EndpointAtom { hosts: substitute_hosts(&ep.hosts, resolved), ports: ep.ports.clone() })
        }
        Set::Union(v) => Set::Union(v.iter().map(|s| substitute_endpoints(s, resolved)).collect()),
        Set::Inter(v) => Set::Inter(v.iter().map(|s| substitute_endpoints(s, resolved)).collect()),
        Set::Diff(a, b) => Set::Diff(
            Box::new(substitute_endpoints(a, resolved)),
            Box::new(substitute_endpoints(b, resolved)),
        ),
    }
}

/// `policy` with every resolved name replaced by its addresses: the policy
/// that a `--resolve` build is proven against.
pub fn substitute(policy: &Policy, resolved: &Resolved) -> Policy {
    let mut out = policy.clone();
    for rule in &mut out.connects {
        rule.endpoints = substitute_endpoints(&rule.endpoints, resolved);
    }
    for rule in &mut out.binds {
        if let Some(from) = &rule.from {
            rule.from = Some(substitute_hosts(from, resolved));
        }
    }
    out
}

/// The names whose addresses are fixed by convention: `localhost` and
/// every name below it are the loopback addresses (RFC 6761 §6.3).
pub fn conventional() -> Resolved {
    let v4 = 0xffff_7f00_0000_u128;
    let loopback = space::normalize(vec![(v4, v4 | 0xff_ffff), (1, 1)]);
    Resolved::from([("localhost".to_owned(), loopback.clone()), ("*.localhost".to_owned(), loopback)])
}

/// The key of a name atom in a [`Resolved`] map.
pub fn key(atom: &HostAtom) -> Option<String> {
    match atom {
        HostAtom::Name(n) => Some(n.clone()),
        HostAtom::Subdomains(s) => Some(format!("*.{s}")),
        _ => None,
    }
}

/// For every resolved address, the names that resolved to it.
pub fn sharing(resolved: &Resolved) -> BTreeMap<u128, Vec<String>> {
    let mut by_addr: BTreeMap<u128, Vec<String>> = BTreeMap::new();
    for (name, addrs) in resolved {
        for &(lo, hi) in addrs {
            // Resolved addresses are single hosts; a range is only possible
            // when a test resolver returns one.
            let mut a = lo;
            loop {
                by_addr.entry(a).or_default().push(name.clone());
                if a >= hi || by_addr.len() > 100_000 {
                    break;
                }
                a += 1;
            }
        }
    }
    by_addr.retain(|_, names| names.len() > 1);
    by_addr
}

/// An address for humans: dotted IPv4 or IPv6.
pub fn show_addr(bits: u128) -> String {
    bits_to_ip(bits).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_cover_a_range_exactly() {
        let v4 = |s: &str| {
            corral_compiler::ir::host::addr_bits(s.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])))
        };
        let got: Vec<String> =
            cidrs_of(v4("10.0.0.1"), v4("10.0.0.6")).iter().map(ToString::to_string).collect();
        assert_eq!(got, ["10.0.0.1", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6"]);
        assert_eq!(cidrs_of(0, u128::MAX).len(), 1);
    }
}
