//! Lowering a policy body: rules, settings and assertions, before
//! inheritance is merged (see `inherit.rs`).

use corral_grammar::ast::{
    self, Effect, Formula as AstFormula, FormulaKind as AstFormulaKind, IdentityKind, Span, StmtKind, Target,
};

use super::expr::{Ctx, Ty, Value};
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::ir::{
    AccessSet, Assertion, BindRule, ConnectRule, DeviceMode, DeviceRule, FileRule, Formula, FormulaKind,
    Identity, Origin, Protos, Quantifier, Right, Rights, SafetyCheck, Setting, Tier, UnsafeOptOut,
};

/// A policy's own rules and settings, with spans.
#[derive(Clone, Debug, Default)]
pub(crate) struct OwnPolicy {
    pub files: Vec<FileRule>,
    pub connects: Vec<ConnectRule>,
    pub binds: Vec<BindRule>,
    pub devices: Vec<DeviceRule>,
    pub identity: Option<Setting<Identity>>,
    pub isolation: Option<Setting<Tier>>,
    pub timeout: Option<Setting<u64>>,
    pub proxy: Option<Setting<String>>,
    pub assertions: Vec<Assertion>,
    pub unsafe_allowed: Vec<UnsafeOptOut>,
}

/// Lowers a policy's statements, consuming them one by one.
pub(crate) fn lower_policy(ctx: &mut Ctx<'_>, name: &str, body: Vec<ast::Stmt>) -> OwnPolicy {
    let mut own = OwnPolicy::default();
    for stmt in body {
        let origin = Origin { policy: name.to_owned(), span: ctx.at(stmt.span), readonly: false };
        match &stmt.kind {
            StmtKind::Error => {}
            StmtKind::Rule { effect, target } => {
                if let Some(set) = lower_target(ctx, target) {
                    push_rule(&mut own, effect.node, set, origin);
                }
            }
            StmtKind::Readonly(expr) => {
                if let Some(Value::Paths(paths)) = ctx.lower(expr, Ty::Paths) {
                    let origin = Origin { readonly: true, ..origin };
                    let read: Rights = [Right::Read, Right::List].into_iter().collect();
                    let change: Rights = [Right::Write, Right::Create, Right::Delete].into_iter().collect();
                    own.files.push(FileRule {
                        effect: Effect::Allow,
                        rights: read,
                        paths: paths.clone(),
                        origin: origin.clone(),
                    });
                    own.files.push(FileRule { effect: Effect::Deny, rights: change, paths, origin });
                }
            }
            StmtKind::Identity { kind, value } => {
                if let Some(id) = lower_identity(ctx, kind.node, value) {
                    set_once(ctx, &mut own.identity, id, origin, "identity");
                }
            }
            StmtKind::Isolation(tier) => {
                if let Some(t) = lower_tier(ctx, tier) {
                    set_once(ctx, &mut own.isolation, t, origin, "isolation");
                }
            }
            StmtKind::Timeout(d) => {
                if let Some(ms) = lower_duration(ctx, d) {
                    set_once(ctx, &mut own.timeout, ms, origin, "timeout");
                }
            }
            StmtKind::Proxy(url) => {
                if let Some(u) = lower_proxy(ctx, url) {
                    set_once(ctx, &mut own.proxy, u, origin, "proxy");
                }
            }
            StmtKind::AllowUnsafe { check, because } => {
                if let Some(opt_out) = lower_opt_out(ctx, check, because, origin) {
                    if let Some(prev) = own.unsafe_allowed.iter().find(|o| o.check == opt_out.check) {
                        ctx.diags.push(
                            Diagnostic::error(
                                Code::DuplicateSetting,
                                format!("`allow unsafe {}` is given twice", check.name),
                            )
                            .primary(opt_out.origin.span, "given again here")
                            .secondary(prev.origin.span, "first given here"),
                        );
                    } else {
                        own.unsafe_allowed.push(opt_out);
                    }
                }
            }
            StmtKind::Assert(a) => {
                if let Some(b) = a.because.as_ref().filter(|b| b.value.trim().is_empty()) {
                    ctx.diags.push(
                        Diagnostic::error(Code::EmptyReason, "empty `because`")
                            .primary(ctx.at(b.span), "empty reason")
                            .help("say why the assertion matters, or drop `because`"),
                    );
                }
                if let Some(formula) = lower_formula(ctx, &a.formula) {
                    own.assertions.push(Assertion {
                        name: a.name.as_ref().map(|n| n.name.clone()),
                        formula,
                        because: a.because.as_ref().map(|b| b.value.clone()),
                        origin,
                    });
                }
            }
        }
    }
    own
}

