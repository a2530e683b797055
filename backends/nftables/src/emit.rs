//! The ruleset as data, and its two forms: nft text and libnftables JSON
//! (libnftables-json(5)). Both are printed from the same [`Ruleset`], in
//! sorted order, so the same policy gives the same bytes.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use corral_compiler::ir::Proto;
use serde_json::{Value, json};

use crate::space::Pw;

const V4_MAPPED: u128 = 0xffff_0000_0000;
const V4_LAST: u128 = V4_MAPPED | 0xffff_ffff;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn payload(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    fn addr_type(self) -> &'static str {
        match self {
            Family::V4 => "ipv4_addr",
            Family::V6 => "ipv6_addr",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Family::V4 => "v4",
            Family::V6 => "v6",
        }
    }
}

/// `connect` rules filter the agent's outgoing packets by destination;
/// `bind` rules its incoming packets by source (the peer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    Connect,
    Bind,
}

impl Direction {
    fn chain(self) -> &'static str {
        match self {
            Direction::Connect => "output",
            Direction::Bind => "input",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Direction::Connect => "daddr",
            Direction::Bind => "saddr",
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            Direction::Connect => "connect",
            Direction::Bind => "bind",
        }
    }
}

pub fn proto_keyword(proto: Proto) -> &'static str {
    match proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    }
}

/// One set element: an address range in the family's own numbers (an
/// IPv4 address as its 32 bits) and, in a concatenated set, a port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Elem {
    pub lo: u128,
    pub hi: u128,
    pub ports: Option<(u16, u16)>,
}

/// One named set and the rule that accepts what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftSet {
    pub direction: Direction,
    pub proto: Proto,
    pub family: Family,
    /// `addr . port` elements; when false, addresses permitted on every port.
    pub concat: bool,
    pub elems: Vec<Elem>,
}

