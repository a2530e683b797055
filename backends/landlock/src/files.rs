//! Filesystem rules: resolve the policy's file rules against a real tree
//! and place `pathBeneath` rules, carving around denied entries.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::{Effect, PathPattern, Policy, Right, Set};

use crate::pattern::{Compiled, Prefix};

/// Deepest directory level the lowering looks at.
const MAX_DEPTH: usize = 32;
/// Most tree entries the lowering visits for one right.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Most entries one search for denied entries below a directory visits;
/// a directory whose search runs out is carved.
const MAX_SEARCH: usize = 1_000_000;

/// Most examples of one broader rule that the lowering collects.
pub const MAX_EXAMPLES: usize = 100;

/// An atom of a rule's path set with the rule it came from.
struct Atom {
    rule: usize,
    pattern: Compiled,
}

impl Atom {
    fn new(rule: usize, pattern: &PathPattern) -> Self {
        Atom { rule, pattern: Compiled::new(pattern) }
    }
}

/// The live prefixes of some atoms at one directory, with their rules.
type Live<'a> = Vec<(usize, Prefix<'a>)>;

fn start(atoms: &[Atom]) -> Live<'_> {
    atoms.iter().map(|a| (a.rule, Prefix::start(&a.pattern))).filter(|(_, p)| !p.is_dead()).collect()
}

/// [`start`], keyed by the atoms' indexes instead of their rules.
fn start_indexed(atoms: &[Atom]) -> Live<'_> {
    atoms
        .iter()
        .enumerate()
        .map(|(i, a)| (i, Prefix::start(&a.pattern)))
        .filter(|(_, p)| !p.is_dead())
        .collect()
}

fn step<'a>(live: &Live<'a>, name: &str) -> Live<'a> {
    live.iter().map(|(r, p)| (*r, p.step(name))).filter(|(_, p)| !p.is_dead()).collect()
}

/// The live prefixes after reading the path down to a directory. `reach`
/// is keyed by the reach atom's index (its rule is in `Walk::reach_rules`),
/// `block` by the index of the reach atom it takes away, or [`ALL`].
struct Here<'a> {
    reach: Live<'a>,
    cover: Live<'a>,
    deny: Live<'a>,
    block: Live<'a>,
}

/// A `block` atom of a deny rule: it takes away from every allow.
const ALL: usize = usize::MAX;

impl<'a> Here<'a> {
    fn step(&self, name: &str) -> Here<'a> {
        Here {
            reach: step(&self.reach, name),
            cover: step(&self.cover, name),
            deny: step(&self.deny, name),
            block: step(&self.block, name),
        }
    }
}

/// What the lowering found for the file rules.
#[derive(Debug, Default)]
pub struct FileLowering {
    /// Policy path → (is a directory, rights granted beneath it).
    pub grants: BTreeMap<String, (bool, BTreeSet<Right>)>,
    /// Deny rule → accesses the artifact allows although the rule denies them.
    pub broader: BTreeMap<usize, BTreeSet<String>>,
    /// Accesses the policy allows that the artifact denies, and the rules
    /// (denies or globs) that caused it.
    pub narrower: BTreeSet<String>,
    pub narrower_rules: BTreeSet<usize>,
    /// The entry budget ran out: parts of the tree were not resolved.
    pub truncated: bool,
}

/// Atoms that add paths (`a` of `a - b`, the members of a union).
fn positive<'p>(set: &'p Set<PathPattern>, out: &mut Vec<&'p PathPattern>) {
    match set {
        Set::Empty | Set::Inter(_) => {}
        Set::Atom(a) => out.push(a),
        Set::Union(v) => v.iter().for_each(|s| positive(s, out)),
        Set::Diff(a, _) => positive(a, out),
    }
}

/// Atoms that a path in the set must match at least one of: every atom of
/// a union, the kept side of a difference, and of an intersection only the
/// conjunct with the longest literal prefixes (a path must be in all of
/// them, so one is enough to know where to look). This keeps
/// `workspace & under "/**/target"` from sending the walk through the
/// whole tree after `target` directories. Each comes with the atoms that
/// certainly take a path away from it (the subtracted sides it is under).
fn reach<'p>(
    set: &'p Set<PathPattern>,
    minus: &[&'p PathPattern],
    out: &mut Vec<(&'p PathPattern, Vec<&'p PathPattern>)>,
) {
    match set {
        Set::Empty => {}
        Set::Atom(a) => out.push((a, minus.to_vec())),
        Set::Union(v) => v.iter().for_each(|s| reach(s, minus, out)),
        Set::Diff(a, b) => {
            let mut more = minus.to_vec();
            certain(b, &mut more);
            reach(a, &more, out);
        }
        Set::Inter(v) => {
            let best = v
                .iter()
                .map(|s| {
                    let mut atoms = Vec::new();
                    reach(s, minus, &mut atoms);
                    let anchor = atoms.iter().map(|(p, _)| p.literal_prefix().count()).min().unwrap_or(0);
                    (anchor, atoms)
                })
                .max_by_key(|(anchor, _)| *anchor);
            if let Some((_, atoms)) = best {
                out.extend(atoms);
            }
        }
    }
}

