//! Cheap syntactic facts about path sets, used to skip solver queries
//! whose answer is obvious. Every `true` is certain; `false` means "not
//! known", never "no".

use corral_compiler::ir::{PathPattern, PathSet, Segment, Set};

/// The patterns of a set that is a plain union, or `None`.
pub(crate) fn union_atoms(set: &PathSet) -> Option<Vec<&PathPattern>> {
    match set {
        Set::Atom(p) => Some(vec![p]),
        Set::Union(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(union_atoms(item)?);
            }
            Some(out)
        }
        Set::Empty | Set::Inter(_) | Set::Diff(..) => None,
    }
}

/// `p ⊆ q` for two patterns: equal, or `q` is a literal prefix followed by
/// a final `**` and `p` extends that prefix by at least one segment.
pub(crate) fn pattern_within(p: &PathPattern, q: &PathPattern) -> bool {
    if p == q {
        return true;
    }
    let Some((Segment::AnyDepth, prefix)) = q.segments.split_last() else { return false };
    prefix.iter().all(|s| matches!(s, Segment::Literal(_)))
        && p.segments.len() > prefix.len()
        && p.segments[..prefix.len()] == *prefix
}

/// `a ⊆ b`, when both are plain unions of patterns and every pattern of `a`
/// lies within one of `b`.
pub(crate) fn set_within(a: &PathSet, b: &PathSet) -> bool {
    let (Some(xs), Some(ys)) = (union_atoms(a), union_atoms(b)) else { return false };
    !xs.is_empty() && xs.iter().all(|p| ys.iter().any(|q| pattern_within(p, q)))
}

/// Could the two sets share a path? Only when some pair of their patterns
/// has literal prefixes of which one extends the other.
pub(crate) fn may_meet(a: &PathSet, b: &PathSet) -> bool {
    let prefixes = |s: &PathSet| -> Vec<Vec<String>> {
        s.atoms().iter().map(|p| p.literal_prefix().map(str::to_owned).collect()).collect()
    };
    let (pa, pb) = (prefixes(a), prefixes(b));
    pa.iter().any(|x| pb.iter().any(|y| x.iter().zip(y).all(|(s, t)| s == t)))
}
