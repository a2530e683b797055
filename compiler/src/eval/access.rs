//! Concrete accesses, as written on the command line (LANGUAGE.md §7):
//! `read /etc/passwd`, `connect tcp github.com:443`, `bind tcp 8080 from
//! 192.0.2.1`, `clipboard write`, … An access names exactly one right, one
//! protocol, one port and one mode, so forms that are fine in a rule
//! (`connect github.com:443`, `clipboard`) are errors here.

use std::fmt;

use serde::{Serialize, Serializer};

use super::matching::{Host, is_numeric_name, path_segments};
use crate::ir::host::HostError;
use crate::ir::{Device, DeviceMode, Proto, Right};

/// One concrete access that the evaluator decides.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A right on one well-formed absolute path. Glob characters in the
    /// path are ordinary characters.
    File {
        right: Right,
        path: String,
    },
    Connect {
        proto: Proto,
        host: Host,
        port: u16,
    },
    /// Listening on `port`; with a peer, accepting a connection from it.
    Bind {
        proto: Proto,
        port: u16,
        peer: Option<Host>,
    },
    Device {
        device: Device,
        mode: DeviceMode,
    },
}

/// Why an access could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessError {
    message: String,
    help: String,
}

impl AccessError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        AccessError { message: message.into(), help: help.into() }
    }

    /// Lower case, no trailing period, user input in backticks.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn help(&self) -> &str {
        &self.help
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AccessError {}

impl From<HostError> for AccessError {
    fn from(e: HostError) -> Self {
        AccessError::new(e.message(), e.help())
    }
}

const FORMS: &str = "write `RIGHT PATH` (rights: read, list, write, create, delete, exec), \
`connect tcp|udp HOST:PORT`, `bind tcp|udp PORT [from HOST]`, `clipboard read|write`, \
`screen capture`, `input inject`, `camera`, `microphone`, `location`, `browser` or `windows`";

pub fn proto_keyword(proto: Proto) -> &'static str {
    match proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    }
}

fn proto_from_keyword(word: &str) -> Option<Proto> {
    match word {
        "tcp" => Some(Proto::Tcp),
        "udp" => Some(Proto::Udp),
        _ => None,
    }
}

fn right_from_keyword(word: &str) -> Option<Right> {
    Right::ALL.into_iter().find(|r| r.keyword() == word)
}

fn device_from_keyword(word: &str) -> Option<Device> {
    Device::ALL.into_iter().find(|d| d.keyword() == word)
}

/// Splits off the first whitespace-separated word.
fn first_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim_start()),
        None => (text, ""),
    }
}

fn no_more(rest: &str) -> Result<(), AccessError> {
    let (extra, _) = first_word(rest);
    if extra.is_empty() {
        Ok(())
    } else {
        Err(AccessError::new(
            format!("unexpected `{extra}` after the access"),
            "an access names one resource; decide one access at a time",
        ))
    }
}

impl Access {
    /// Parses the command-line form of an access; `~` and `~/…` in a path
    /// expand to `home`.
    pub fn parse(text: &str, home: &str) -> Result<Access, AccessError> {
        let (head, rest) = first_word(text.trim());
        if head.is_empty() {
            return Err(AccessError::new("empty access", FORMS));
        }
        if let Some(right) = right_from_keyword(head) {
            return parse_file(right, rest.trim_end(), home);
        }
        match head {
            "connect" => parse_connect(rest),
            "bind" => parse_bind(rest),
            _ => match device_from_keyword(head) {
                Some(device) => parse_device(device, rest),
                None => Err(AccessError::new(format!("unknown access `{head}`"), FORMS)),
            },
        }
    }
}

fn parse_file(right: Right, path: &str, home: &str) -> Result<Access, AccessError> {
    let keyword = right.keyword();
    if path.is_empty() {
        return Err(AccessError::new(
            format!("missing path after `{keyword}`"),
            format!("write an absolute path: `{keyword} /etc/passwd`"),
        ));
    }
    let expanded = if path == "~" {
        home.to_owned()
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("{}/{rest}", home.trim_end_matches('/'))
    } else if path.starts_with('~') {
        return Err(AccessError::new(
            format!("`{path}`: `~user` paths are not supported"),
            "write the absolute path of that user's home",
        ));
    } else {
        path.to_owned()
    };
    check_path(&expanded)?;
    Ok(Access::File { right, path: expanded })
}

