//! Network rules as boxes of (protocol, port range, address ranges): what
//! both Windows targets need, since firewall rules and MXC egress rules
//! name addresses and ports, never DNS names.
//!
//! Addresses live in the IR's one 128-bit space (IPv4 as `::ffff:a.b.c.d`),
//! as sorted, disjoint, inclusive intervals.

use corral_compiler::ir::Effect;
use corral_compiler::ir::host::builtin_set;
use corral_compiler::ir::{Cidr, EndpointSet, HostAtom, HostSet, Policy, PortSet, Proto, Set};

/// Sorted, disjoint, inclusive intervals.
pub type Ranges = Vec<(u128, u128)>;

pub fn normalize(mut v: Ranges) -> Ranges {
    v.sort_unstable();
    let mut out: Ranges = Vec::new();
    for (lo, hi) in v {
        match out.last_mut() {
            Some((_, h)) if lo <= h.saturating_add(1) => *h = (*h).max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

pub fn union(a: &Ranges, b: &Ranges) -> Ranges {
    normalize(a.iter().chain(b).copied().collect())
}

pub fn inter(a: &Ranges, b: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for &(alo, ahi) in a {
        for &(blo, bhi) in b {
            let (lo, hi) = (alo.max(blo), ahi.min(bhi));
            if lo <= hi {
                out.push((lo, hi));
            }
        }
    }
    normalize(out)
}

pub fn diff(a: &Ranges, b: &Ranges) -> Ranges {
    let mut out = Vec::new();
    for &(lo, hi) in a {
        let mut cur = lo;
        let mut done = false;
        for &(blo, bhi) in b {
            if bhi < cur || blo > hi {
                continue;
            }
            if blo > cur {
                out.push((cur, blo - 1));
            }
            if bhi >= hi {
                done = true;
                break;
            }
            cur = bhi + 1;
        }
        if !done {
            out.push((cur, hi));
        }
    }
    normalize(out)
}

/// The addresses of a host set (names contribute none).
pub fn host_addrs(set: &HostSet) -> Ranges {
    match set {
        Set::Empty => Vec::new(),
        Set::Atom(HostAtom::AnyAddr) => vec![(0, u128::MAX)],
        Set::Atom(HostAtom::Cidr(c)) => vec![(c.first(), c.last())],
        Set::Atom(_) => Vec::new(),
        Set::Union(v) => normalize(v.iter().flat_map(host_addrs).collect()),
        Set::Inter(v) => {
            let mut it = v.iter().map(host_addrs);
            let first = it.next().unwrap_or_default();
            it.fold(first, |acc, r| inter(&acc, &r))
        }
        Set::Diff(a, b) => diff(&host_addrs(a), &host_addrs(b)),
    }
}

/// True when the host set may hold a DNS name.
pub fn has_names(set: &HostSet) -> bool {
    match set {
        Set::Empty => false,
        Set::Atom(a) => matches!(a, HostAtom::Name(_) | HostAtom::Subdomains(_) | HostAtom::AnyName),
        Set::Union(v) => v.iter().any(has_names),
        Set::Inter(v) => v.iter().all(has_names),
        Set::Diff(a, _) => has_names(a),
    }
}

/// The port intervals of a port set.
pub fn port_ranges(set: &PortSet) -> Ranges {
    match set {
        Set::Empty => Vec::new(),
        Set::Atom(r) => vec![(u128::from(r.lo), u128::from(r.hi))],
        Set::Union(v) => normalize(v.iter().flat_map(port_ranges).collect()),
        Set::Inter(v) => {
            let mut it = v.iter().map(port_ranges);
            let first = it.next().unwrap_or_default();
            it.fold(first, |acc, r| inter(&acc, &r))
        }
        Set::Diff(a, b) => diff(&port_ranges(a), &port_ranges(b)),
    }
}

/// The addresses of a built-in host set.
pub fn builtin_addrs(name: &str) -> Ranges {
    builtin_set(name).map(|s| host_addrs(&s)).unwrap_or_default()
}

/// Every address.
pub fn all_addrs() -> Ranges {
    vec![(0, u128::MAX)]
}

/// One rectangle of allowed or denied traffic.
#[derive(Clone, Debug)]
struct Rect {
    tcp: bool,
    udp: bool,
    ports: Ranges,
    addrs: Ranges,
}

/// Endpoint sets built from atoms and unions; `None` for intersections or
/// differences of endpoint sets, which no Windows target can express.
fn endpoint_rects(set: &EndpointSet, tcp: bool, udp: bool, out: &mut Vec<Rect>) -> bool {
    match set {
        Set::Empty => true,
        Set::Atom(a) => {
            out.push(Rect { tcp, udp, ports: port_ranges(&a.ports), addrs: host_addrs(&a.hosts) });
            true
        }
        Set::Union(v) => v.iter().all(|s| endpoint_rects(s, tcp, udp, out)),
        Set::Inter(_) | Set::Diff(..) => false,
    }
}

/// Addresses allowed for one protocol over one port interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub lo: u16,
    pub hi: u16,
    pub addrs: Ranges,
}

/// The address part of a policy's traffic in one direction: for each
/// protocol, the port axis cut into intervals with the addresses the
/// policy permits on each. Rules the boxes cannot hold are counted.
#[derive(Clone, Debug, Default)]
pub struct Boxes {
    pub tcp: Vec<Segment>,
    pub udp: Vec<Segment>,
    /// Indexes of rules whose sets are intersections or differences of
    /// endpoint sets: left out (an allow) or not enforced (a deny).
    pub skipped: Vec<usize>,
}

impl Boxes {
    pub fn of(&self, proto: Proto) -> &[Segment] {
        match proto {
            Proto::Tcp => &self.tcp,
            Proto::Udp => &self.udp,
        }
    }

    /// Every address permitted on some port, for either protocol.
    pub fn all_addrs(&self) -> Ranges {
        normalize(self.tcp.iter().chain(&self.udp).flat_map(|s| s.addrs.clone()).collect())
    }
}

fn segments(allows: &[Rect], denies: &[Rect], proto: Proto) -> Vec<Segment> {
    let has = |r: &&Rect| match proto {
        Proto::Tcp => r.tcp,
        Proto::Udp => r.udp,
    };
    let allows: Vec<&Rect> = allows.iter().filter(has).collect();
    let denies: Vec<&Rect> = denies.iter().filter(has).collect();
    let mut cuts: Vec<u128> = vec![0, 65536];
    for r in allows.iter().chain(&denies) {
        for &(lo, hi) in &r.ports {
            cuts.push(lo);
            cuts.push(hi + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Segment> = Vec::new();
    for pair in cuts.windows(2) {
        let (Some(&lo), Some(&next)) = (pair.first(), pair.get(1)) else { continue };
        if lo > 65535 {
            break;
        }
        let covers = |r: &&&Rect| r.ports.iter().any(|&(a, b)| a <= lo && lo <= b);
        let allowed = normalize(allows.iter().filter(covers).flat_map(|r| r.addrs.clone()).collect());
        let denied = normalize(denies.iter().filter(covers).flat_map(|r| r.addrs.clone()).collect());
        let addrs = diff(&allowed, &denied);
        let (lo16, hi16) =
            (u16::try_from(lo).unwrap_or(u16::MAX), u16::try_from(next - 1).unwrap_or(u16::MAX));
        match out.last_mut() {
            Some(prev) if prev.addrs == addrs && u32::from(prev.hi) + 1 == u32::from(lo16) => prev.hi = hi16,
            _ => out.push(Segment { lo: lo16, hi: hi16, addrs }),
        }
    }
    out.retain(|s| !s.addrs.is_empty());
    out
}

/// The address boxes of the policy's `connect` rules.
pub fn connect_boxes(policy: &Policy) -> Boxes {
    let (mut allows, mut denies, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (i, r) in policy.connects.iter().enumerate() {
        let target = if r.effect == Effect::Allow { &mut allows } else { &mut denies };
        if !endpoint_rects(&r.endpoints, r.protos.tcp, r.protos.udp, target) {
            skipped.push(i);
        }
    }
    Boxes {
        tcp: segments(&allows, &denies, Proto::Tcp),
        udp: segments(&allows, &denies, Proto::Udp),
        skipped,
    }
}

/// The peer boxes of the policy's `bind` rules (a rule without `from`
/// covers every address).
pub fn bind_boxes(policy: &Policy) -> Boxes {
    let (mut allows, mut denies) = (Vec::new(), Vec::new());
    for r in &policy.binds {
        let addrs = r.from.as_ref().map_or_else(all_addrs, host_addrs);
        let rect = Rect { tcp: r.protos.tcp, udp: r.protos.udp, ports: port_ranges(&r.ports), addrs };
        if r.effect == Effect::Allow { allows.push(rect) } else { denies.push(rect) }
    }
    Boxes {
        tcp: segments(&allows, &denies, Proto::Tcp),
        udp: segments(&allows, &denies, Proto::Udp),
        skipped: Vec::new(),
    }
}

/// True when some allow `connect` rule may reach a DNS name.
pub fn allows_names(policy: &Policy) -> bool {
    policy.connects.iter().any(|r| r.effect == Effect::Allow && endpoint_has_names(&r.endpoints))
}

fn endpoint_has_names(set: &EndpointSet) -> bool {
    match set {
        Set::Empty => false,
        Set::Atom(a) => has_names(&a.hosts),
        Set::Union(v) | Set::Inter(v) => v.iter().any(endpoint_has_names),
        Set::Diff(a, _) => endpoint_has_names(a),
    }
}

/// The IPv4 addresses in the 128-bit space: `::ffff:0.0.0.0/96`.
const V4: (u128, u128) = (0xffff_0000_0000, 0xffff_ffff_ffff);

/// The smallest list of CIDRs covering exactly `ranges`, as text (IPv4
/// ranges in dotted form). No IPv6 CIDR contains the IPv4 block: firewalls
/// and MXC read `::/64` as IPv6 only, so IPv4 is always written apart.
pub fn cidrs(ranges: &Ranges) -> Vec<String> {
    let mut split = Vec::new();
    for &(lo, hi) in ranges {
        for (a, b) in [(lo, hi.min(V4.0 - 1)), (lo.max(V4.0), hi.min(V4.1)), (lo.max(V4.1 + 1), hi)] {
            if a <= b {
                split.push((a, b));
            }
        }
    }
    let mut out = Vec::new();
    for (lo, hi) in split {
        let mut cur = lo;
        loop {
            // The largest aligned block 2^k starting at `cur` that fits.
            let mut k: u32 = 0;
            while k < 128 {
                let next = k + 1;
                let mask = if next == 128 { u128::MAX } else { (1u128 << next) - 1 };
                if cur & mask == 0 && cur | mask <= hi {
                    k = next;
                } else {
                    break;
                }
            }
            let len = u8::try_from(128 - k).unwrap_or(0);
            let cidr = Cidr { addr: cur, len };
            out.push(cidr.to_string());
            let last = cidr.last();
            if last >= hi {
                break;
            }
            cur = last + 1;
        }
    }
    out
}

/// `ranges` as a host set of CIDR atoms.
pub fn host_set(ranges: &Ranges) -> HostSet {
    Set::union(cidrs(ranges).iter().filter_map(|c| HostAtom::parse(c).ok()).map(Set::Atom))
}

/// A port interval as text: `443`, `1024-65535`.
pub fn port_text(lo: u16, hi: u16) -> String {
    if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_arithmetic() {
        let a = vec![(0, 10), (20, 30)];
        assert_eq!(diff(&a, &vec![(5, 25)]), vec![(0, 4), (26, 30)]);
        assert_eq!(inter(&a, &vec![(5, 25)]), vec![(5, 10), (20, 25)]);
        assert_eq!(union(&a, &vec![(11, 19)]), vec![(0, 30)]);
        assert_eq!(diff(&vec![(0, u128::MAX)], &vec![(0, u128::MAX)]), Vec::<(u128, u128)>::new());
    }

    #[test]
    fn cidr_covers_are_minimal_and_exact() {
        let private = builtin_addrs("private");
        let text = cidrs(&private);
        assert!(text.contains(&"10.0.0.0/8".to_owned()), "{text:?}");
        assert!(text.contains(&"fc00::/7".to_owned()), "{text:?}");
        assert_eq!(text.len(), 5, "{text:?}");
        assert_eq!(host_addrs(&host_set(&private)), private);
        let internet = builtin_addrs("internet");
        assert_eq!(host_addrs(&host_set(&internet)), internet);
        // IPv4 is written apart, and no IPv6 CIDR holds it.
        let all = cidrs(&all_addrs());
        assert!(all.contains(&"0.0.0.0/0".to_owned()), "{all:?}");
        assert!(
            !all.contains(&"::/0".to_owned()) && !all.iter().any(|c| c == "::/64" || c == "::/96"),
            "{all:?}"
        );
        assert_eq!(host_addrs(&host_set(&all_addrs())), all_addrs());
    }
}
