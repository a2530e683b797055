//! The nftables backend: lowers the `connect` and `bind` rules of one IR
//! policy to an `inet` table with default-drop `output` and `input`
//! chains, named interval sets of (address, port) pairs, as nft text and
//! libnftables JSON.
//!
//! The address part of the policy is lowered exactly (`space`). Names
//! cannot be matched by a packet filter; [`NameMode`] says what happens to
//! them, and every gap is a diagnostic: broader (C3001, an error with an
//! access the ruleset wrongly allows), narrower (C3002, a warning naming
//! what the agent loses), and names without DNS (C3004). The emitted JSON
//! is read back as a model policy and compared with the policy by the
//! verifier (`model`). The mapping is documented in
//! `docs/backends/nftables.md`.

mod emit;
mod model;
mod names;
mod proxy;
mod space;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, ToSocketAddrs};

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::host::addr_bits;
use corral_compiler::ir::{HostAtom, Policy, Proto};
use corral_verifier::refine::Verdict;
use serde_json::{Value, json};

pub use emit::{Direction, Family};
pub use model::{Validation, model_of, validate};
use names::{NameUse, RuleIx, show_addr};
pub use proxy::ProxyEndpoint;
use space::{Ivs, Pw, Resolved};

/// Counterexamples listed in one diagnostic; the rest are counted in a note.
const MAX_SHOWN: usize = 5;

/// Resolves host names for `--resolve`.
pub trait Resolver {
    /// The addresses of `name`, or why there are none.
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String>;
}

/// The system resolver (`getaddrinfo`).
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        let addrs = (name, 0u16).to_socket_addrs().map_err(|e| e.to_string())?;
        let mut out: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// What happens to host names, which a packet filter cannot match.
pub enum NameMode<'a> {
    /// Names are left out: connects to them are dropped.
    Addresses,
    /// Names are resolved now and their addresses lowered; `at` is the
    /// time recorded in the artifact.
    Resolve { resolver: &'a dyn Resolver, at: String },
    /// The policy's `proxy` is the route for names: the ruleset lets the
    /// agent reach it, and the proxy gets the domain allowlist.
    Proxy,
}

impl NameMode<'_> {
    pub fn keyword(&self) -> &'static str {
        match self {
            NameMode::Addresses => "addresses",
            NameMode::Resolve { .. } => "resolve",
            NameMode::Proxy => "proxy",
        }
    }
}

impl std::fmt::Debug for NameMode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.keyword())
    }
}

#[derive(Debug)]
pub struct NftOptions<'a> {
    pub mode: NameMode<'a>,
    /// The nft table name.
    pub table: String,
    /// Translation validation with this solver timeout; `None` skips it.
    pub validate_timeout_ms: Option<u32>,
}

impl Default for NftOptions<'_> {
    fn default() -> Self {
        NftOptions {
            mode: NameMode::Addresses,
            table: "corral".to_owned(),
            validate_timeout_ms: Some(10_000),
        }
    }
}

/// The domain allowlist for the proxy (proxy mode).
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// One `HOST:PORTS` per line; excluded names as `!HOST:PORTS`.
    pub text: String,
    pub json: Value,
}

/// The result of lowering one policy.
#[derive(Debug)]
pub struct NftLowering {
    /// The nft script (`nft -f`).
    pub text: String,
    /// The same ruleset as libnftables JSON (`nft -j -f`).
    pub json: Value,
    pub allowlist: Option<Allowlist>,
    pub summary: String,
    pub diagnostics: Vec<Diagnostic>,
    /// `None` when validation was not asked for.
    pub validation: Option<Validation>,
    /// `addresses`, `resolve` or `proxy`.
    pub mode: &'static str,
    /// In resolve mode: every name and the addresses it resolved to.
    pub resolved: BTreeMap<String, Vec<String>>,
    /// In resolve mode: the names that did not resolve, and why.
    pub unresolved: BTreeMap<String, String>,
    /// Number of set elements emitted.
    pub elements: usize,
    /// No gap was reported: the ruleset permits exactly what the policy does.
    pub exact: bool,
}

/// Why a build could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError(pub String);

fn with_examples(mut d: Diagnostic, examples: impl IntoIterator<Item = String>) -> Diagnostic {
    let examples: Vec<String> = examples.into_iter().collect();
    for e in examples.iter().take(MAX_SHOWN) {
        d = d.counterexample(e.clone());
    }
    if examples.len() > MAX_SHOWN {
        d = d.note(format!("and {} more", examples.len() - MAX_SHOWN));
    }
    d
}

