//! Hosts as z3 terms: a host is a name or an address (a 128-bit
//! bit-vector), told apart by a Boolean. IPv4 addresses are their
//! IPv4-mapped IPv6 form, as in `ir::host`, so a CIDR is a prefix compare.
//!
//! Names are not strings: the only questions a policy asks of a name are
//! "is it `n`" (for the names `n` it mentions) and "is it strictly below
//! `s`" (for the suffixes `s` of its `*.s`). A name `h` outside the named
//! ones answers the second question for exactly the suffixes of `h`, which
//! all sit below the longest one, `s*`; so every name behaves like one of
//! finitely many *classes*: each mentioned name, "below `s*` and not
//! mentioned" for each suffix `s*`, and "below no suffix, not mentioned".
//! A name variable is the index of its class (a small bit-vector), and
//! each class has a representative name that `Host::parse` accepts. The
//! regular-expression form of names is kept for `--print-smtlib` only;
//! z3 4.8.12's string theory is too slow to decide with it.

use std::collections::{BTreeMap, BTreeSet};

use corral_compiler::eval::Host;
use corral_compiler::eval::matching::is_subdomain;
use corral_compiler::ir::{Cidr, HostAtom};
use z3::Model;
use z3::ast::{BV, Bool};

/// The longest name, in characters.
const MAX_NAME: usize = 253;

/// The classes of names a query can tell apart, with a representative of
/// each, ordered by their labels read from the right so that the names
/// below one suffix have neighbouring indexes.
#[derive(Debug)]
pub(crate) struct NameSpace {
    reps: Vec<String>,
    by_name: BTreeMap<String, u64>,
    width: u32,
}

/// Is `name` a name `Host::parse` gives back unchanged?
fn valid(name: &str) -> bool {
    matches!(Host::parse(name), Ok(Host::Name(n)) if n == name)
}

/// Labels to try for representatives: `x`, `y`, …, then two letters.
fn labels() -> impl Iterator<Item = String> {
    const FIRST: &str = "xyzabcdefghijklmnopqrstuvw";
    let one = FIRST.chars().map(String::from);
    let two = FIRST.chars().flat_map(|a| FIRST.chars().map(move |b| format!("{a}{b}")));
    one.chain(two).chain((0u32..).map(|i| format!("x{i}")))
}

impl NameSpace {
    /// The classes for the mentioned `names` and `suffixes`.
    pub(crate) fn new(names: &BTreeSet<String>, suffixes: &BTreeSet<String>) -> Self {
        let names: BTreeSet<String> = names.iter().filter(|n| valid(n)).cloned().collect();
        let mut reps: Vec<String> = names.iter().cloned().collect();
        for s in suffixes {
            if s.len() + 2 > MAX_NAME {
                continue;
            }
            let rep = labels().map(|l| format!("{l}.{s}")).find(|r| !names.contains(r) && valid(r));
            reps.extend(rep);
        }
        reps.extend(labels().find(|l| !names.contains(l) && valid(l)));
        let key = |n: &String| n.rsplit('.').map(str::to_owned).collect::<Vec<_>>();
        reps.sort_by_key(key);
        reps.dedup();
        let by_name = reps.iter().enumerate().map(|(i, r)| (r.clone(), i as u64)).collect();
        let width = (64 - (reps.len().max(2) as u64 - 1).leading_zeros()).max(1);
        NameSpace { reps, by_name, width }
    }

    /// The representative name of each class, by index.
    pub(crate) fn representatives(&self) -> &[String] {
        &self.reps
    }

    fn class(&self, index: u64) -> BV {
        BV::from_u64(index, self.width)
    }

    /// The classes whose names `keep` holds for, as ranges of indexes.
    fn ranges(&self, keep: impl Fn(&str) -> bool) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (i, rep) in self.reps.iter().enumerate() {
            if !keep(rep) {
                continue;
            }
            let i = i as u64;
            match out.last_mut() {
                Some((_, hi)) if *hi + 1 == i => *hi = i,
                _ => out.push((i, i)),
            }
        }
        out
    }
}

