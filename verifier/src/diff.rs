//! The semantic difference between two versions of a policy (`corral
//! diff`): for each class of access — each file right, connect and bind
//! per protocol, each device mode — one access the new version permits and
//! the old denies (*gained*), and one the old permits and the new denies
//! (*lost*), or a proof that there is none.
//!
//! File, connect and bind classes are [`Solver`] searches, so every witness
//! has been replayed through the evaluator and a timeout is
//! [`Verdict::Unknown`], never "no difference". Device accesses are
//! finitely many and are decided by the evaluator, one by one.

use std::fmt;

use corral_compiler::eval::{Access, is_permitted};
use corral_compiler::ir::{
    AccessSet, Device, DeviceMode, EndpointAtom, HostAtom, PathPattern, Policy, PortRange, Proto, Protos,
    Right, Rights, Set,
};

use crate::refine::Verdict;
use crate::{Kind, Literal, Outcome, Query, Solver};

/// A class of accesses that `corral diff` reports on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    File(Right),
    Connect(Proto),
    Bind(Proto),
    Device(Device, DeviceMode),
}

impl Class {
    /// Every class, in report order.
    pub fn all() -> Vec<Class> {
        let mut classes: Vec<Class> = Right::ALL.into_iter().map(Class::File).collect();
        for proto in [Proto::Tcp, Proto::Udp] {
            classes.push(Class::Connect(proto));
        }
        for proto in [Proto::Tcp, Proto::Udp] {
            classes.push(Class::Bind(proto));
        }
        for device in Device::ALL {
            classes.extend(DeviceMode::modes_of(device).iter().map(|&mode| Class::Device(device, mode)));
        }
        classes
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = |p: &Proto| match p {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        };
        match self {
            Class::File(right) => f.write_str(right.keyword()),
            Class::Connect(p) => write!(f, "connect {}", proto(p)),
            Class::Bind(p) => write!(f, "bind {}", proto(p)),
            Class::Device(device, mode) => {
                write!(f, "{}", Access::Device { device: *device, mode: *mode })
            }
        }
    }
}

/// The difference within one class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassDiff {
    pub class: Class,
    /// An access `new` permits and `old` denies, or [`Verdict::Holds`]
    /// when there is none.
    pub gained: Verdict,
    /// An access `old` permits and `new` denies.
    pub lost: Verdict,
}

impl ClassDiff {
    /// Whether the class is proven the same both ways: nothing gained,
    /// nothing lost, nothing unknown.
    pub fn is_equal(&self) -> bool {
        self.gained == Verdict::Holds && self.lost == Verdict::Holds
    }
}

/// The difference between `old` and `new`, class by class (every class of
/// [`Class::all`], in that order).
pub fn diff(old: &Policy, new: &Policy, solver: &Solver) -> Vec<ClassDiff> {
    Class::all()
        .into_iter()
        .map(|class| ClassDiff {
            class,
            gained: separate(new, old, class, solver),
            lost: separate(old, new, class, solver),
        })
        .collect()
}

/// An access of `class` that `yes` permits and `no` denies.
fn separate(yes: &Policy, no: &Policy, class: Class, solver: &Solver) -> Verdict {
    let (kind, set) = match class {
        Class::Device(device, mode) => {
            let access = Access::Device { device, mode };
            return if is_permitted(yes, &access) && !is_permitted(no, &access) {
                Verdict::Counterexample(access)
            } else {
                Verdict::Holds
            };
        }
        Class::File(right) => {
            // `/**` is every path below the root; the root is its own.
            let (Ok(root), Ok(below)) = (PathPattern::parse("/", "/"), PathPattern::parse("/**", "/")) else {
                return Verdict::Unknown("cannot build the set of every path".to_owned());
            };
            let paths = Set::Union(vec![Set::Atom(root), Set::Atom(below)]);
            (Kind::File, AccessSet::Files { rights: Rights::of(right), paths })
        }
        Class::Connect(proto) => {
            let every_host = Set::Union(vec![Set::Atom(HostAtom::AnyName), Set::Atom(HostAtom::AnyAddr)]);
            let endpoints = Set::Atom(EndpointAtom { hosts: every_host, ports: Set::Atom(PortRange::ALL) });
            (Kind::Connect, AccessSet::Connect { protos: Protos::from_option(Some(proto)), endpoints })
        }
        Class::Bind(proto) => (
            Kind::Bind,
            AccessSet::Bind {
                protos: Protos::from_option(Some(proto)),
                ports: Set::Atom(PortRange::ALL),
                from: None,
            },
        ),
    };
    let literals = vec![
        Literal::In(&set),
        Literal::Permitted { policy: yes, right: None },
        Literal::NotPermitted { policy: no, right: None },
    ];
    match solver.search(&Query { kind, literals }) {
        Outcome::Found(access) => Verdict::Counterexample(access),
        Outcome::NotFound => Verdict::Holds,
        Outcome::Unknown(why) => Verdict::Unknown(why),
        Outcome::Disagreement(detail) => Verdict::Unknown(format!(
            "internal disagreement between the SMT encoding and the evaluator: {detail}"
        )),
    }
}