/// A concrete path must be well-formed (§3): the evaluator does not
/// normalise, because `/a/../b` may not be `/b` once links are involved.
fn check_path(path: &str) -> Result<(), AccessError> {
    if path_segments(path).is_some() {
        return Ok(());
    }
    let (message, help) = if !path.starts_with('/') {
        ("is relative", "paths are absolute: start with `/`, or with `~/` for the home directory")
    } else if path.contains('\0') {
        ("contains a NUL character", "file names cannot contain NUL")
    } else if path.ends_with('/') && !path.ends_with("//") {
        ("ends with `/`", "remove the trailing `/`")
    } else if path.contains("//") {
        ("contains `//`", "remove the empty segment: `/a/b`, not `/a//b`")
    } else {
        ("contains a `.` or `..` segment", "write the normalised path, without `.` and `..`")
    };
    Err(AccessError::new(format!("path `{path}` {message}"), help))
}

/// Parses `tcp`/`udp` after `kind` (`connect` or `bind`). When the
/// protocol is missing, the message echoes the rest of the access back with
/// each protocol, so the user sees the exact text to write.
fn parse_proto<'a>(kind: &str, rest: &'a str) -> Result<(Proto, &'a str), AccessError> {
    let (word, after) = first_word(rest);
    if let Some(proto) = proto_from_keyword(word) {
        return Ok((proto, after));
    }
    let sample = if kind == "connect" { "github.com:443" } else { "8080" };
    if word.is_empty() {
        return Err(AccessError::new(
            format!("missing protocol and {}: write `{kind} tcp {sample}`", noun(kind)),
            format!("an access names one protocol, `tcp` or `udp`: `{kind} tcp {sample}`"),
        ));
    }
    // `connect github.com:443`: the protocol was left out, not misspelt.
    let looks_like_target = if kind == "connect" {
        word.contains(':') || word.contains('.')
    } else {
        word.bytes().all(|b| b.is_ascii_digit())
    };
    if looks_like_target {
        let rest = rest.trim();
        Err(AccessError::new(
            format!("missing protocol: write `{kind} tcp {rest}` or `{kind} udp {rest}`"),
            format!(
                "`{kind}` without a protocol covers both in a rule, but an access names one, `tcp` or `udp`"
            ),
        ))
    } else {
        Err(AccessError::new(
            format!("unknown protocol `{word}`"),
            format!("the protocols are `tcp` and `udp`: `{kind} tcp {sample}`"),
        ))
    }
}

fn noun(kind: &str) -> &'static str {
    if kind == "connect" { "endpoint" } else { "port" }
}

fn parse_port(text: &str) -> Result<u16, AccessError> {
    text.parse::<u16>().map_err(|_| {
        AccessError::new(
            format!("invalid port `{text}`"),
            "an access names one port, a number from 0 to 65535",
        )
    })
}

fn parse_connect(rest: &str) -> Result<Access, AccessError> {
    let (proto, rest) = parse_proto("connect", rest)?;
    let (endpoint, rest) = first_word(rest);
    if endpoint.is_empty() {
        let p = proto_keyword(proto);
        return Err(AccessError::new(
            format!("missing endpoint after `connect {p}`"),
            format!("write `HOST:PORT`: `connect {p} github.com:443`"),
        ));
    }
    no_more(rest)?;
    let (host, port) = parse_endpoint(endpoint)?;
    Ok(Access::Connect { proto, host, port })
}

fn parse_endpoint(text: &str) -> Result<(Host, u16), AccessError> {
    let missing_port = || {
        AccessError::new(
            format!("missing port in `{text}`"),
            "write `HOST:PORT`: `github.com:443`, `[2001:db8::1]:53`",
        )
    };
    let (host_text, port_text) = if let Some(inner) = text.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return Err(AccessError::new(
                format!("unclosed `[` in `{text}`"),
                "write an IPv6 endpoint as `[2001:db8::1]:53`",
            ));
        };
        let port = after.strip_prefix(':').ok_or_else(missing_port)?;
        if addr.parse::<std::net::IpAddr>().is_err() {
            return Err(AccessError::new(
                format!("`{addr}` in brackets is not an IP address"),
                "brackets hold an IPv6 address: `[2001:db8::1]:53`; write names without them",
            ));
        }
        (addr, port)
    } else {
        let (host, port) = text.rsplit_once(':').ok_or_else(missing_port)?;
        if host.contains(':') {
            return Err(AccessError::new(
                format!("ambiguous IPv6 endpoint `{text}`"),
                "put the address in brackets before the port: `[2001:db8::1]:53`",
            ));
        }
        (host, port)
    };
    if port_text.is_empty() {
        return Err(missing_port());
    }
    if host_text.is_empty() {
        return Err(AccessError::new(
            format!("missing host in `{text}`"),
            "write `HOST:PORT`: `github.com:443`",
        ));
    }
    Ok((parse_host(host_text)?, parse_port(port_text)?))
}