fn lower_opt_out(
    ctx: &mut Ctx<'_>,
    check: &ast::Ident,
    because: &ast::StrLit,
    origin: Origin,
) -> Option<UnsafeOptOut> {
    let Some(c) = SafetyCheck::from_keyword(&check.name) else {
        let names = SafetyCheck::ALL.map(SafetyCheck::keyword);
        let d =
            Diagnostic::error(Code::UnknownSafetyCheck, format!("no safety check named `{}`", check.name))
                .primary(ctx.at(check.span), "not a built-in safety check");
        let d = match did_you_mean(&check.name, names) {
            Some(h) => d.help(h),
            None => d.help(format!("the checks are {}", quoted(&names))),
        };
        ctx.diags.push(d);
        return None;
    };
    if because.value.trim().is_empty() {
        ctx.diags.push(
            Diagnostic::error(Code::EmptyReason, format!("`allow unsafe {}` needs a reason", check.name))
                .primary(ctx.at(because.span), "empty reason")
                .help("say why the policy needs this, for the reviewer: `because \"…\"`"),
        );
        return None;
    }
    Some(UnsafeOptOut { check: c, because: because.value.clone(), origin })
}

fn push_rule(own: &mut OwnPolicy, effect: Effect, set: AccessSet, origin: Origin) {
    match set {
        AccessSet::Files { rights, paths } => own.files.push(FileRule { effect, rights, paths, origin }),
        AccessSet::Connect { protos, endpoints } => {
            own.connects.push(ConnectRule { effect, protos, endpoints, origin });
        }
        AccessSet::Bind { protos, ports, from } => {
            own.binds.push(BindRule { effect, protos, ports, from, origin });
        }
        AccessSet::Device { device, modes } => own.devices.push(DeviceRule { effect, device, modes, origin }),
    }
}

fn set_once<T>(ctx: &mut Ctx<'_>, slot: &mut Option<Setting<T>>, value: T, origin: Origin, what: &str) {
    if let Some(prev) = slot {
        ctx.diags.push(
            Diagnostic::error(Code::DuplicateSetting, format!("`{what}` is given twice"))
                .primary(origin.span, "given again here")
                .secondary(prev.origin.span, "first given here")
                .help(format!("a policy has at most one `{what}`")),
        );
        return;
    }
    *slot = Some(Setting { value, origin });
}

