//! Running z3 on an encoded query: the per-query timeout, `unknown` with
//! its reason, the model turned back into an [`Access`], and the SMT-LIB
//! text of a query.

use corral_compiler::eval::Access;
use corral_compiler::ir::{Device, Proto, Right};
use z3::ast::{BV, Bool, String as ZString};
use z3::{Model, Params, SatResult};

use super::F;
use super::access::{Encoder, MODES, Stats, Vars};
use super::paths::PathAlphabet;
use crate::query::{Outcome, Query};
use crate::replay::replay;

/// The encoded query: the constraints of the domain and one formula per
/// literal.
struct Encoded<'q> {
    encoder: Encoder<'q>,
    formula: F,
}

fn encode<'q>(query: &Query<'q>, prefilter: bool) -> Result<Encoded<'q>, String> {
    let mut encoder = Encoder::new(query, prefilter)?;
    let mut parts = vec![encoder.domain()];
    for lit in &query.literals {
        let f = encoder.literal(lit);
        let unsat = matches!(f, F::Const(false));
        parts.push(f);
        if unsat {
            break;
        }
    }
    Ok(Encoded { formula: F::and(parts), encoder })
}

fn solver_with(formula: &F, timeout_ms: u32) -> z3::Solver {
    let solver = z3::Solver::new();
    let mut params = Params::new();
    if timeout_ms > 0 {
        params.set_u32("timeout", timeout_ms);
    }
    solver.set_params(&params);
    if let F::Term(t) = formula {
        solver.assert(t);
    } else {
        solver.assert(formula.clone().into_bool());
    }
    solver
}

/// Searches for an access satisfying every literal; a found access is
/// replayed before it is returned.
pub(crate) fn search(query: &Query<'_>, timeout_ms: u32, prefilter: bool) -> (Outcome, Stats) {
    let encoded = match encode(query, prefilter) {
        Ok(e) => e,
        Err(reason) => return (Outcome::Unknown(reason), Stats::default()),
    };
    let stats = encoded.encoder.stats;
    if matches!(encoded.formula, F::Const(false)) {
        return (Outcome::NotFound, stats);
    }
    let formula = encoded.formula.clone().into_bool();
    let answer = super::check(&formula, stats.atoms, timeout_ms, |solver, result| match result {
        SatResult::Unsat => Ok(None),
        SatResult::Unknown => Err(solver.get_reason_unknown().unwrap_or_else(|| "unknown".to_owned())),
        SatResult::Sat => Ok(Some(solver.get_model().and_then(|m| decode(&encoded.encoder, &m)))),
    });
    let outcome = match answer {
        Ok(None) => Outcome::NotFound,
        Err(reason) => Outcome::Unknown(reason),
        Ok(Some(None)) => Outcome::Disagreement("the solver's model does not describe an access".into()),
        Ok(Some(Some(access))) => match replay(query, &access) {
            Ok(()) => Outcome::Found(access),
            Err(why) => Outcome::Disagreement(why),
        },
    };
    (outcome, stats)
}

/// The query as SMT-LIB 2: declarations, assertions and `(check-sat)`.
pub(crate) fn smtlib(query: &Query<'_>, timeout_ms: u32, prefilter: bool) -> String {
    let encoded = match encode(query, prefilter) {
        Ok(e) => e,
        Err(reason) => return format!("; not encodable: {reason}\n"),
    };
    let solver = solver_with(&encoded.formula, timeout_ms);
    let mut out = String::from("; corral verifier query: one access satisfying every literal\n");
    if matches!(encoded.encoder.vars, Vars::Connect { .. } | Vars::Bind { .. }) {
        for (i, rep) in encoded.encoder.names.representatives().iter().enumerate() {
            out.push_str(&format!("; name class {i}: {rep}\n"));
        }
    }
    if matches!(encoded.encoder.vars, Vars::File { .. }) {
        out.push_str("; paths as strings and globs as regular expressions: the verifier itself decides\n");
        out.push_str("; file queries with segment automata (docs/verifier.md)\n");
    }
    out.push_str(&solver.to_smt2());
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn bv_value(model: &Model, bv: &BV) -> Option<u64> {
    model.eval(bv, true)?.as_u64()
}

fn decode(encoder: &Encoder<'_>, model: &Model) -> Option<Access> {
    match &encoder.vars {
        Vars::File { right, path } => {
            let right = *Right::ALL.get(usize::try_from(bv_value(model, right)?).ok()?)?;
            let path = decode_path(model, path, &encoder.paths.as_ref()?.alphabet)?;
            Some(Access::File { right, path })
        }
        Vars::Connect { udp, host, port } => Some(Access::Connect {
            proto: proto(model, udp)?,
            host: host.decode(&encoder.names, model)?,
            port: u16::try_from(bv_value(model, port)?).ok()?,
        }),
        Vars::Bind { udp, port, has_peer, peer } => {
            let peer = if model.eval(has_peer, true)?.as_bool()? {
                Some(peer.decode(&encoder.names, model)?)
            } else {
                None
            };
            Some(Access::Bind {
                proto: proto(model, udp)?,
                port: u16::try_from(bv_value(model, port)?).ok()?,
                peer,
            })
        }
        Vars::Device { device, mode } => Some(Access::Device {
            device: *Device::ALL.get(usize::try_from(bv_value(model, device)?).ok()?)?,
            mode: *MODES.get(usize::try_from(bv_value(model, mode)?).ok()?)?,
        }),
    }
}

fn proto(model: &Model, udp: &Bool) -> Option<Proto> {
    Some(if model.eval(udp, true)?.as_bool()? { Proto::Udp } else { Proto::Tcp })
}

/// The path of a model. z3 prints printable ASCII as is and every other
/// character as `\u{…}`, but a backslash as is too, so a text with a
/// backslash or an escape is read one character at a time.
fn decode_path(model: &Model, path: &ZString, alphabet: &PathAlphabet) -> Option<String> {
    let text = model.eval(path, true)?.as_string()?;
    if text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\') {
        return Some(text);
    }
    let len = model.eval(&path.length(), true)?.as_i64()?;
    let mut out = String::new();
    for i in 0..len {
        let one = model.eval(&path.at(i), true)?.as_string()?;
        out.push(decode_char(&one, alphabet)?);
    }
    Some(out)
}

/// One character as z3 prints it: itself, or `\u{X}`, `\uXXXX`, `\xXX`.
fn decode_char(text: &str, alphabet: &PathAlphabet) -> Option<char> {
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(c);
    }
    let hex = text
        .strip_prefix("\\u{")
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| text.strip_prefix("\\u"))
        .or_else(|| text.strip_prefix("\\x"))?;
    alphabet.restore(u32::from_str_radix(hex, 16).ok()?)
}