fn rule_span(policy: &Policy, rule: RuleIx) -> Option<corral_compiler::source::SourceSpan> {
    match rule {
        RuleIx::Connect(i) => policy.connects.get(i).map(|r| r.origin.span),
        RuleIx::Bind(i) => policy.binds.get(i).map(|r| r.origin.span),
    }
}

/// A concrete name for a name atom, for counterexamples.
fn example_name(atom: &HostAtom) -> Option<String> {
    match atom {
        HostAtom::Name(n) => Some(n.clone()),
        HostAtom::Subdomains(s) => Some(format!("www.{s}")),
        _ => None,
    }
}

fn protos_of(u: &NameUse) -> Vec<Proto> {
    [Proto::Tcp, Proto::Udp].into_iter().filter(|p| u.protos.contains(*p)).collect()
}

/// Does `pw` permit `port` for some address?
fn any_addr_on(pw: &Pw, port: u16) -> bool {
    pw.iter()
        .any(|(_, _, ports)| ports.iter().any(|&(lo, hi)| lo <= u128::from(port) && u128::from(port) <= hi))
}

fn ports_at(pw: &Pw, addr: u128) -> Option<&Ivs> {
    pw.iter().find(|(lo, hi, _)| *lo <= addr && addr <= *hi).map(|(_, _, p)| p)
}

fn show_ports(ports: &Ivs) -> String {
    if ports.as_slice() == space::all_ports().as_slice() {
        return "*".to_owned();
    }
    ports
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect::<Vec<_>>()
        .join(",")
}

