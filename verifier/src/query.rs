//! The verifier's question: does one access exist that satisfies every
//! literal of a [`Query`]? The answer is an [`Outcome`].

use corral_compiler::eval::{Access, RuleRef};
use corral_compiler::ir::{AccessSet, Policy, Right, Rights};

/// The kind of access a query looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    File,
    Connect,
    Bind,
    Device,
}

impl Kind {
    pub fn of_access(access: &Access) -> Kind {
        match access {
            Access::File { .. } => Kind::File,
            Access::Connect { .. } => Kind::Connect,
            Access::Bind { .. } => Kind::Bind,
            Access::Device { .. } => Kind::Device,
        }
    }

    pub fn of_set(set: &AccessSet) -> Kind {
        match set {
            AccessSet::Files { .. } => Kind::File,
            AccessSet::Connect { .. } => Kind::Connect,
            AccessSet::Bind { .. } => Kind::Bind,
            AccessSet::Device { .. } => Kind::Device,
        }
    }

    pub fn of_rule(rule: RuleRef) -> Kind {
        match rule {
            RuleRef::File(_) => Kind::File,
            RuleRef::Connect(_) => Kind::Connect,
            RuleRef::Bind(_) => Kind::Bind,
            RuleRef::Device(_) => Kind::Device,
        }
    }
}

/// One constraint on the single access the query looks for.
#[derive(Clone, Debug)]
pub enum Literal<'p> {
    /// The access is in `set` (file rights × paths, connect protos ×
    /// endpoints, bind protos × ports × from, device × modes). A set of
    /// another kind than the query's holds no access of the query's kind.
    In(&'p AccessSet),
    NotIn(&'p AccessSet),
    /// `policy` permits the access (LANGUAGE.md §4: some allow covers, no
    /// deny covers). With `right: Some(r)` it asks about the same resource
    /// with the file right `r` instead (e.g. "the agent can exec this path
    /// AND write it"); `right` is ignored for accesses that are not files.
    Permitted {
        policy: &'p Policy,
        right: Option<Right>,
    },
    NotPermitted {
        policy: &'p Policy,
        right: Option<Right>,
    },
    /// One rule of `policy` covers the access (the evaluator's coverage,
    /// bind peer semantics included). A rule of another kind, or out of
    /// range, covers nothing.
    Covered {
        policy: &'p Policy,
        rule: RuleRef,
    },
    NotCovered {
        policy: &'p Policy,
        rule: RuleRef,
    },
    /// The access is exactly this one (for differential testing). An access
    /// outside the verifier's domain (a malformed path, a host name that
    /// `Host::parse` rejects) is never found.
    Is(Access),
}

impl Literal<'_> {
    /// The literal's negation.
    pub fn negated(&self) -> Option<Self> {
        Some(match self {
            Literal::In(s) => Literal::NotIn(s),
            Literal::NotIn(s) => Literal::In(s),
            Literal::Permitted { policy, right } => Literal::NotPermitted { policy, right: *right },
            Literal::NotPermitted { policy, right } => Literal::Permitted { policy, right: *right },
            Literal::Covered { policy, rule } => Literal::NotCovered { policy, rule: *rule },
            Literal::NotCovered { policy, rule } => Literal::Covered { policy, rule: *rule },
            Literal::Is(_) => return None,
        })
    }
}

/// Is there one access of `kind` that satisfies every literal?
#[derive(Clone, Debug)]
pub struct Query<'p> {
    pub kind: Kind,
    pub literals: Vec<Literal<'p>>,
}

impl Query<'_> {
    /// The file rights a witness can have: those every positive literal
    /// about rights allows.
    pub(crate) fn possible_rights(&self) -> Rights {
        let mut rights = Rights::all();
        for lit in &self.literals {
            let limit = match lit {
                Literal::In(AccessSet::Files { rights, .. }) => *rights,
                Literal::Covered { policy, rule: RuleRef::File(i) } => {
                    policy.files.get(*i).map_or(Rights::default(), |r| r.rights)
                }
                Literal::Is(Access::File { right, .. }) => Rights::of(*right),
                _ => continue,
            };
            rights = Rights(rights.0 & limit.0);
        }
        rights
    }
}

/// The answer to a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A concrete access satisfying every literal, already replayed through
    /// the concrete evaluator and membership checks.
    Found(Access),
    /// No such access exists (unsat).
    NotFound,
    /// The solver gave up (timeout or `unknown`), with z3's reason. Never to
    /// be reported as proven.
    Unknown(String),
    /// The SMT model failed replay: the SMT encoding and the evaluator
    /// disagree. A bug, to be reported as an internal error, never a result.
    Disagreement(String),
}