fn parse_host(text: &str) -> Result<Host, AccessError> {
    if text.contains('/') {
        return Err(AccessError::new(
            format!("`{text}` is a range, not one host"),
            "an access names one host: `10.0.0.1`, not `10.0.0.0/8`",
        ));
    }
    Host::parse(text).map_err(|e| {
        if is_numeric_name(text.strip_suffix('.').unwrap_or(text)) {
            AccessError::new(
                format!("`{text}` is neither a host name nor a full address"),
                "write IPv4 addresses with four decimal parts: `127.0.0.1`",
            )
        } else {
            e.into()
        }
    })
}

fn parse_bind(rest: &str) -> Result<Access, AccessError> {
    let (proto, rest) = parse_proto("bind", rest)?;
    let (port_text, rest) = first_word(rest);
    if port_text.is_empty() {
        let p = proto_keyword(proto);
        return Err(AccessError::new(
            format!("missing port after `bind {p}`"),
            format!("write `bind {p} 8080`, or `bind {p} 8080 from 192.0.2.1` for one peer"),
        ));
    }
    let port = parse_port(port_text)?;
    let (from, rest) = first_word(rest);
    let peer = match from {
        "" => None,
        "from" => {
            let (peer, rest) = first_word(rest);
            if peer.is_empty() {
                return Err(AccessError::new(
                    "missing peer after `from`",
                    format!(
                        "write the peer's address: `bind {} {port} from 192.0.2.1`",
                        proto_keyword(proto)
                    ),
                ));
            }
            no_more(rest)?;
            Some(parse_host(peer)?)
        }
        other => {
            return Err(AccessError::new(
                format!("unexpected `{other}` after the port"),
                format!("name a peer with `from`: `bind {} {port} from 192.0.2.1`", proto_keyword(proto)),
            ));
        }
    };
    Ok(Access::Bind { proto, port, peer })
}

fn parse_device(device: Device, rest: &str) -> Result<Access, AccessError> {
    let name = device.keyword();
    let modes = DeviceMode::modes_of(device);
    let (word, rest) = first_word(rest);
    let mode = if word.is_empty() {
        match modes {
            [only] => *only,
            _ => {
                let choices: Vec<String> =
                    modes.iter().map(|m| format!("`{name} {}`", m.keyword())).collect();
                return Err(AccessError::new(
                    format!("missing mode: write {}", choices.join(" or ")),
                    format!("`{name}` without a mode covers every mode in a rule, but an access names one"),
                ));
            }
        }
    } else {
        match DeviceMode::from_keyword(word).filter(|m| modes.contains(m)) {
            Some(mode) => mode,
            None => {
                let help = match modes {
                    [DeviceMode::Use] => format!("`{name}` takes no mode: write `{name}`"),
                    _ => {
                        let list: Vec<String> = modes.iter().map(|m| format!("`{}`", m.keyword())).collect();
                        format!("the modes of `{name}` are {}", list.join(" and "))
                    }
                };
                return Err(AccessError::new(format!("`{name}` has no mode `{word}`"), help));
            }
        }
    };
    no_more(rest)?;
    Ok(Access::Device { device, mode })
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::File { right, path } => write!(f, "{} {path}", right.keyword()),
            Access::Connect { proto, host, port } => {
                write!(f, "connect {} ", proto_keyword(*proto))?;
                match host.to_ip() {
                    Some(std::net::IpAddr::V6(ip)) => write!(f, "[{ip}]:{port}"),
                    _ => write!(f, "{host}:{port}"),
                }
            }
            Access::Bind { proto, port, peer } => {
                write!(f, "bind {} {port}", proto_keyword(*proto))?;
                match peer {
                    Some(peer) => write!(f, " from {peer}"),
                    None => Ok(()),
                }
            }
            Access::Device { device, mode: DeviceMode::Use } => f.write_str(device.keyword()),
            Access::Device { device, mode } => write!(f, "{} {}", device.keyword(), mode.keyword()),
        }
    }
}

impl Serialize for Access {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn round_trip(s: &str) -> String {
        match Access::parse(s, "/home/u") {
            Ok(a) => a.to_string(),
            Err(e) => format!("error: {}", e.message()),
        }
    }

    #[test]
    fn canonical_text_round_trips() {
        for s in [
            "read /etc/passwd",
            "exec /",
            "connect udp [2001:db8::1]:53",
            "connect tcp 10.0.0.1:443",
            "bind tcp 8080 from 2001:db8::1",
            "clipboard read",
            "camera",
        ] {
            assert_eq!(round_trip(s), s);
            let again = Access::parse(&round_trip(s), "/h").unwrap();
            assert_eq!(again, Access::parse(s, "/h").unwrap());
        }
    }

    #[test]
    fn words_are_split_on_any_whitespace() {
        assert_eq!(round_trip("  connect\ttcp   GitHub.com.:443 "), "connect tcp github.com:443");
        assert_eq!(round_trip("read /a b/c"), "read /a b/c");
    }
}
