//! The address and port projection of a policy's network rules, computed
//! exactly. Addresses live in the IR's 128-bit space (IPv4 as its
//! IPv4-mapped form); a set of addresses or ports is a sorted list of
//! disjoint, non-adjacent inclusive intervals, and a set of (address,
//! port) pairs is a piecewise map from address intervals to port sets.
//! Names never match addresses (LANGUAGE.md §3), so they contribute
//! nothing here unless the caller resolved them to addresses.

use std::collections::BTreeMap;

use corral_compiler::ir::{Effect, EndpointSet, HostAtom, HostSet, Policy, PortSet, Proto, Set};

/// Sorted, disjoint, non-adjacent inclusive intervals.
pub type Ivs = Vec<(u128, u128)>;

/// Sorted, disjoint address intervals, each with a non-empty port set;
/// adjacent intervals with equal port sets are merged.
pub type Pw = Vec<(u128, u128, Ivs)>;

/// Every port.
pub fn all_ports() -> Ivs {
    vec![(0, u128::from(u16::MAX))]
}

pub fn normalize(mut v: Vec<(u128, u128)>) -> Ivs {
    v.sort_unstable();
    let mut out: Ivs = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if last.1 == u128::MAX || lo <= last.1 + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

pub fn union(a: &Ivs, b: &Ivs) -> Ivs {
    if a.is_empty() {
        return b.clone();
    }
    if b.is_empty() {
        return a.clone();
    }
    normalize(a.iter().chain(b.iter()).copied().collect())
}

pub fn inter(a: &Ivs, b: &Ivs) -> Ivs {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 { i += 1 } else { j += 1 }
    }
    out
}

fn complement(a: &Ivs) -> Ivs {
    let mut out = Vec::new();
    let mut next = Some(0u128);
    for &(lo, hi) in a {
        if let Some(n) = next {
            if lo > n {
                out.push((n, lo - 1));
            }
        }
        next = hi.checked_add(1);
    }
    if let Some(n) = next {
        out.push((n, u128::MAX));
    }
    out
}

pub fn diff(a: &Ivs, b: &Ivs) -> Ivs {
    if b.is_empty() {
        return a.clone();
    }
    inter(a, &complement(b))
}

/// Combines two piecewise maps segment by segment.
pub fn combine(a: &Pw, b: &Pw, f: impl Fn(Option<&Ivs>, Option<&Ivs>) -> Ivs) -> Pw {
    let mut cuts: Vec<u128> = Vec::with_capacity(2 * (a.len() + b.len()) + 1);
    cuts.push(0);
    for &(lo, hi, _) in a.iter().chain(b.iter()) {
        cuts.push(lo);
        if let Some(n) = hi.checked_add(1) {
            cuts.push(n);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let (mut i, mut j) = (0, 0);
    let mut out: Pw = Vec::new();
    for (k, &start) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).map_or(u128::MAX, |n| n - 1);
        while i < a.len() && a[i].1 < start {
            i += 1;
        }
        while j < b.len() && b[j].1 < start {
            j += 1;
        }
        let va = a.get(i).filter(|s| s.0 <= start).map(|s| &s.2);
        let vb = b.get(j).filter(|s| s.0 <= start).map(|s| &s.2);
        if va.is_none() && vb.is_none() {
            continue;
        }
        let v = f(va, vb);
        if v.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(start) && last.2 == v => last.1 = end,
            _ => out.push((start, end, v)),
        }
    }
    out
}

pub fn pw_union(a: &Pw, b: &Pw) -> Pw {
    if a.is_empty() {
        return b.clone();
    }
    if b.is_empty() {
        return a.clone();
    }
    combine(a, b, |x, y| match (x, y) {
        (Some(x), Some(y)) => union(x, y),
        (Some(x), None) | (None, Some(x)) => x.clone(),
        (None, None) => Vec::new(),
    })
}

fn pw_inter(a: &Pw, b: &Pw) -> Pw {
    combine(a, b, |x, y| match (x, y) {
        (Some(x), Some(y)) => inter(x, y),
        _ => Vec::new(),
    })
}

pub fn pw_diff(a: &Pw, b: &Pw) -> Pw {
    if b.is_empty() {
        return a.clone();
    }
    combine(a, b, |x, y| match (x, y) {
        (Some(x), Some(y)) => diff(x, y),
        (Some(x), None) => x.clone(),
        _ => Vec::new(),
    })
}

