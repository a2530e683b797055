//! Sub-agent bounds: `policy child within parent` holds when every access
//! the child permits, the parent permits too (SELinux's `typebounds`).

use corral_compiler::diagnostics::{Code, Diagnostic};

use super::{KINDS, PolicyCx, Search, kind_noun, permitted, unknown};
use crate::Literal;

pub(crate) fn check(cx: &PolicyCx<'_>, out: &mut Vec<Diagnostic>) {
    let Some(parent_name) = &cx.policy.within else { return };
    let Some(parent) = cx.program.policy(parent_name) else { return };
    for kind in KINDS {
        let query = permitted(cx.policy, kind, vec![Literal::NotPermitted { policy: parent, right: None }]);
        match cx.search(&query, out) {
            Search::NotFound => {}
            Search::Unknown(reason) => {
                let what = format!(
                    "whether `{}` stays within `{parent_name}` ({}s)",
                    cx.policy.name,
                    kind_noun(kind)
                );
                out.push(unknown(&what, cx.policy.span, &reason, cx.timeout_ms));
            }
            Search::Found(access) => {
                let d = Diagnostic::error(
                    Code::WithinViolated,
                    format!("policy `{}` permits more than `{parent_name}`", cx.policy.name),
                )
                .primary(cx.policy.span, format!("permits `{access}`, which `{parent_name}` denies"))
                .secondary(parent.span, format!("`{parent_name}` denies `{access}`"))
                .counterexample(access.to_string())
                .help(format!("a sub-agent declared `within {parent_name}` must not be granted what its parent is denied"));
                out.push(cx.granting(&access, d));
            }
        }
    }
}
