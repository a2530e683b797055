//! File rules as entries on literal paths, the only thing Windows ACLs
//! and MXC path lists can name.
//!
//! A path pattern lowers when it is a literal path (`/w/a`: the entry
//! itself), a literal path followed by `**` (`/w/**`: everything strictly
//! beneath) or both (`under "/w"`: the tree). Globs (`/**/.env`,
//! `~/.ssh/id_*`) and intersections or differences of path sets do not:
//! an allow that cannot be lowered is left out (the agent loses it), a
//! deny that cannot be lowered is not enforced. Translation validation
//! (`validate.rs`) then says which of these matter and shows an access.

use std::collections::BTreeMap;

use corral_compiler::ir::{Effect, PathPattern, PathSet, Policy, Right, Rights, Segment, Set};

use crate::paths::has_invalid_windows_char;

/// What an entry covers below its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The path itself.
    Object,
    /// Everything strictly beneath the path.
    Children,
    /// The path and everything beneath it.
    Tree,
}

impl Scope {
    pub fn keyword(self) -> &'static str {
        match self {
            Scope::Object => "object",
            Scope::Children => "children",
            Scope::Tree => "tree",
        }
    }
}

/// The lowerable part of a policy's file rules, merged per path and scope.
#[derive(Clone, Debug, Default)]
pub struct Entries {
    pub allows: BTreeMap<(Vec<String>, Scope), Rights>,
    pub denies: BTreeMap<(Vec<String>, Scope), Rights>,
    /// Rules (indexes into `policy.files`) with a part that was not lowered.
    pub partial: Vec<usize>,
}

/// The literal path and scope of a pattern, if it has one. A segment with
/// a character Windows does not allow in a name (`\`, `:`, `"`, `<`, `>`,
/// `|`, control characters) names no single Windows file (`a:b` is the
/// stream `b` of `a`), so such a pattern has none either.
pub fn classify(pattern: &PathPattern) -> Option<(Vec<String>, Scope)> {
    let mut segs = Vec::new();
    let mut iter = pattern.segments.iter().peekable();
    while let Some(seg) = iter.next() {
        match seg {
            Segment::Literal(l) if has_invalid_windows_char(l) => return None,
            Segment::Literal(l) => segs.push(l.clone()),
            Segment::AnyDepth if iter.peek().is_none() => return Some((segs, Scope::Children)),
            _ => return None,
        }
    }
    Some((segs, Scope::Object))
}

fn add(map: &mut BTreeMap<(Vec<String>, Scope), Rights>, key: (Vec<String>, Scope), rights: Rights) {
    let slot = map.entry(key).or_default();
    *slot = Rights(slot.0 | rights.0);
}

/// Lowers the atoms of a union; false when some part could not be.
fn lower_set(set: &PathSet, rights: Rights, out: &mut BTreeMap<(Vec<String>, Scope), Rights>) -> bool {
    match set {
        Set::Empty => true,
        Set::Atom(p) => match classify(p) {
            Some(key) => {
                add(out, key, rights);
                true
            }
            None => false,
        },
        // Every member is lowered, even after one that cannot be.
        Set::Union(v) => {
            let lowered: Vec<bool> = v.iter().map(|s| lower_set(s, rights, out)).collect();
            lowered.iter().all(|ok| *ok)
        }
        Set::Inter(_) | Set::Diff(..) => false,
    }
}

/// `Object` and `Children` entries on one path with common rights become
/// a `Tree` entry.
fn merge_trees(map: &mut BTreeMap<(Vec<String>, Scope), Rights>) {
    let paths: Vec<Vec<String>> =
        map.keys().filter(|(_, s)| *s == Scope::Object).map(|(p, _)| p.clone()).collect();
    for path in paths {
        let (Some(obj), Some(kids)) = (
            map.get(&(path.clone(), Scope::Object)).copied(),
            map.get(&(path.clone(), Scope::Children)).copied(),
        ) else {
            continue;
        };
        let common = Rights(obj.0 & kids.0);
        if common.is_empty() {
            continue;
        }
        add(map, (path.clone(), Scope::Tree), common);
        for scope in [Scope::Object, Scope::Children] {
            if let Some(r) = map.get_mut(&(path.clone(), scope)) {
                *r = Rights(r.0 & !common.0);
            }
        }
    }
    map.retain(|_, r| !r.is_empty());
}

/// The entries of `policy`'s file rules.
pub fn entries(policy: &Policy) -> Entries {
    let mut out = Entries::default();
    for (i, rule) in policy.files.iter().enumerate() {
        let map = match rule.effect {
            Effect::Allow => &mut out.allows,
            Effect::Deny => &mut out.denies,
        };
        if !lower_set(&rule.paths, rule.rights, map) {
            out.partial.push(i);
        }
    }
    merge_trees(&mut out.allows);
    merge_trees(&mut out.denies);
    out
}

/// True when `inner` lies strictly beneath `outer` (case-insensitively,
/// as on Windows).
pub fn strictly_beneath(inner: &[String], outer: &[String]) -> bool {
    inner.len() > outer.len() && outer.iter().zip(inner).all(|(a, b)| a.to_lowercase() == b.to_lowercase())
}

/// The rights as keywords.
pub fn right_words(rights: Rights) -> Vec<&'static str> {
    rights.iter().map(Right::keyword).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> PathPattern {
        PathPattern::parse(s, "/home/u").unwrap_or_else(|_| PathPattern::root())
    }

    #[test]
    fn literal_prefix_shapes_classify_and_globs_do_not() {
        assert_eq!(classify(&pat("/w/a")), Some((vec!["w".into(), "a".into()], Scope::Object)));
        assert_eq!(classify(&pat("/w/**")), Some((vec!["w".into()], Scope::Children)));
        assert_eq!(classify(&pat("/**")), Some((vec![], Scope::Children)));
        assert_eq!(classify(&pat("/**/.env")), None);
        assert_eq!(classify(&pat("/w/*.py")), None);
        assert_eq!(classify(&pat("/w/a:b")), None);
        assert_eq!(classify(&pat("/w/a\\b/**")), None);
    }
}