/// Atoms every path of which is in the set: the atoms of a plain union
/// (nothing is certain inside a difference or an intersection).
fn certain<'p>(set: &'p Set<PathPattern>, out: &mut Vec<&'p PathPattern>) {
    match set {
        Set::Atom(a) => out.push(a),
        Set::Union(v) => v.iter().for_each(|s| certain(s, out)),
        Set::Empty | Set::Diff(..) | Set::Inter(_) => {}
    }
}

/// Atoms that take paths away (`b` of `a - b`, anywhere inside).
pub(crate) fn negative<'p>(set: &'p Set<PathPattern>, out: &mut Vec<&'p PathPattern>) {
    match set {
        Set::Empty | Set::Atom(_) => {}
        Set::Union(v) | Set::Inter(v) => v.iter().for_each(|s| negative(s, out)),
        Set::Diff(a, b) => {
            negative(a, out);
            out.extend(b.atoms());
        }
    }
}

/// Does `right` on an entry of this kind mean anything to Landlock? Files
/// are read, written and executed; directories are listed; both are made
/// and removed.
pub fn relevant(right: Right, is_dir: bool) -> bool {
    match right {
        Right::List => is_dir,
        Right::Read | Right::Write | Right::Exec => !is_dir,
        Right::Create | Right::Delete => true,
    }
}

struct Atoms {
    /// Atoms that may grant (every atom of an allow).
    reach: Vec<Atom>,
    /// Atoms that certainly take away: from one reach atom (its
    /// subtracted sides), or from all (a deny rule's plain union).
    block: Vec<Atom>,
    /// Atoms that grant everything below a directory (positive atoms of an allow).
    cover: Vec<Atom>,
    /// Atoms that may take away (deny atoms, subtracted atoms of allows).
    deny: Vec<Atom>,
}

struct Walk<'a, 'p> {
    eval: &'a Evaluator<'p>,
    right: Right,
    /// The rule of each reach atom.
    reach_rules: Vec<usize>,
    out: &'a mut FileLowering,
    /// Entries looked at for this right.
    visited: usize,
    /// Entries looked at by the current search for denied entries.
    searched: usize,
    /// Directory → some existing entry below it is denied this right.
    denied: HashMap<String, bool>,
}

fn policy_path(segs: &[String]) -> String {
    format!("/{}", segs.join("/"))
}

fn child_path(segs: &[String], rest: &str) -> String {
    if segs.is_empty() { format!("/{rest}") } else { format!("{}/{rest}", policy_path(segs)) }
}

/// What the lowering needs to know of an entry's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    Symlink,
    Other,
}

impl Kind {
    fn of(t: std::fs::FileType) -> Kind {
        if t.is_dir() {
            Kind::Dir
        } else if t.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        }
    }
}

/// The entries of a directory with their types (from the directory
/// itself, without a `stat` each), sorted by name; names that are not
/// UTF-8 cannot be named by a policy and are left out.
fn children(dir: &Path) -> Vec<(String, Kind)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(String, Kind)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let kind = Kind::of(e.file_type().ok()?);
            Some((e.file_name().into_string().ok()?, kind))
        })
        .collect();
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out
}

impl Walk<'_, '_> {
    fn permits(&self, path: String) -> bool {
        self.eval.is_permitted(&Access::File { right: self.right, path })
    }

    /// Nothing strictly below the directory can be permitted: a deny rule
    /// takes away all of it, or every allow atom that reaches below has a
    /// subtracted side that takes away all of it.
    fn blocked_below(&self, live: &Here<'_>) -> bool {
        let all_below: Vec<usize> =
            live.block.iter().filter(|(_, p)| p.covers_all_below()).map(|(atom, _)| *atom).collect();
        !all_below.is_empty()
            && (all_below.contains(&ALL)
                || live.reach.iter().filter(|(_, p)| p.reaches_below()).all(|(a, _)| all_below.contains(a)))
    }