/// One host of an access: the connect target or the bind peer.
#[derive(Debug)]
pub(crate) struct HostVar {
    pub(crate) is_name: Bool,
    pub(crate) name: BV,
    pub(crate) addr: BV,
}

/// A 128-bit numeral.
pub(crate) fn bv128(value: u128) -> BV {
    BV::from_str(128, &value.to_string()).unwrap_or_else(|| BV::from_u64(0, 128))
}

impl HostVar {
    pub(crate) fn new(prefix: &str, names: &NameSpace) -> Self {
        HostVar {
            is_name: Bool::new_const(format!("{prefix}_is_name")),
            name: BV::new_const(format!("{prefix}_name_class"), names.width),
            addr: BV::new_const(format!("{prefix}_addr"), 128),
        }
    }

    /// A name, when the host is one, is one of the classes.
    pub(crate) fn well_formed(&self, names: &NameSpace) -> Bool {
        let last = names.class(names.reps.len() as u64 - 1);
        self.is_name.implies(self.name.bvule(&last))
    }

    fn name_in(&self, names: &NameSpace, keep: impl Fn(&str) -> bool) -> Bool {
        let parts: Vec<Bool> = names
            .ranges(keep)
            .into_iter()
            .map(|(lo, hi)| {
                if lo == hi {
                    self.name.eq(names.class(lo))
                } else {
                    Bool::and(&[names.class(lo).bvule(&self.name), self.name.bvule(names.class(hi))])
                }
            })
            .collect();
        if parts.is_empty() {
            return Bool::from_bool(false);
        }
        Bool::and(&[self.is_name.clone(), Bool::or(&parts)])
    }

    /// The host is in the atom (`HostAtom::matches`).
    pub(crate) fn atom(&self, names: &NameSpace, atom: &HostAtom) -> Bool {
        match atom {
            HostAtom::Name(n) => self.name_is(names, n),
            HostAtom::Subdomains(s) => self.name_in(names, |rep| is_subdomain(rep, s)),
            HostAtom::Cidr(c) => Bool::and(&[self.is_name.not(), self.in_cidr(*c)]),
            HostAtom::AnyName => self.is_name.clone(),
            HostAtom::AnyAddr => self.is_name.not(),
        }
    }

    fn name_is(&self, names: &NameSpace, name: &str) -> Bool {
        match names.by_name.get(&name.to_ascii_lowercase()) {
            Some(i) => Bool::and(&[self.is_name.clone(), self.name.eq(names.class(*i))]),
            None => Bool::from_bool(false),
        }
    }

    fn in_cidr(&self, cidr: Cidr) -> Bool {
        let len = u32::from(cidr.len.min(128));
        if len == 0 {
            return Bool::from_bool(true);
        }
        let prefix = cidr.addr >> (128 - len);
        let bits = if len == 128 { bv128(prefix) } else { bv128(prefix).extract(len - 1, 0) };
        self.addr.extract(127, 128 - len).eq(&bits)
    }

    /// The host is exactly `host`.
    pub(crate) fn is(&self, names: &NameSpace, host: &Host) -> Bool {
        match host {
            Host::Name(n) => self.name_is(names, n),
            Host::Addr(a) => Bool::and(&[self.is_name.not(), self.addr.eq(bv128(*a))]),
        }
    }

    /// The host of a model.
    pub(crate) fn decode(&self, names: &NameSpace, model: &Model) -> Option<Host> {
        if model.eval(&self.is_name, true)?.as_bool()? {
            let class = model.eval(&self.name, true)?.as_u64()?;
            Some(Host::Name(names.reps.get(usize::try_from(class).ok()?)?.clone()))
        } else {
            let hi = model.eval(&self.addr.extract(127, 64), true)?.as_u64()?;
            let lo = model.eval(&self.addr.extract(63, 0), true)?.as_u64()?;
            Some(Host::Addr((u128::from(hi) << 64) | u128::from(lo)))
        }
    }
}