/// Lowers `policy`'s network rules to an nftables ruleset.
pub fn lower_to_nftables(policy: &Policy, options: &NftOptions<'_>) -> Result<NftLowering, OptionError> {
    let eval = Evaluator::new(policy);
    let uses = names::name_uses(policy);
    let mut diagnostics = Vec::new();

    // Names → addresses (resolve mode).
    let mut resolved: Resolved = names::conventional();
    let mut unresolved: BTreeMap<String, String> = BTreeMap::new();
    // The names resolved now (not the conventional ones).
    let mut looked_up: Resolved = BTreeMap::new();
    if let NameMode::Resolve { resolver, .. } = &options.mode {
        let wanted: BTreeSet<String> = uses
            .iter()
            .filter_map(|u| if let HostAtom::Name(n) = &u.atom { Some(n.clone()) } else { None })
            .filter(|n| !resolved.contains_key(n))
            .collect();
        for name in &wanted {
            match resolver.resolve(name) {
                Ok(addrs) if !addrs.is_empty() => {
                    let ivs =
                        space::normalize(addrs.into_iter().map(|a| (addr_bits(a), addr_bits(a))).collect());
                    resolved.insert(name.clone(), ivs.clone());
                    looked_up.insert(name.clone(), ivs);
                }
                Ok(_) => {
                    unresolved.insert(name.clone(), "no addresses".to_owned());
                }
                Err(e) => {
                    unresolved.insert(name.clone(), e);
                }
            }
        }
    }
    let proxy = match options.mode {
        NameMode::Proxy => Some(proxy::endpoint(policy)?),
        _ => None,
    };
    let extra: Pw =
        proxy.iter().map(|p| (p.addr, p.addr, vec![(u128::from(p.port), u128::from(p.port))])).collect();
    let perm = space::permitted(policy, &resolved, &extra);

    let mut sets = Vec::new();
    for (direction, proto, pw) in [
        (Direction::Connect, Proto::Tcp, &perm.connect_tcp),
        (Direction::Connect, Proto::Udp, &perm.connect_udp),
        (Direction::Bind, Proto::Tcp, &perm.bind_tcp),
        (Direction::Bind, Proto::Udp, &perm.bind_udp),
    ] {
        sets.extend(emit::sets_of(direction, proto, pw));
    }
    let elements = sets.iter().map(|s| s.elems.len()).sum();
    let ruleset = emit::Ruleset {
        table: options.table.clone(),
        policy: policy.name.clone(),
        mode: options.mode.keyword().to_owned(),
        sets,
    };
    let pw_of = |d: RuleIx, p: Proto| match (d, p) {
        (RuleIx::Connect(_), Proto::Tcp) => &perm.connect_tcp,
        (RuleIx::Connect(_), Proto::Udp) => &perm.connect_udp,
        (RuleIx::Bind(_), Proto::Tcp) => &perm.bind_tcp,
        (RuleIx::Bind(_), Proto::Udp) => &perm.bind_udp,
    };

    // Allowed names the ruleset cannot let through: narrower, per rule.
    let mut lost: BTreeMap<RuleIx, Vec<String>> = BTreeMap::new();
    for u in uses.iter().filter(|u| u.allowed) {
        let known = names::key(&u.atom).is_some_and(|k| resolved.contains_key(&k));
        let handled =
            known || (matches!(options.mode, NameMode::Proxy) && matches!(u.rule, RuleIx::Connect(_)));
        if !handled {
            lost.entry(u.rule).or_default().push(u.atom.to_string());
        }
    }
    for (rule, atoms) in &lost {
        let atoms: Vec<String> = atoms.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        let shown = atoms.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
        let (what, help) = match rule {
            RuleIx::Connect(_) => (
                format!("the nftables ruleset drops connections to host names: {shown}"),
                "a packet filter sees addresses only; build with `--resolve` or `--proxy-mode`, or allow addresses",
            ),
            RuleIx::Bind(_) => (
                format!("the nftables ruleset drops peers given by name: {shown}"),
                "a packet filter sees addresses only; build with `--resolve`, or allow the peers' addresses",
            ),
        };
        let mut d = Diagnostic::warning(Code::ArtifactNarrower, what).help(help);
        if let Some(span) = rule_span(policy, *rule) {
            d = d.primary(span, "names in this rule are not enforced by address");
        }
        for (name, why) in &unresolved {
            if atoms.iter().any(|a| a == name) {
                d = d.note(format!("`{name}` did not resolve: {why}"));
            }
        }
        diagnostics.push(d);
    }

    // Excluded names the ruleset cannot tell from allowed addresses: broader.
    let mut broader: BTreeMap<RuleIx, BTreeSet<String>> = BTreeMap::new();
    for u in uses.iter().filter(|u| !u.allowed) {
        if names::key(&u.atom).is_some_and(|k| resolved.contains_key(&k)) {
            continue;
        }
        let Some(name) = example_name(&u.atom) else { continue };
        'found: for proto in protos_of(u) {
            for &(lo, hi) in u.ports.iter().take(4) {
                for port in [lo, hi] {
                    let Ok(port) = u16::try_from(port) else { continue };
                    if !any_addr_on(pw_of(u.rule, proto), port) {
                        continue;
                    }
                    let p = emit::proto_keyword(proto);
                    let text = match u.rule {
                        RuleIx::Connect(_) => format!("connect {p} {name}:{port}"),
                        RuleIx::Bind(_) => format!("bind {p} {port} from {name}"),
                    };
                    let Ok(access) = Access::parse(&text, "/") else { continue };
                    if !eval.is_permitted(&access) {
                        broader.entry(u.rule).or_default().insert(text);
                        break 'found;
                    }
                }
            }
        }
    }
    for (rule, examples) in broader {
        let mut d = Diagnostic::error(
            Code::ArtifactBroader,
            "the nftables ruleset cannot keep out the host names this rule excludes",
        )
        .help("a packet filter sees addresses only: a name's address is let through when the ruleset allows it; build with `--resolve`, deny addresses, or pass `--accept-broader`");
        if let Some(span) = rule_span(policy, rule) {
            d = d.primary(span, "excludes names by name");
        }
        diagnostics.push(with_examples(d, examples));
    }

    // Addresses shared by names the policy treats differently (resolve mode).
    let mut shared_examples = BTreeSet::new();
    let mut shared_notes = Vec::new();
    for (addr, names) in names::sharing(&looked_up) {
        shared_notes.push(format!("{} is the address of {}", show_addr(addr), names.join(", ")));
        for proto in [Proto::Tcp, Proto::Udp] {
            let pw = if proto == Proto::Tcp { &perm.connect_tcp } else { &perm.connect_udp };
            let Some(ports) = ports_at(pw, addr) else { continue };
            for &(lo, _) in ports.iter().take(4) {
                let Ok(port) = u16::try_from(lo) else { continue };
                for name in &names {
                    let text = format!("connect {} {name}:{port}", emit::proto_keyword(proto));
                    if let Ok(access) = Access::parse(&text, "/") {
                        if !eval.is_permitted(&access) {
                            shared_examples.insert(text);
                        }
                    }
                }
            }
        }
    }
    if !shared_examples.is_empty() {
        let d = Diagnostic::error(
            Code::ArtifactBroader,
            "a resolved address is shared by names the policy denies",
        )
        .help("the ruleset allows the address, so every name at it is reachable; pass `--accept-broader` if that is acceptable");
        let d = shared_notes.iter().fold(d, |d, n| d.note(n.clone()));
        diagnostics.push(with_examples(d, shared_examples));
    }

    // Names without DNS.
    let names_used = uses.iter().any(|u| u.allowed && matches!(u.rule, RuleIx::Connect(_)));
    if names_used
        && proxy.is_none()
        && !any_addr_on(&perm.connect_udp, 53)
        && !any_addr_on(&perm.connect_tcp, 53)
    {
        let mut d = Diagnostic::warning(Code::NamesWithoutDns, "the policy names hosts but the ruleset allows no dns")
            .help("allow the resolver explicitly, e.g. `allow connect udp \"10.0.0.53\":53`; with `--proxy-mode` the proxy resolves names");
        if let Some(u) = uses.iter().find(|u| u.allowed && matches!(u.rule, RuleIx::Connect(_))) {
            if let Some(span) = rule_span(policy, u.rule) {
                d = d.primary(span, "names a host");
            }
        }
        diagnostics.push(d);
    }

    let resolved_show: BTreeMap<String, Vec<String>> = looked_up
        .iter()
        .map(|(n, ivs)| (n.clone(), ivs.iter().map(|&(lo, _)| show_addr(lo)).collect()))
        .collect();
    let mut header = vec![
        format!("corral policy `{}` for nftables; names: {}", policy.name, options.mode.keyword()),
        "generated by `corral build --target nftables`; load with `nft -f`".to_owned(),
    ];
    let mut meta = json!({ "policy": policy.name, "mode": options.mode.keyword() });
    if let NameMode::Resolve { at, .. } = &options.mode {
        header.push(format!("names resolved at {at}:"));
        for (n, addrs) in &resolved_show {
            header.push(format!("  {n} = {}", addrs.join(", ")));
        }
        for (n, why) in &unresolved {
            header.push(format!("  {n} did not resolve: {why}"));
        }
        meta["resolved_at"] = json!(at);
        meta["resolved"] = json!(resolved_show);
        meta["unresolved"] = json!(unresolved);
    }
    if let Some(p) = &proxy {
        header.push(format!("egress by name: through the proxy {}", p.url));
        meta["proxy"] = json!(p.url);
    }
    let text = emit::to_text(&ruleset, &header);
    let mut json = emit::to_json(&ruleset, &header[0]);
    if let Some(info) = json.pointer_mut("/nftables/0/metainfo") {
        info["corral"] = meta;
    }
    let allowlist = proxy.as_ref().map(|p| proxy::allowlist(policy, &uses, p));

    let validation = options.validate_timeout_ms.map(|timeout| {
        let model = model_of(&json, policy);
        let mut compared = names::substitute(policy, &resolved);
        if let Some(p) = &proxy {
            compared.connects.push(p.rule(policy));
        }
        validate(&model, &compared, timeout)
    });
    if let Some(v) = &validation {
        validation_diagnostics(v, proxy.is_some(), &mut diagnostics);
    }
    corral_compiler::diagnostics::sort(&mut diagnostics);
    let summary = summary(
        policy,
        options,
        &ruleset,
        &diagnostics,
        validation.as_ref(),
        (&resolved_show, &unresolved),
        allowlist.as_ref(),
    );
    let exact = !diagnostics.iter().any(|d| matches!(d.code, Code::ArtifactBroader | Code::ArtifactNarrower));
    Ok(NftLowering {
        text,
        json,
        allowlist,
        summary,
        diagnostics,
        validation,
        mode: options.mode.keyword(),
        resolved: resolved_show,
        unresolved,
        elements,
        exact,
    })
}