/// The union of many maps, pairwise so that n rules cost n log n merges.
pub fn pw_union_all(mut maps: Vec<Pw>) -> Pw {
    while maps.len() > 1 {
        let mut next = Vec::with_capacity(maps.len().div_ceil(2));
        let mut it = maps.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                Some(b) => next.push(pw_union(&a, &b)),
                None => next.push(a),
            }
        }
        maps = next;
    }
    maps.pop().unwrap_or_default()
}

/// Addresses that names resolved to, by name (`*.suffix` for a wildcard).
pub type Resolved = BTreeMap<String, Ivs>;

/// The addresses of a host set; a name counts with its resolved addresses.
pub fn hosts(set: &HostSet, resolved: &Resolved) -> Ivs {
    match set {
        Set::Empty => Vec::new(),
        Set::Atom(HostAtom::Cidr(c)) => vec![(c.first(), c.last())],
        Set::Atom(HostAtom::AnyAddr) => vec![(0, u128::MAX)],
        Set::Atom(HostAtom::Name(n)) => resolved.get(n).cloned().unwrap_or_default(),
        Set::Atom(HostAtom::Subdomains(s)) => resolved.get(&format!("*.{s}")).cloned().unwrap_or_default(),
        Set::Atom(HostAtom::AnyName) => Vec::new(),
        Set::Union(v) => normalize(v.iter().flat_map(|s| hosts(s, resolved)).collect()),
        Set::Inter(v) => {
            let mut it = v.iter();
            let first = it.next().map(|s| hosts(s, resolved)).unwrap_or_default();
            it.fold(first, |acc, s| inter(&acc, &hosts(s, resolved)))
        }
        Set::Diff(a, b) => diff(&hosts(a, resolved), &hosts(b, resolved)),
    }
}

pub fn ports(set: &PortSet) -> Ivs {
    match set {
        Set::Empty => Vec::new(),
        Set::Atom(r) => vec![(u128::from(r.lo), u128::from(r.hi))],
        Set::Union(v) => normalize(v.iter().flat_map(ports).collect()),
        Set::Inter(v) => {
            let mut it = v.iter();
            let first = it.next().map(ports).unwrap_or_default();
            it.fold(first, |acc, s| inter(&acc, &ports(s)))
        }
        Set::Diff(a, b) => diff(&ports(a), &ports(b)),
    }
}

fn product(addrs: &Ivs, ports: Ivs) -> Pw {
    if ports.is_empty() {
        return Vec::new();
    }
    addrs.iter().map(|&(lo, hi)| (lo, hi, ports.clone())).collect()
}

pub fn endpoints(set: &EndpointSet, resolved: &Resolved) -> Pw {
    match set {
        Set::Empty => Vec::new(),
        Set::Atom(ep) => product(&hosts(&ep.hosts, resolved), ports(&ep.ports)),
        Set::Union(v) => pw_union_all(v.iter().map(|s| endpoints(s, resolved)).collect()),
        Set::Inter(v) => {
            let mut it = v.iter();
            let first = it.next().map(|s| endpoints(s, resolved)).unwrap_or_default();
            it.fold(first, |acc, s| pw_inter(&acc, &endpoints(s, resolved)))
        }
        Set::Diff(a, b) => pw_diff(&endpoints(a, resolved), &endpoints(b, resolved)),
    }
}

/// What one direction permits for one protocol: destination (connect) or
/// peer (bind) address intervals, each with its ports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permitted {
    pub connect_tcp: Pw,
    pub connect_udp: Pw,
    pub bind_tcp: Pw,
    pub bind_udp: Pw,
}

