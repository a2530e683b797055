//! Proxy mode: the policy's `proxy` is the route for names. The ruleset
//! lets the agent reach the proxy's address and port; the proxy gets the
//! domain allowlist as its own artifact.

use std::collections::BTreeSet;
use std::net::IpAddr;

use corral_compiler::ir::host::addr_bits;
use corral_compiler::ir::{
    Cidr, ConnectRule, Effect, EndpointAtom, HostAtom, Policy, PortRange, Protos, Set,
};
use serde_json::json;

use crate::names::{NameUse, RuleIx};
use crate::{Allowlist, OptionError, show_ports};

/// Where the proxy listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyEndpoint {
    pub url: String,
    pub addr: u128,
    pub port: u16,
}

impl ProxyEndpoint {
    /// The connect rule the `proxy` setting grants: tcp to the proxy.
    pub fn rule(&self, policy: &Policy) -> ConnectRule {
        let origin = policy.proxy.as_ref().map_or_else(
            || corral_compiler::ir::Origin {
                policy: policy.name.clone(),
                span: policy.span,
                readonly: false,
            },
            |p| p.origin.clone(),
        );
        ConnectRule {
            effect: Effect::Allow,
            protos: Protos { tcp: true, udp: false },
            endpoints: Set::Atom(EndpointAtom {
                hosts: Set::Atom(HostAtom::Cidr(Cidr::host(self.addr))),
                ports: Set::Atom(PortRange { lo: self.port, hi: self.port }),
            }),
            origin,
        }
    }
}

/// Parses the policy's `proxy "SCHEME://ADDRESS[:PORT][/…]"`. The address
/// must be an IP address: a packet filter cannot route to a name.
pub fn endpoint(policy: &Policy) -> Result<ProxyEndpoint, OptionError> {
    let Some(setting) = &policy.proxy else {
        return Err(OptionError(format!(
            "`--proxy-mode` needs a `proxy` setting in policy `{}`",
            policy.name
        )));
    };
    let url = setting.value.clone();
    let bad = |why: &str| OptionError(format!("cannot use proxy `{url}`: {why}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        "socks5" | "socks5h" | "socks4" => 1080,
        _ => return Err(bad("the scheme is not http, https or socks")),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (h, after) = inner.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let ip: IpAddr = host.parse().map_err(|_| bad("its host is not an IP address"))?;
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad("its port is not a number up to 65535"))?,
        None => default_port,
    };
    Ok(ProxyEndpoint { url, addr: addr_bits(ip), port })
}

/// The allowlist: every name the connect rules allow, with its ports, and
/// every name they exclude (a proxy must check exclusions first).
pub fn allowlist(policy: &Policy, uses: &[NameUse], proxy: &ProxyEndpoint) -> Allowlist {
    let mut allow = BTreeSet::new();
    let mut deny = BTreeSet::new();
    for u in uses {
        if !matches!(u.rule, RuleIx::Connect(_)) {
            continue;
        }
        let host = match &u.atom {
            HostAtom::AnyName => "*".to_owned(),
            a => a.to_string(),
        };
        let protos: Vec<&str> =
            [("tcp", u.protos.tcp), ("udp", u.protos.udp)].into_iter().filter(|p| p.1).map(|p| p.0).collect();
        let entry = (host, show_ports(&u.ports), protos.join(","));
        if u.allowed {
            allow.insert(entry)
        } else {
            deny.insert(entry)
        };
    }
    let mut text = format!("# domain allowlist for the proxy {} (policy `{}`)\n", proxy.url, policy.name);
    text.push_str("# HOST:PORTS allowed; !HOST:PORTS excluded (check exclusions first)\n");
    for (h, p, _) in &deny {
        text.push_str(&format!("!{h}:{p}\n"));
    }
    for (h, p, _) in &allow {
        text.push_str(&format!("{h}:{p}\n"));
    }
    let entry = |(h, p, pr): &(String, String, String)| json!({ "host": h, "ports": p, "protos": pr.split(',').collect::<Vec<_>>() });
    let json = json!({
        "policy": policy.name,
        "proxy": proxy.url,
        "deny": deny.iter().map(entry).collect::<Vec<_>>(),
        "allow": allow.iter().map(entry).collect::<Vec<_>>(),
    });
    Allowlist { text, json }
}