/// Lowers what a rule or a quantified formula speaks about.
pub(crate) fn lower_target(ctx: &mut Ctx<'_>, target: &Target) -> Option<AccessSet> {
    match target {
        Target::Files { rights, set } => {
            if let Some(found) = ctx.natural(set).filter(|t| *t != Ty::Paths) {
                let (first, last) = (rights.first()?, rights.last()?);
                let words: Vec<&str> = rights.iter().map(|r| r.node.keyword()).collect();
                ctx.diags.push(
                    Diagnostic::error(
                        Code::RightNotApplicable,
                        format!("`{}` does not apply to {found}", words.join(", ")),
                    )
                    .primary(ctx.at(set.span), format!("this is {found}"))
                    .secondary(ctx.at(first.span.to(last.span)), "file rights")
                    .help(match found {
                        Ty::Hosts | Ty::Endpoints => {
                            "hosts are reached with `connect`, ports opened with `bind`"
                        }
                        _ => "ports are opened with `bind`",
                    }),
                );
                return None;
            }
            let rights: Rights = rights.iter().map(|r| r.node).collect();
            match ctx.lower(set, Ty::Paths)? {
                Value::Paths(paths) => Some(AccessSet::Files { rights, paths }),
                _ => None,
            }
        }
        Target::Connect { proto, set } => {
            let protos = Protos::from_option(proto.as_ref().map(|p| p.node));
            match ctx.lower(set, Ty::Endpoints)? {
                Value::Endpoints(endpoints) => Some(AccessSet::Connect { protos, endpoints }),
                _ => None,
            }
        }
        Target::Bind { proto, ports, from } => {
            let protos = Protos::from_option(proto.as_ref().map(|p| p.node));
            let ports = ctx.lower(ports, Ty::Ports);
            let from = match from {
                Some(f) => match ctx.lower(f, Ty::Hosts) {
                    Some(Value::Hosts(h)) => Some(Some(h)),
                    _ => None,
                },
                None => Some(None),
            };
            match (ports?, from?) {
                (Value::Ports(ports), from) => Some(AccessSet::Bind { protos, ports, from }),
                _ => None,
            }
        }
        Target::Device { device, mode } => {
            let all = DeviceMode::modes_of(device.node);
            let modes = match mode {
                None => all.to_vec(),
                Some(m) => match DeviceMode::from_keyword(&m.name).filter(|dm| all.contains(dm)) {
                    Some(dm) => vec![dm],
                    None => {
                        let names: Vec<&str> =
                            all.iter().filter(|m| **m != DeviceMode::Use).map(|m| m.keyword()).collect();
                        let help = if names.is_empty() {
                            format!("`{}` has no modes: write it alone", device.node.keyword())
                        } else {
                            format!("the modes of `{}` are {}", device.node.keyword(), quoted(&names))
                        };
                        ctx.diags.push(
                            Diagnostic::error(
                                Code::InvalidDeviceMode,
                                format!("`{}` has no mode `{}`", device.node.keyword(), m.name),
                            )
                            .primary(ctx.at(m.span), "unknown mode")
                            .help(help),
                        );
                        return None;
                    }
                },
            };
            Some(AccessSet::Device { device: device.node, modes })
        }
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

fn lower_identity(ctx: &mut Ctx<'_>, kind: IdentityKind, value: &ast::StrLit) -> Option<Identity> {
    let span = ctx.at(value.span);
    let err = |ctx: &mut Ctx<'_>, msg: String, help: &str| {
        ctx.diags.push(Diagnostic::error(Code::InvalidIdentity, msg).primary(span, "here").help(help));
    };
    match kind {
        IdentityKind::Local => {
            let name = value.value.trim();
            if name.is_empty() || name != value.value || name.chars().any(char::is_control) {
                err(
                    ctx,
                    "empty or padded local identity".into(),
                    "name the agent: `identity local \"copilot-cli\"`",
                );
                return None;
            }
            Some(Identity::Local { name: name.to_owned() })
        }
        IdentityKind::Entra => {
            let help = "write the tenant (a GUID or domain) and the application id (a GUID): `identity entra \"TENANT/APP-ID\"`";
            let Some((tenant, app)) = value.value.split_once('/') else {
                err(ctx, format!("entra identity `{}` has no `/`", value.value), help);
                return None;
            };
            let tenant_ok = is_guid(tenant)
                || crate::ir::HostAtom::parse(tenant)
                    .is_ok_and(|h| matches!(h, crate::ir::HostAtom::Name(_)));
            if !tenant_ok {
                err(ctx, format!("invalid entra tenant `{tenant}`"), help);
                return None;
            }
            if !is_guid(app) {
                err(ctx, format!("invalid entra application id `{app}`"), help);
                return None;
            }
            Some(Identity::Entra { tenant: tenant.to_ascii_lowercase(), app_id: app.to_ascii_lowercase() })
        }
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn lower_tier(ctx: &mut Ctx<'_>, tier: &ast::Ident) -> Option<Tier> {
    if let Some(t) = Tier::from_keyword(&tier.name) {
        return Some(t);
    }
    let names = Tier::ALL.map(Tier::keyword);
    let mut d = Diagnostic::error(Code::UnknownTier, format!("unknown isolation tier `{}`", tier.name))
        .primary(ctx.at(tier.span), "not a tier");
    d = match did_you_mean(&tier.name, names) {
        Some(h) => d.help(h),
        None => d.help("the tiers are `process`, `container` and `microvm`"),
    };
    ctx.diags.push(d);
    None
}

/// Milliseconds of a duration literal such as `30s`.
fn lower_duration(ctx: &mut Ctx<'_>, d: &ast::Duration) -> Option<u64> {
    let split = d.text.find(|c: char| !c.is_ascii_digit()).unwrap_or(d.text.len());
    let (digits, unit) = d.text.split_at(split);
    let scale: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 0,
    };
    let ms = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(scale));
    match ms {
        Some(ms) if ms > 0 && ms <= 365 * 86_400_000 => Some(ms),
        _ => {
            ctx.diags.push(
                Diagnostic::error(Code::InvalidDuration, format!("invalid duration `{}`", d.text))
                    .primary(ctx.at(d.span), "must be above zero and at most a year")
                    .help("durations are a number and a unit: `500ms`, `30s`, `10m`, `2h`, `1d`"),
            );
            None
        }
    }
}

fn lower_proxy(ctx: &mut Ctx<'_>, url: &ast::StrLit) -> Option<String> {
    let v = url.value.as_str();
    let rest = v.strip_prefix("http://").or_else(|| v.strip_prefix("https://"));
    let ok = rest.and_then(|r| {
        let authority = r.strip_suffix('/').unwrap_or(r);
        let (host, port) = authority.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        (port > 0 && !host.is_empty() && crate::ir::HostAtom::parse(host).is_ok()).then_some(())
    });
    if ok.is_none() {
        ctx.diags.push(
            Diagnostic::error(Code::InvalidProxy, format!("invalid proxy `{v}`"))
                .primary(ctx.at(url.span), "not `http://HOST:PORT`")
                .help("write the proxy's URL with scheme, host and port: `proxy \"http://127.0.0.1:8080\"`"),
        );
        return None;
    }
    Some(v.strip_suffix('/').unwrap_or(v).to_owned())
}

fn lower_formula(ctx: &mut Ctx<'_>, f: &AstFormula) -> Option<Formula> {
    let span = ctx.at(f.span);
    let kind = match &f.kind {
        AstFormulaKind::Error => return None,
        AstFormulaKind::Bool(b) => FormulaKind::Bool(*b),
        AstFormulaKind::Paren(inner) => return lower_formula(ctx, inner),
        AstFormulaKind::Not(inner) => FormulaKind::Not(Box::new(lower_formula(ctx, inner)?)),
        AstFormulaKind::And(parts) => FormulaKind::And(lower_all(ctx, parts)?),
        AstFormulaKind::Or(parts) => FormulaKind::Or(lower_all(ctx, parts)?),
        AstFormulaKind::Implies(parts) => FormulaKind::Implies(lower_all(ctx, parts)?),
        AstFormulaKind::Isolation { op, tier } => {
            FormulaKind::Isolation { op: op.node, tier: lower_tier(ctx, tier)? }
        }
        AstFormulaKind::Access { quantifier, target } => {
            let quantifier = match quantifier.node {
                ast::Quantifier::Can => Quantifier::Can,
                ast::Quantifier::Never => Quantifier::Never,
                ast::Quantifier::Only => Quantifier::Only,
            };
            FormulaKind::Access { quantifier, set: lower_target(ctx, target)? }
        }
    };
    Some(Formula { kind, span })
}

fn lower_all(ctx: &mut Ctx<'_>, parts: &[AstFormula]) -> Option<Vec<Formula>> {
    let lowered: Vec<Option<Formula>> = parts.iter().map(|p| lower_formula(ctx, p)).collect();
    lowered.into_iter().collect()
}

/// The span of a policy's header, `policy NAME …`, for labels.
pub(crate) fn header_span(item_span: Span, policy: &ast::Policy) -> Span {
    Span { start: item_span.start, end: policy.name.span.end }
}