impl NftSet {
    pub fn name(&self) -> String {
        let base =
            format!("{}_{}_{}", self.direction.keyword(), proto_keyword(self.proto), self.family.suffix());
        if self.concat { base } else { format!("{base}_allports") }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruleset {
    pub table: String,
    pub policy: String,
    /// `addresses`, `resolve` or `proxy`.
    pub mode: String,
    pub sets: Vec<NftSet>,
}

/// Splits one permitted map into the sets of each family: IPv4 from the
/// mapped range, IPv6 from the rest.
pub fn sets_of(direction: Direction, proto: Proto, pw: &Pw) -> Vec<NftSet> {
    let mut out = Vec::new();
    for family in [Family::V4, Family::V6] {
        let mut concat = Vec::new();
        let mut all = Vec::new();
        for (lo, hi, ports) in pw {
            let pieces: Vec<(u128, u128)> = match family {
                Family::V4 => {
                    let (l, h) = ((*lo).max(V4_MAPPED), (*hi).min(V4_LAST));
                    if l > h { Vec::new() } else { vec![(l - V4_MAPPED, h - V4_MAPPED)] }
                }
                Family::V6 => {
                    let mut v = Vec::new();
                    if *lo < V4_MAPPED {
                        v.push((*lo, (*hi).min(V4_MAPPED - 1)));
                    }
                    if *hi > V4_LAST {
                        v.push(((*lo).max(V4_LAST + 1), *hi));
                    }
                    v
                }
            };
            for (l, h) in pieces {
                if ports.as_slice() == [(0, u128::from(u16::MAX))] {
                    all.push(Elem { lo: l, hi: h, ports: None });
                } else {
                    for &(pl, ph) in ports {
                        let (pl, ph) =
                            (u16::try_from(pl).unwrap_or(u16::MAX), u16::try_from(ph).unwrap_or(u16::MAX));
                        concat.push(Elem { lo: l, hi: h, ports: Some((pl, ph)) });
                    }
                }
            }
        }
        for (is_concat, elems) in [(true, concat), (false, all)] {
            if !elems.is_empty() {
                out.push(NftSet { direction, proto, family, concat: is_concat, elems });
            }
        }
    }
    out
}

/// The prefix length when `lo..=hi` is exactly one prefix of `bits` bits.
fn prefix_len(lo: u128, hi: u128, bits: u32) -> Option<u32> {
    let size = hi.checked_sub(lo)?.checked_add(1);
    let Some(size) = size else { return (lo == 0).then_some(0) };
    if size.is_power_of_two() && lo % size == 0 { Some(bits - size.trailing_zeros()) } else { None }
}

fn show(family: Family, bits: u128) -> String {
    match family {
        Family::V4 => Ipv4Addr::from(u32::try_from(bits).unwrap_or(u32::MAX)).to_string(),
        Family::V6 => Ipv6Addr::from(bits).to_string(),
    }
}

fn bits(family: Family) -> u32 {
    match family {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

fn addr_text(family: Family, lo: u128, hi: u128) -> String {
    match prefix_len(lo, hi, bits(family)) {
        Some(len) if len == bits(family) => show(family, lo),
        Some(len) => format!("{}/{len}", show(family, lo)),
        None => format!("{}-{}", show(family, lo), show(family, hi)),
    }
}

fn addr_json(family: Family, lo: u128, hi: u128) -> Value {
    match prefix_len(lo, hi, bits(family)) {
        Some(len) if len == bits(family) => json!(show(family, lo)),
        Some(len) => json!({ "prefix": { "addr": show(family, lo), "len": len } }),
        None => json!({ "range": [show(family, lo), show(family, hi)] }),
    }
}

fn ports_text((lo, hi): (u16, u16)) -> String {
    if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }
}

fn ports_json((lo, hi): (u16, u16)) -> Value {
    if lo == hi { json!(lo) } else { json!({ "range": [lo, hi] }) }
}

const ND_TYPES: [&str; 4] =
    ["nd-router-solicit", "nd-router-advert", "nd-neighbor-solicit", "nd-neighbor-advert"];

fn rule_text(set: &NftSet) -> String {
    let (fam, field, proto) = (set.family.payload(), set.direction.field(), proto_keyword(set.proto));
    let name = set.name();
    if set.concat {
        format!("{fam} {field} . {proto} dport @{name} accept")
    } else {
        format!("meta l4proto {proto} {fam} {field} @{name} accept")
    }
}

/// The ruleset as an nft script: replaces the table atomically when loaded
/// with `nft -f`.
pub fn to_text(rs: &Ruleset, header: &[String]) -> String {
    let mut s = String::new();
    let t = &rs.table;
    for line in header {
        let _ = writeln!(s, "# {line}");
    }
    let _ = writeln!(s, "table inet {t}\ndelete table inet {t}\ntable inet {t} {{");
    for set in &rs.sets {
        let ty = if set.concat {
            format!("{} . inet_service", set.family.addr_type())
        } else {
            set.family.addr_type().to_owned()
        };
        let _ = writeln!(s, "\tset {} {{\n\t\ttype {ty}\n\t\tflags interval\n\t\telements = {{", set.name());
        let n = set.elems.len();
        for (i, e) in set.elems.iter().enumerate() {
            let addr = addr_text(set.family, e.lo, e.hi);
            let sep = if i + 1 == n { "" } else { "," };
            match e.ports {
                Some(p) => {
                    let _ = writeln!(s, "\t\t\t{addr} . {}{sep}", ports_text(p));
                }
                None => {
                    let _ = writeln!(s, "\t\t\t{addr}{sep}");
                }
            }
        }
        let _ = writeln!(s, "\t\t}}\n\t}}");
    }
    for direction in [Direction::Connect, Direction::Bind] {
        let chain = direction.chain();
        let _ = writeln!(s, "\tchain {chain} {{\n\t\ttype filter hook {chain} priority filter; policy drop;");
        let _ = writeln!(s, "\t\tct state established,related accept\n\t\tct state invalid drop");
        let _ = writeln!(s, "\t\ticmpv6 type {{ {} }} accept", ND_TYPES.join(", "));
        for set in rs.sets.iter().filter(|x| x.direction == direction) {
            let _ = writeln!(s, "\t\t{}", rule_text(set));
        }
        let _ = writeln!(s, "\t}}");
    }
    s.push_str("}\n");
    s
}

/// The ruleset as libnftables JSON (`nft -j -f`).
pub fn to_json(rs: &Ruleset, comment: &str) -> Value {
    let table = json!({ "family": "inet", "name": rs.table });
    let mut cmds = vec![
        json!({ "metainfo": { "json_schema_version": 1, "comment": comment } }),
        json!({ "add": { "table": table } }),
        json!({ "delete": { "table": table } }),
        json!({ "add": { "table": table } }),
    ];
    for set in &rs.sets {
        let ty = if set.concat {
            json!([set.family.addr_type(), "inet_service"])
        } else {
            json!(set.family.addr_type())
        };
        let elem: Vec<Value> = set
            .elems
            .iter()
            .map(|e| {
                let addr = addr_json(set.family, e.lo, e.hi);
                match e.ports {
                    Some(p) => json!({ "concat": [addr, ports_json(p)] }),
                    None => addr,
                }
            })
            .collect();
        let mut obj = json!({
            "family": "inet", "table": rs.table, "name": set.name(),
            "type": ty, "flags": ["interval"],
        });
        // Moved in, not serialized again: `json!` would copy the elements.
        obj["elem"] = Value::Array(elem);
        cmds.push(wrap("add", wrap("set", obj)));
    }
    for direction in [Direction::Connect, Direction::Bind] {
        let chain = direction.chain();
        cmds.push(json!({ "add": { "chain": {
            "family": "inet", "table": rs.table, "name": chain,
            "type": "filter", "hook": chain, "prio": 0, "policy": "drop",
        } } }));
        let mut rules = vec![
            vec![
                json!({ "match": { "op": "in", "left": { "ct": { "key": "state" } }, "right": ["established", "related"] } }),
                json!({ "accept": null }),
            ],
            vec![
                json!({ "match": { "op": "in", "left": { "ct": { "key": "state" } }, "right": "invalid" } }),
                json!({ "drop": null }),
            ],
            vec![
                json!({ "match": { "op": "==", "left": { "payload": { "protocol": "icmpv6", "field": "type" } }, "right": { "set": ND_TYPES } } }),
                json!({ "accept": null }),
            ],
        ];
        for set in rs.sets.iter().filter(|x| x.direction == direction) {
            let addr = json!({ "payload": { "protocol": set.family.payload(), "field": direction.field() } });
            let right = json!(format!("@{}", set.name()));
            let proto = proto_keyword(set.proto);
            rules.push(if set.concat {
                vec![
                    json!({ "match": { "op": "==", "left": { "concat": [addr, { "payload": { "protocol": proto, "field": "dport" } }] }, "right": right } }),
                    json!({ "accept": null }),
                ]
            } else {
                vec![
                    json!({ "match": { "op": "==", "left": { "meta": { "key": "l4proto" } }, "right": proto } }),
                    json!({ "match": { "op": "==", "left": addr, "right": right } }),
                    json!({ "accept": null }),
                ]
            });
        }
        for expr in rules {
            cmds.push(json!({ "add": { "rule": { "family": "inet", "table": rs.table, "chain": chain, "expr": expr } } }));
        }
    }
    wrap("nftables", Value::Array(cmds))
}

/// `{key: inner}`, moving `inner` (`json!` would serialize a copy of it).
fn wrap(key: &str, inner: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(key.to_owned(), inner);
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_ranges() {
        assert_eq!(addr_text(Family::V4, 0x0a00_0000, 0x0aff_ffff), "10.0.0.0/8");
        assert_eq!(addr_text(Family::V4, 0x0a00_0001, 0x0a00_0001), "10.0.0.1");
        assert_eq!(addr_text(Family::V4, 0x0a00_0001, 0x0a00_0007), "10.0.0.1-10.0.0.7");
        assert_eq!(addr_text(Family::V6, 0, u128::MAX), "::/0");
        assert_eq!(addr_text(Family::V4, 0, u128::from(u32::MAX)), "0.0.0.0/0");
    }
}
