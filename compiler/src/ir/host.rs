//! Hosts (LANGUAGE.md §3, "Hosts"): names, name wildcards and address
//! ranges. Every address lives in one 128-bit space: an IPv4 address is
//! stored as its IPv4-mapped IPv6 form `::ffff:a.b.c.d`, so that a mapped
//! address *is* the IPv4 address it maps, and an IPv4 CIDR `/n` is the
//! IPv6 prefix `/96+n`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Serialize, Serializer};

/// One primitive host set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostAtom {
    /// One DNS name, lower case, without a trailing dot.
    Name(String),
    /// `*.SUFFIX`: every name strictly below `SUFFIX`, at any depth.
    Subdomains(String),
    /// An address range.
    Cidr(Cidr),
    /// Every DNS name.
    AnyName,
    /// Every address, IPv4 and IPv6.
    AnyAddr,
}

/// A prefix of the 128-bit address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub addr: u128,
    pub len: u8,
}

const V4_MAPPED: u128 = 0xffff_0000_0000;

impl Cidr {
    pub fn host(addr: u128) -> Self {
        Cidr { addr, len: 128 }
    }

    pub fn mask(len: u8) -> u128 {
        if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) }
    }

    pub fn contains(self, addr: u128) -> bool {
        addr & Cidr::mask(self.len) == self.addr
    }

    /// Is this range inside the IPv4-mapped space (an IPv4 CIDR)?
    pub fn is_v4(self) -> bool {
        self.len >= 96 && (self.addr >> 32) == 0xffff
    }

    pub fn first(self) -> u128 {
        self.addr
    }

    pub fn last(self) -> u128 {
        self.addr | !Cidr::mask(self.len)
    }
}

/// The 128-bit form of an address; IPv4 and IPv4-mapped IPv6 are one.
pub fn addr_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => V4_MAPPED | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address shown for 128 bits: dotted IPv4 for the mapped range.
pub fn bits_to_ip(bits: u128) -> IpAddr {
    if bits >> 32 == 0xffff {
        IpAddr::V4(Ipv4Addr::from((bits & 0xffff_ffff) as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(bits))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    Empty,
    BadCidr(String),
    HostBitsSet {
        literal: String,
        network: String,
    },
    BadName(String),
    BadLabel(String),
    Wildcard(String),
    NonAscii(String),
    Port(String),
    /// A name whose last label is a number: resolvers read it as an address.
    Numeric(String),
    /// A path where a host was expected.
    Path(String),
}

impl HostError {
    pub fn message(&self) -> String {
        match self {
            HostError::Empty => "empty host name".into(),
            HostError::BadCidr(s) => format!("invalid CIDR `{s}`"),
            HostError::HostBitsSet { literal, .. } => {
                format!("CIDR `{literal}` has bits set after its prefix")
            }
            HostError::BadName(s) => format!("invalid host name `{s}`"),
            HostError::BadLabel(s) if s.is_empty() => "empty label in host name".into(),
            HostError::BadLabel(s) => format!("invalid label `{s}` in host name"),
            HostError::Wildcard(s) => format!("invalid wildcard in host `{s}`"),
            HostError::NonAscii(s) => format!("host name `{s}` is not ASCII"),
            HostError::Port(s) => format!("host `{s}` contains a port"),
            HostError::Numeric(s) => format!("host `{s}` looks like a shortened address"),
            HostError::Path(s) => format!("`{s}` is a path, not a host"),
        }
    }

    pub fn help(&self) -> String {
        match self {
            HostError::Empty => "write a DNS name, an IP address or a CIDR".into(),
            HostError::BadCidr(_) => {
                "a CIDR is an address and a prefix length: `10.0.0.0/8` (at most 32), `fd00::/8` (at most 128)".into()
            }
            HostError::HostBitsSet { network, .. } => format!("did you mean `{network}`?"),
            HostError::BadName(_) | HostError::BadLabel(_) => {
                "labels are 1 to 63 letters, digits, `-` or `_`, not starting or ending with `-`; names are at most 253 characters".into()
            }
            HostError::Wildcard(_) => {
                "the only wildcard is a leading `*.`: `*.example.com`; for every host use `any`".into()
            }
            HostError::NonAscii(_) => "write internationalised names in their `xn--` form".into(),
            HostError::Port(_) => "write ports after the host set: `\"example.com\":443`".into(),
            HostError::Path(_) => {
                "hosts are DNS names, addresses or CIDRs: `\"github.com\"`, `\"10.0.0.0/8\"`".into()
            }
            HostError::Numeric(_) => {
                "resolvers read `127.1` or `0x7f.1` as an address; write the address in full: `127.0.0.1`".into()
            }
        }
    }
}

impl HostAtom {
    /// Parses a host literal: a name, `*.name`, an address or a CIDR.
    pub fn parse(literal: &str) -> Result<Self, HostError> {
        if literal.is_empty() {
            return Err(HostError::Empty);
        }
        if literal.starts_with('/') || literal.starts_with('~') {
            return Err(HostError::Path(literal.to_owned()));
        }
        if let Some((addr, len)) = literal.split_once('/') {
            return parse_cidr(literal, addr, len).map(HostAtom::Cidr);
        }
        let unbracketed = literal.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
        if let Ok(ip) = unbracketed.unwrap_or(literal).parse::<IpAddr>() {
            return Ok(HostAtom::Cidr(Cidr::host(addr_bits(ip))));
        }
        if literal.contains(':') {
            return Err(HostError::Port(literal.to_owned()));
        }
        if !literal.is_ascii() {
            return Err(HostError::NonAscii(literal.to_owned()));
        }
        let lower = literal.to_ascii_lowercase();
        let name = lower.strip_suffix('.').unwrap_or(&lower);
        if let Some(suffix) = name.strip_prefix("*.") {
            if suffix.contains('*') {
                return Err(HostError::Wildcard(literal.to_owned()));
            }
            check_name(suffix, literal)?;
            return Ok(HostAtom::Subdomains(suffix.to_owned()));
        }
        if name.contains('*') {
            return Err(HostError::Wildcard(literal.to_owned()));
        }
        check_name(name, literal)?;
        Ok(HostAtom::Name(name.to_owned()))
    }
}

fn parse_cidr(literal: &str, addr: &str, len: &str) -> Result<Cidr, HostError> {
    let bad = || HostError::BadCidr(literal.to_owned());
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let (len128, max) = match ip {
        IpAddr::V4(_) => (len.saturating_add(96), 32),
        IpAddr::V6(_) => (len, 128),
    };
    if len > max {
        return Err(bad());
    }
    let bits = addr_bits(ip);
    let network = bits & Cidr::mask(len128);
    if network != bits {
        return Err(HostError::HostBitsSet {
            literal: literal.to_owned(),
            network: format!("{}/{len}", bits_to_ip(network)),
        });
    }
    Ok(Cidr { addr: network, len: len128 })
}

/// Is the last label all digits (or `0x` and hex digits)? C resolvers read
/// such a name (`127.1`, `2130706433`, `0x7f.1`) as an address.
pub fn is_numeric_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// The rules of a DNS name (without wildcard), shared by host literals in
/// policies and hosts in accesses; `literal` is what the user wrote.
pub fn check_name(name: &str, literal: &str) -> Result<(), HostError> {
    if name.is_empty() || name.len() > 253 {
        return Err(HostError::BadName(literal.to_owned()));
    }
    if is_numeric_name(name) {
        return Err(HostError::Numeric(literal.to_owned()));
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(HostError::BadLabel(label.to_owned()));
        }
    }
    Ok(())
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_v4() {
            let ip = Ipv4Addr::from((self.addr & 0xffff_ffff) as u32);
            if self.len == 128 { write!(f, "{ip}") } else { write!(f, "{ip}/{}", self.len - 96) }
        } else {
            let ip = Ipv6Addr::from(self.addr);
            if self.len == 128 { write!(f, "{ip}") } else { write!(f, "{ip}/{}", self.len) }
        }
    }
}

