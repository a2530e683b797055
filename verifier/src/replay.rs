//! Replaying a witness through the concrete semantics: the evaluator for
//! decisions, `eval::sets` for membership and coverage. A witness is shown
//! only when every literal of its query holds for it here too.

use corral_compiler::eval::sets::{rule_covers, with_right};
use corral_compiler::eval::{Access, Host, is_permitted, path_segments};

use crate::query::{Kind, Literal, Query};

/// Is `access` in the verifier's domain: of the query's kind, with a
/// well-formed path, and with names that `Host::parse` gives back as they
/// are?
fn in_domain(kind: Kind, access: &Access) -> Result<(), String> {
    if Kind::of_access(access) != kind {
        return Err(format!("the witness `{access}` is not of the query's kind"));
    }
    let name_ok = |host: &Host| match host {
        Host::Name(n) => Host::parse(n).ok().as_ref() == Some(host),
        Host::Addr(_) => true,
    };
    let ok = match access {
        Access::File { path, .. } => path_segments(path).is_some(),
        Access::Connect { host, .. } => name_ok(host),
        Access::Bind { peer, .. } => peer.as_ref().is_none_or(name_ok),
        Access::Device { .. } => true,
    };
    if ok { Ok(()) } else { Err(format!("the witness `{access}` is not a well-formed access")) }
}

/// `access` with host names in the lower case the verifier compares in.
pub(crate) fn normalised(access: &Access) -> Access {
    let lower = |h: &Host| match h {
        Host::Name(n) => Host::Name(n.to_ascii_lowercase()),
        other => other.clone(),
    };
    match access {
        Access::Connect { proto, host, port } => {
            Access::Connect { proto: *proto, host: lower(host), port: *port }
        }
        Access::Bind { proto, port, peer } => {
            Access::Bind { proto: *proto, port: *port, peer: peer.as_ref().map(lower) }
        }
        other => other.clone(),
    }
}

/// Does `lit` hold for `access` under the concrete semantics?
pub(crate) fn holds(lit: &Literal<'_>, access: &Access) -> bool {
    let permitted = |policy, right: &Option<_>| match right {
        Some(r) => is_permitted(policy, &with_right(access, *r)),
        None => is_permitted(policy, access),
    };
    match lit {
        Literal::In(set) => set.contains(access),
        Literal::NotIn(set) => !set.contains(access),
        Literal::Permitted { policy, right } => permitted(policy, right),
        Literal::NotPermitted { policy, right } => !permitted(policy, right),
        Literal::Covered { policy, rule } => rule_covers(policy, *rule, access),
        Literal::NotCovered { policy, rule } => !rule_covers(policy, *rule, access),
        Literal::Is(expected) => normalised(expected) == *access,
    }
}

/// Checks a witness against its query: `Err` names the first literal the
/// concrete semantics disagrees with.
pub(crate) fn replay(query: &Query<'_>, access: &Access) -> Result<(), String> {
    in_domain(query.kind, access)?;
    for (i, lit) in query.literals.iter().enumerate() {
        if !holds(lit, access) {
            return Err(format!(
                "the solver's witness `{access}` fails literal {i} ({}) under the evaluator",
                describe(lit)
            ));
        }
    }
    Ok(())
}

fn describe(lit: &Literal<'_>) -> String {
    match lit {
        Literal::In(_) => "in a set".into(),
        Literal::NotIn(_) => "not in a set".into(),
        Literal::Permitted { policy, .. } => format!("permitted by `{}`", policy.name),
        Literal::NotPermitted { policy, .. } => format!("not permitted by `{}`", policy.name),
        Literal::Covered { policy, rule } => format!("covered by {rule:?} of `{}`", policy.name),
        Literal::NotCovered { policy, rule } => format!("not covered by {rule:?} of `{}`", policy.name),
        Literal::Is(a) => format!("is `{a}`"),
    }
}