/// The exact address projection of `policy`'s connect and bind rules:
/// allows minus denies, per protocol. `extra_connect_tcp` is added to the
/// allowed connects (the proxy's endpoint in proxy mode).
pub fn permitted(policy: &Policy, resolved: &Resolved, extra_connect_tcp: &Pw) -> Permitted {
    let mut out = Permitted::default();
    for proto in [Proto::Tcp, Proto::Udp] {
        let mut allow = Vec::new();
        let mut deny = Vec::new();
        for rule in policy.connects.iter().filter(|r| r.protos.contains(proto)) {
            let pw = endpoints(&rule.endpoints, resolved);
            match rule.effect {
                Effect::Allow => allow.push(pw),
                Effect::Deny => deny.push(pw),
            }
        }
        if proto == Proto::Tcp {
            allow.push(extra_connect_tcp.clone());
        }
        let connect = pw_diff(&pw_union_all(allow), &pw_union_all(deny));
        let mut allow = Vec::new();
        let mut deny = Vec::new();
        for rule in policy.binds.iter().filter(|r| r.protos.contains(proto)) {
            let peers = match &rule.from {
                None => vec![(0, u128::MAX)],
                Some(from) => hosts(from, resolved),
            };
            let pw = product(&peers, ports(&rule.ports));
            match rule.effect {
                Effect::Allow => allow.push(pw),
                Effect::Deny => deny.push(pw),
            }
        }
        let bind = pw_diff(&pw_union_all(allow), &pw_union_all(deny));
        match proto {
            Proto::Tcp => (out.connect_tcp, out.bind_tcp) = (connect, bind),
            Proto::Udp => (out.connect_udp, out.bind_udp) = (connect, bind),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_algebra() {
        let a = normalize(vec![(5, 9), (0, 3), (4, 4), (20, 30)]);
        assert_eq!(a, vec![(0, 9), (20, 30)]);
        assert_eq!(diff(&a, &vec![(2, 21)]), vec![(0, 1), (22, 30)]);
        assert_eq!(inter(&a, &vec![(8, 25)]), vec![(8, 9), (20, 25)]);
        assert_eq!(complement(&vec![(0, u128::MAX)]), Vec::<(u128, u128)>::new());
        assert_eq!(normalize(vec![(0, u128::MAX), (3, 4)]), vec![(0, u128::MAX)]);
    }

    #[test]
    fn piecewise_difference_keeps_the_rest_of_each_range() {
        let a: Pw = vec![(0, 100, vec![(80, 80), (443, 443)])];
        let b: Pw = vec![(10, 20, vec![(443, 443)]), (u128::MAX, u128::MAX, vec![(1, 1)])];
        let d = pw_diff(&a, &b);
        assert_eq!(
            d,
            vec![
                (0, 9, vec![(80, 80), (443, 443)]),
                (10, 20, vec![(80, 80)]),
                (21, 100, vec![(80, 80), (443, 443)])
            ]
        );
        assert_eq!(
            pw_union(&d, &b)[0],
            (0, 100, vec![(80, 80), (443, 443)]),
            "the union restores what the difference took"
        );
    }
}

#[cfg(test)]
mod properties {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    /// A small piecewise map over addresses 0..32 and ports 0..8, as the
    /// set of (address, port) pairs it holds.
    fn pairs(pw: &Pw) -> BTreeSet<(u128, u128)> {
        let mut out = BTreeSet::new();
        for (lo, hi, ports) in pw {
            for a in *lo..=*hi {
                for &(pl, ph) in ports {
                    for p in pl..=ph {
                        out.insert((a, p));
                    }
                }
            }
        }
        out
    }

    fn arb_pw() -> impl Strategy<Value = Pw> {
        prop::collection::vec((0u128..32, 0u128..6, 0u128..8, 0u128..3), 0..5).prop_map(|boxes| {
            let maps = boxes
                .into_iter()
                .map(|(a, w, p, pw)| vec![(a, (a + w).min(31), vec![(p, (p + pw).min(7))])])
                .collect();
            pw_union_all(maps)
        })
    }

    /// Sorted, disjoint, adjacent segments never with equal ports.
    fn well_formed(pw: &Pw) -> bool {
        pw.windows(2).all(|w| w[0].1 < w[1].0 && !(w[0].1 + 1 == w[1].0 && w[0].2 == w[1].2))
            && pw.iter().all(|(lo, hi, p)| lo <= hi && !p.is_empty() && normalize(p.clone()) == *p)
    }

    proptest! {
        #[test]
        fn union_and_difference_are_the_set_operations(a in arb_pw(), b in arb_pw()) {
            let (sa, sb) = (pairs(&a), pairs(&b));
            let u = pw_union(&a, &b);
            let d = pw_diff(&a, &b);
            let i = pw_inter(&a, &b);
            prop_assert!(well_formed(&u) && well_formed(&d) && well_formed(&i));
            prop_assert_eq!(pairs(&u), sa.union(&sb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(pairs(&d), sa.difference(&sb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(pairs(&i), sa.intersection(&sb).copied().collect::<BTreeSet<_>>());
        }
    }
}