impl fmt::Display for HostAtom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostAtom::Name(n) => f.write_str(n),
            HostAtom::Subdomains(s) => write!(f, "*.{s}"),
            HostAtom::Cidr(c) => write!(f, "{c}"),
            HostAtom::AnyName => f.write_str("<any name>"),
            HostAtom::AnyAddr => f.write_str("<any address>"),
        }
    }
}

impl Serialize for HostAtom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The built-in host sets of LANGUAGE.md §3: `loopback`, `private`,
/// `linklocal`, `internet` and `any`.
pub const BUILTIN_SETS: [&str; 5] = ["loopback", "private", "linklocal", "internet", "any"];

/// The value of a built-in host set, by name.
pub fn builtin_set(name: &str) -> Option<super::HostSet> {
    use super::Set;
    let cidrs = |list: &[&str]| -> super::HostSet {
        Set::union(list.iter().filter_map(|c| HostAtom::parse(c).ok()).map(Set::Atom))
    };
    let loopback_addrs = || cidrs(&["127.0.0.0/8", "::1"]);
    let loopback_names = || {
        Set::union([
            Set::Atom(HostAtom::Name("localhost".into())),
            Set::Atom(HostAtom::Subdomains("localhost".into())),
        ])
    };
    let private = || cidrs(&["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"]);
    let linklocal = || cidrs(&["169.254.0.0/16", "fe80::/10"]);
    Some(match name {
        "loopback" => Set::union([loopback_addrs(), loopback_names()]),
        "private" => private(),
        "linklocal" => linklocal(),
        "internet" => Set::union([
            Set::diff(Set::Atom(HostAtom::AnyAddr), Set::union([loopback_addrs(), private(), linklocal()])),
            Set::diff(Set::Atom(HostAtom::AnyName), loopback_names()),
        ]),
        "any" => Set::union([Set::Atom(HostAtom::AnyName), Set::Atom(HostAtom::AnyAddr)]),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(s: &str) -> String {
        match HostAtom::parse(s) {
            Ok(h) => h.to_string(),
            Err(e) => format!("error: {}", e.message()),
        }
    }

    #[test]
    fn parses_names_addresses_and_cidrs() {
        assert_eq!(show("GitHub.com."), "github.com");
        assert_eq!(show("*.github.com"), "*.github.com");
        assert_eq!(show("10.0.0.0/8"), "10.0.0.0/8");
        assert_eq!(show("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(show("[2001:db8::1]"), "2001:db8::1");
        assert_eq!(show("fc00::/7"), "fc00::/7");
        assert_eq!(show("::/0"), "::/0");
    }

    #[test]
    fn rejects_bad_hosts() {
        assert_eq!(show("10.0.0.1/8"), "error: CIDR `10.0.0.1/8` has bits set after its prefix");
        assert_eq!(show("10.0.0.0/33"), "error: invalid CIDR `10.0.0.0/33`");
        assert_eq!(show("api.*.com"), "error: invalid wildcard in host `api.*.com`");
        assert_eq!(show("-x.com"), "error: invalid label `-x` in host name");
        assert_eq!(show("a..b"), "error: empty label in host name");
        assert_eq!(show("/var/run/x.sock"), "error: `/var/run/x.sock` is a path, not a host");
        assert_eq!(show("github.com:443"), "error: host `github.com:443` contains a port");
        assert_eq!(show("127.1"), "error: host `127.1` looks like a shortened address");
        assert_eq!(show("0x7f.1"), "error: host `0x7f.1` looks like a shortened address");
    }
}