    /// [`Walk::permits`], answered from the live prefixes when they settle
    /// it: no atom of an allow matches (denied), or a positive atom of an
    /// allow matches and no atom that takes away does (permitted). Only
    /// the rest goes to the evaluator.
    fn permits_here(&self, path: String, live: &Here<'_>) -> bool {
        if !live.reach.iter().any(|(_, p)| p.matches_here()) {
            return false;
        }
        if live.cover.iter().any(|(_, p)| p.matches_here())
            && !live.deny.iter().any(|(_, p)| p.matches_here())
        {
            return true;
        }
        self.permits(path)
    }

    fn place(&mut self, fs: &Path, segs: &mut Vec<String>, here_live: &Here<'_>, kind: Kind) {
        self.visited += 1;
        if self.visited > MAX_ENTRIES || segs.len() > MAX_DEPTH {
            self.out.truncated = true;
            return;
        }
        if !here_live.reach.iter().any(|(_, p)| p.matches_here() || p.reaches_below()) {
            return;
        }
        let path = policy_path(segs);
        let is_dir = kind == Kind::Dir;
        let here = relevant(self.right, is_dir) && self.permits_here(path.clone(), here_live);
        if !is_dir {
            if !here {
                return;
            }
            // A rule on a symlink would apply to its target: never follow
            // one. Making and removing a file is granted on its directory.
            if self.right == Right::Create {
                // It exists already: there is nothing to make.
            } else if kind == Kind::Symlink || self.right == Right::Delete {
                self.out.narrower.insert(format!("{} {path}", self.right.keyword()));
            } else {
                self.grant(&path, false);
            }
            return;
        }
        if self.blocked_below(here_live) {
            // Nothing below is permitted: no rule, nothing lost below. A
            // listing of the directory alone cannot be granted.
            if here && self.right == Right::List {
                self.out.narrower.insert(format!("list {path}"));
            }
            return;
        }
        // Removing the directory itself is decided on its parent, which
        // the walk only enters when it was not granted as a whole: lost.
        if here && self.right == Right::Delete {
            self.out.narrower.insert(format!("delete {path}"));
        }
        // Only listing is decided on the directory itself; the other
        // rights apply to its entries.
        let here = here || self.right != Right::List;
        let covers_all = here && here_live.cover.iter().any(|(_, p)| p.covers_all_below());
        let deny_below: Vec<&(usize, Prefix)> =
            here_live.deny.iter().filter(|(_, p)| p.reaches_below()).collect();
        if covers_all && deny_below.is_empty() {
            self.grant(&path, true);
            return;
        }
        if covers_all {
            // A deny naming one path below (no wildcard in its rest) is
            // carved around, whether or not the path exists yet; one with
            // a wildcard could match anywhere later, so only its existing
            // matches are carved.
            let literal = deny_below.iter().any(|(_, p)| p.wildcard_rest_sample().is_none());
            let below: Vec<Prefix<'_>> = deny_below.iter().map(|(_, p)| *p).collect();
            self.searched = 0;
            if !literal && !self.denied_below(fs, segs, &below) {
                // Only wildcards that match nothing yet: files created later
                // could match them, and the rule on the directory allows them.
                self.grant(&path, true);
                for (rule, p) in &deny_below {
                    // Enough examples of this rule are known: the
                    // diagnostic shows a few and counts the rest.
                    if self.out.broader.get(rule).is_some_and(|e| e.len() >= MAX_EXAMPLES) {
                        continue;
                    }
                    if let Some(rest) = p.wildcard_rest_sample() {
                        let sample = child_path(segs, &rest);
                        if !self.permits(sample.clone()) {
                            self.out
                                .broader
                                .entry(*rule)
                                .or_default()
                                .insert(format!("{} {sample}", self.right.keyword()));
                        }
                    }
                }
                return;
            }
        }
        let entries = children(fs);
        for (name, kind) in &entries {
            let next = here_live.step(name);
            segs.push(name.clone());
            self.place(&fs.join(name), segs, &next, *kind);
            segs.pop();
        }
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        self.record_lost(segs, &names, here, covers_all, &deny_below, &here_live.reach);
    }

    /// What carving this directory (granting only its children) loses.
    fn record_lost(
        &mut self,
        segs: &[String],
        names: &[&str],
        here: bool,
        covers_all: bool,
        deny_below: &[&(usize, Prefix)],
        reach: &[(usize, Prefix)],
    ) {
        let right = self.right.keyword();
        let path = policy_path(segs);
        if here && self.right == Right::List {
            self.out.narrower.insert(format!("{right} {path}"));
        }
        let fresh = ["new", "new-entry", "corral-new"].into_iter().find(|n| !names.contains(n));
        if let (true, Some(fresh)) = (covers_all, fresh) {
            let sample = child_path(segs, fresh);
            if self.permits(sample.clone()) {
                self.out.narrower.insert(format!("{right} {sample}"));
                self.out.narrower_rules.extend(deny_below.iter().map(|(r, _)| *r));
            }
            return;
        }
        for (atom, p) in reach {
            let rule = self.reach_rules.get(*atom).copied().unwrap_or_default();
            // A glob's future matches, or a path named literally that does
            // not exist (nothing can be granted on it).
            let Some(rest) = p.wildcard_rest_sample().or_else(|| p.literal_rest()) else { continue };
            let first = rest.split('/').next().unwrap_or_default();
            if names.contains(&first) {
                continue;
            }
            let sample = child_path(segs, &rest);
            if self.permits(sample.clone()) {
                self.out.narrower.insert(format!("{right} {sample}"));
                self.out.narrower_rules.insert(rule);
            }
        }
    }