fn validation_diagnostics(v: &Validation, via_proxy: bool, diagnostics: &mut Vec<Diagnostic>) {
    for (kind, verdict) in [("connect", &v.connect_broader), ("bind", &v.bind_broader)] {
        match verdict {
            Verdict::Counterexample(a) => diagnostics.push(
                Diagnostic::error(
                    Code::ArtifactBroader,
                    format!("the nftables ruleset allows `{a}`, which the policy denies"),
                )
                .counterexample(a.to_string())
                .note(format!("found by translation validation of `{kind}`")),
            ),
            Verdict::Unknown(why) => diagnostics.push(
                Diagnostic::warning(
                    Code::VerificationUnknown,
                    format!("translation validation of `{kind}` is unknown: not proven"),
                )
                .note(why.clone()),
            ),
            Verdict::Holds => {}
        }
    }
    for (kind, verdict) in [("connect", &v.connect_narrower), ("bind", &v.bind_narrower)] {
        let Verdict::Counterexample(a) = verdict else { continue };
        // In proxy mode names go through the proxy, not the ruleset.
        if via_proxy && matches!(a, Access::Connect { host: corral_compiler::eval::Host::Name(_), .. }) {
            continue;
        }
        let explained = diagnostics.iter().any(|d| d.code == Code::ArtifactNarrower);
        if !explained {
            diagnostics.push(
                Diagnostic::warning(
                    Code::ArtifactNarrower,
                    "the nftables ruleset denies accesses the policy allows",
                )
                .counterexample(a.to_string())
                .note(format!("found by translation validation of `{kind}`")),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn summary(
    policy: &Policy,
    options: &NftOptions<'_>,
    rs: &emit::Ruleset,
    diagnostics: &[Diagnostic],
    validation: Option<&Validation>,
    (resolved, unresolved): (&BTreeMap<String, Vec<String>>, &BTreeMap<String, String>),
    allowlist: Option<&Allowlist>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "nftables ruleset for policy `{}` (table inet {})", policy.name, rs.table);
    let _ =
        writeln!(s, "output (connect) and input (bind): drop by default; established and related accepted");
    for set in &rs.sets {
        let _ = writeln!(s, "  {}: {} element(s)", set.name(), set.elems.len());
    }
    if rs.sets.is_empty() {
        let _ = writeln!(s, "  (no connect or bind allowed)");
    }
    match &options.mode {
        NameMode::Addresses => {
            let _ = writeln!(s, "names: addresses only (names are not enforced)");
        }
        NameMode::Resolve { at, .. } => {
            let _ = writeln!(s, "names: resolved at {at}");
            for (n, addrs) in resolved {
                let _ = writeln!(s, "  {n} = {}", addrs.join(", "));
            }
            for (n, why) in unresolved {
                let _ = writeln!(s, "  {n} did not resolve: {why}");
            }
            let _ = writeln!(s, "  any other name at these addresses is reachable too");
        }
        NameMode::Proxy => {
            let n = allowlist.and_then(|a| a.json["allow"].as_array().map(Vec::len)).unwrap_or(0);
            let _ = writeln!(s, "names: through the proxy ({n} allowlist entries)");
        }
    }
    let _ = writeln!(s, "localhost and *.localhost: the loopback addresses (RFC 6761)");
    let _ = writeln!(s, "not enforced: files, devices; listening itself (only peers' packets)");
    let count = |c: Code| diagnostics.iter().filter(|d| d.code == c).count();
    let (b, n) = (count(Code::ArtifactBroader), count(Code::ArtifactNarrower));
    let _ = writeln!(s, "exact: {} ({b} broader, {n} narrower)", if b + n == 0 { "yes" } else { "no" });
    match validation {
        None => {
            let _ = writeln!(s, "validated: not run");
        }
        Some(v) => {
            let what = match &options.mode {
                NameMode::Resolve { .. } => " (for the resolved addresses)",
                NameMode::Proxy => " (with the proxy route)",
                NameMode::Addresses => "",
            };
            let proven = if v.proven() { "yes" } else { "no" };
            let _ = writeln!(s, "validated{what}: permits nothing the policy denies: {proven}");
            let _ = writeln!(
                s,
                "  connect: broader {}, loses {}",
                model::show_verdict(&v.connect_broader),
                model::show_verdict(&v.connect_narrower)
            );
            let _ = writeln!(
                s,
                "  bind (peers by address): broader {}, loses {}",
                model::show_verdict(&v.bind_broader),
                model::show_verdict(&v.bind_narrower)
            );
        }
    }
    s
}
