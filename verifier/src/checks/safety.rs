//! The built-in safety checks (LANGUAGE.md §5), run on every policy unless
//! it opts out by name with `allow unsafe NAME because "…"`.

use corral_compiler::diagnostics::{Code, Diagnostic};
use corral_compiler::ir::{
    AccessSet, EndpointAtom, PortRange, Protos, Right, Rights, SafetyCheck, Set, Tier,
};
use corral_compiler::stdlib::std_paths;

use super::{PolicyCx, Search, unknown};
use crate::{Kind, Literal, Query};

pub(crate) fn check(cx: &PolicyCx<'_>, out: &mut Vec<Diagnostic>) {
    let home = cx.program.home.as_str();
    persistence(cx, home, out);
    exfiltration(cx, home, out);
    exec_writable(cx, out);
}

/// Reports a check that fails, or a needless opt-out of one that passes.
fn settle(cx: &PolicyCx<'_>, check: SafetyCheck, failure: Option<Diagnostic>, out: &mut Vec<Diagnostic>) {
    match (failure, cx.policy.opt_out(check)) {
        (Some(d), None) => out.push(d),
        (Some(_), Some(_)) => {}
        (None, Some(opt_out)) if opt_out.origin.policy == cx.policy.name => out.push(
            Diagnostic::warning(
                Code::NeedlessOptOut,
                format!("`allow unsafe {}` is not needed", check.keyword()),
            )
            .primary(opt_out.origin.span, "the check passes without it")
            .help("remove the opt-out, so that a later change that breaks the check is reported"),
        ),
        (None, _) => {}
    }
}

fn file_rights(rights: &[Right]) -> Rights {
    rights.iter().copied().collect()
}

fn persistence(cx: &PolicyCx<'_>, home: &str, out: &mut Vec<Diagnostic>) {
    let Some(paths) = std_paths("persistence", "all", home) else { return };
    let set = AccessSet::Files { rights: file_rights(&[Right::Write, Right::Create, Right::Delete]), paths };
    let query = Query {
        kind: Kind::File,
        literals: vec![Literal::In(&set), Literal::Permitted { policy: cx.policy, right: None }],
    };
    let failure = match cx.search(&query, out) {
        Search::NotFound => None,
        Search::Unknown(reason) => {
            Some(unknown("the `persistence` safety check", cx.policy.span, &reason, cx.timeout_ms))
        }
        Search::Found(access) => {
            let d = Diagnostic::error(
                Code::UnsafePersistence,
                format!("policy `{}` can change files the host runs later", cx.policy.name),
            )
            .primary(cx.policy.span, format!("permits `{access}`"))
            .counterexample(access.to_string())
            .note("`std.persistence` holds shell rc files, `.git/hooks` and `.git/config`, editor and agent settings, autostart entries: a change there runs code after the session ends")
            .help("deny them: `deny write, create, delete persistence.all` (with `import std.persistence`), or opt out: `allow unsafe persistence because \"…\"`");
            Some(cx.granting(&access, d))
        }
    };
    settle(cx, SafetyCheck::Persistence, failure, out);
}

fn exfiltration(cx: &PolicyCx<'_>, home: &str, out: &mut Vec<Diagnostic>) {
    let Some(secrets) = std_paths("secrets", "all", home) else { return };
    let read_secrets = AccessSet::Files { rights: Rights::of(Right::Read), paths: secrets };
    let Some(internet) = corral_compiler::ir::host::builtin_set("internet") else { return };
    let reach = AccessSet::Connect {
        protos: Protos::BOTH,
        endpoints: Set::Atom(EndpointAtom { hosts: internet, ports: Set::Atom(PortRange::ALL) }),
    };
    let permitted = Literal::Permitted { policy: cx.policy, right: None };
    let read = cx.search(
        &Query { kind: Kind::File, literals: vec![Literal::In(&read_secrets), permitted.clone()] },
        out,
    );
    let failure = match read {
        Search::NotFound => None,
        Search::Unknown(reason) => {
            Some(unknown("the `exfiltration` safety check", cx.policy.span, &reason, cx.timeout_ms))
        }
        Search::Found(secret) => match cx
            .search(&Query { kind: Kind::Connect, literals: vec![Literal::In(&reach), permitted] }, out)
        {
            Search::NotFound => None,
            Search::Unknown(reason) => {
                Some(unknown("the `exfiltration` safety check", cx.policy.span, &reason, cx.timeout_ms))
            }
            Search::Found(egress) => {
                let d = Diagnostic::error(
                    Code::UnsafeExfiltration,
                    format!("policy `{}` can read secrets and reach the internet", cx.policy.name),
                )
                .primary(cx.policy.span, format!("permits `{secret}` and `{egress}`"))
                .counterexample(secret.to_string())
                .counterexample(egress.to_string())
                .note("an agent that can read a credential and open a connection to the internet can send it away")
                .help("deny the secrets (`deny read secrets.all`), narrow `connect` to the hosts the agent needs, or opt out: `allow unsafe exfiltration because \"…\"`");
                Some(cx.granting(&egress, cx.granting(&secret, d)))
            }
        },
    };
    settle(cx, SafetyCheck::Exfiltration, failure, out);
}

fn exec_writable(cx: &PolicyCx<'_>, out: &mut Vec<Diagnostic>) {
    if cx.policy.tier() >= Tier::Container {
        settle(cx, SafetyCheck::ExecWritable, None, out);
        return;
    }
    let mut failure = None;
    for change in [Right::Write, Right::Create] {
        let query = Query {
            kind: Kind::File,
            literals: vec![
                Literal::Permitted { policy: cx.policy, right: Some(Right::Exec) },
                Literal::Permitted { policy: cx.policy, right: Some(change) },
            ],
        };
        match cx.search(&query, out) {
            Search::NotFound => continue,
            Search::Unknown(reason) => {
                failure =
                    Some(unknown("the `exec_writable` safety check", cx.policy.span, &reason, cx.timeout_ms));
                break;
            }
            Search::Found(access) => {
                let corral_compiler::eval::Access::File { path, .. } = &access else { continue };
                let exec = corral_compiler::eval::Access::File { right: Right::Exec, path: path.clone() };
                let changed = corral_compiler::eval::Access::File { right: change, path: path.clone() };
                let d = Diagnostic::error(
                    Code::UnsafeExecWritable,
                    format!("policy `{}` can execute files it can {}", cx.policy.name, change.keyword()),
                )
                .primary(cx.policy.span, format!("permits `{changed}` and `{exec}` below isolation `container`"))
                .counterexample(changed.to_string())
                .counterexample(exec.to_string())
                .note(format!("the isolation tier is `{}`", cx.policy.tier().keyword()))
                .help("keep exec and write apart, raise the tier (`isolation container`), or opt out: `allow unsafe exec_writable because \"…\"`");
                failure = Some(cx.granting(&exec, cx.granting(&changed, d)));
                break;
            }
        }
    }
    settle(cx, SafetyCheck::ExecWritable, failure, out);
}