    /// Some existing entry below `fs` is denied this right. Only entries
    /// a deny could match are decided; results are kept per directory.
    fn denied_below(&mut self, fs: &Path, segs: &mut Vec<String>, deny: &[Prefix<'_>]) -> bool {
        let key = policy_path(segs);
        if let Some(&known) = self.denied.get(&key) {
            return known;
        }
        let mut found = false;
        for (name, kind) in children(fs) {
            self.searched += 1;
            if self.searched > MAX_SEARCH || segs.len() > MAX_DEPTH {
                // Unknown: carve, which is safe, and reports what it loses.
                found = true;
                break;
            }
            let stepped: Vec<Prefix<'_>> = deny
                .iter()
                .map(|p| p.step(&name))
                .filter(|p| p.matches_here() || p.reaches_below())
                .collect();
            if stepped.is_empty() {
                continue;
            }
            segs.push(name);
            let is_dir = kind == Kind::Dir;
            let matched = stepped.iter().any(Prefix::matches_here);
            let below: Vec<Prefix<'_>> = stepped.into_iter().filter(Prefix::reaches_below).collect();
            found = (matched && relevant(self.right, is_dir) && !self.permits(policy_path(segs)))
                || (is_dir && !below.is_empty() && {
                    let child = fs.join(segs.last().map_or("", String::as_str));
                    self.denied_below(&child, segs, &below)
                });
            segs.pop();
            if found {
                break;
            }
        }
        self.denied.insert(key, found);
        found
    }

    fn grant(&mut self, path: &str, is_dir: bool) {
        let entry = self.out.grants.entry(path.to_owned()).or_insert((is_dir, BTreeSet::new()));
        entry.1.insert(self.right);
    }
}

/// Places rules for every right of every file rule of `policy`, resolving
/// policy paths against the tree under `root`.
pub fn lower_files(policy: &Policy, eval: &Evaluator<'_>, root: &Path) -> FileLowering {
    let mut out = FileLowering::default();
    for right in Right::ALL {
        let mut reach = Vec::new();
        let mut block = Vec::new();
        let mut cover = Vec::new();
        let mut deny = Vec::new();
        for (i, rule) in policy.files.iter().enumerate().filter(|(_, r)| r.rights.contains(right)) {
            let mut neg = Vec::new();
            negative(&rule.paths, &mut neg);
            match rule.effect {
                Effect::Allow => {
                    let mut live = Vec::new();
                    self::reach(&rule.paths, &[], &mut live);
                    for (pattern, minus) in live {
                        block.extend(minus.into_iter().map(|m| Atom::new(reach.len(), m)));
                        reach.push(Atom::new(i, pattern));
                    }
                    let mut pos = Vec::new();
                    positive(&rule.paths, &mut pos);
                    cover.extend(pos.into_iter().map(|pattern| Atom::new(i, pattern)));
                    deny.extend(neg.into_iter().map(|pattern| Atom::new(i, pattern)));
                }
                Effect::Deny => {
                    deny.extend(rule.paths.atoms().into_iter().map(|pattern| Atom::new(i, pattern)));
                    let mut all = Vec::new();
                    certain(&rule.paths, &mut all);
                    block.extend(all.into_iter().map(|pattern| Atom::new(ALL, pattern)));
                }
            }
        }
        if reach.is_empty() {
            continue;
        }
        let atoms = Atoms { reach, block, cover, deny };
        let reach_rules = atoms.reach.iter().map(|a| a.rule).collect();
        let mut walk =
            Walk { eval, right, reach_rules, out: &mut out, visited: 0, searched: 0, denied: HashMap::new() };
        let at_root = Here {
            reach: start_indexed(&atoms.reach),
            cover: start(&atoms.cover),
            deny: start(&atoms.deny),
            block: start(&atoms.block),
        };
        let kind = std::fs::symlink_metadata(root).map_or(Kind::Other, |m| Kind::of(m.file_type()));
        walk.place(&PathBuf::from(root), &mut Vec::new(), &at_root, kind);
    }
    out
}
