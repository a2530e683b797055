//! Generated trees, random policies over them and random accesses.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub use corral_tests::Rng;

// ---------------------------------------------------------------------------
// Trees: what exists, as absolute paths.

#[derive(Default)]
pub struct Entries {
    /// Regular files that are not executable.
    pub files: Vec<String>,
    /// Executable shell scripts (`#!/bin/sh`).
    pub scripts: Vec<String>,
    /// Directories, the root included.
    pub dirs: Vec<String>,
    /// Empty directories (targets of `rmdir`).
    pub empty: Vec<String>,
}

impl Entries {
    pub fn file(&mut self, path: String) {
        std::fs::create_dir_all(Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, format!("content of {path}\n")).unwrap();
        self.files.push(path);
    }

    pub fn script(&mut self, path: String) {
        std::fs::create_dir_all(Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self.scripts.push(path);
    }

    pub fn dir(&mut self, path: String) {
        std::fs::create_dir_all(&path).unwrap();
        self.dirs.push(path);
    }

    pub fn empty_dir(&mut self, path: String) {
        self.dir(path.clone());
        self.empty.push(path);
    }

    /// Whether an entry exists at `path` (not following a symbolic link).
    pub fn exists(&self, path: &str) -> bool {
        Path::new(path).symlink_metadata().is_ok()
    }
}

pub const DIR_NAMES: [&str; 7] = ["src", "docs", "data", "lib", "out", "build", "cfg"];
pub const FILE_NAMES: [&str; 8] =
    ["a.txt", "b.txt", "main.rs", "notes.md", ".env", "config.toml", "x1", "x2"];
pub const SCRIPT_NAMES: [&str; 2] = ["run.sh", "tool"];
/// Names for new entries: some match the tree's names and globs.
pub const NEW_NAMES: [&str; 8] = ["new.txt", ".env", "main.rs", "notes.md", "run.sh", "x3", "new", "c.txt"];

pub fn random_dir(rng: &mut Rng, e: &mut Entries, dir: &str, depth: usize) {
    e.dir(dir.to_owned());
    let mut names: Vec<&str> = FILE_NAMES.to_vec();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(names.len());
        e.file(format!("{dir}/{}", names.swap_remove(i)));
    }
    if rng.chance(35) {
        e.script(format!("{dir}/{}", rng.pick(&SCRIPT_NAMES)));
    }
    if rng.chance(30) {
        e.empty_dir(format!("{dir}/empty"));
    }
    if depth < 3 {
        let mut names: Vec<&str> = DIR_NAMES.to_vec();
        for _ in 0..rng.below(4 - depth) {
            let i = rng.below(names.len());
            random_dir(rng, e, &format!("{dir}/{}", names.swap_remove(i)), depth + 1);
        }
    }
}

/// A random tree under `root`, with a nested git repository and dot-files.
pub fn random_tree(rng: &mut Rng, root: &str) -> Entries {
    let mut e = Entries::default();
    random_dir(rng, &mut e, root, 0);
    for d in ["repo", "repo/.git", "repo/.git/hooks", "repo/src"] {
        e.dir(format!("{root}/{d}"));
    }
    e.script(format!("{root}/repo/.git/hooks/pre-commit"));
    e.file(format!("{root}/repo/.git/config"));
    e.file(format!("{root}/repo/src/lib.rs"));
    e.file(format!("{root}/repo/.env"));
    if !e.exists(&format!("{root}/.env")) {
        e.file(format!("{root}/.env"));
    }
    e
}

/// What every sandboxed child needs: this test binary, the shared
/// libraries it has loaded (the child is the same binary), `/bin/sh` for
/// the scripts, and the loader's cache. Single files rather than `/usr`,
/// so that lowering (which validates every granted entry) stays fast.
pub fn prelude(helper: &str) -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut files: BTreeSet<String> = maps
        .lines()
        .filter_map(|l| l.split_once('/').map(|(_, p)| format!("/{p}")))
        .filter(|p| p.contains(".so"))
        .chain(["/bin/sh".to_owned(), helper.to_owned()])
        .map(|p| Path::new(&p).canonicalize().unwrap().display().to_string())
        .collect();
    files.insert(helper.to_owned());
    let mut out = String::new();
    for f in files {
        let _ = writeln!(out, "  allow read, exec \"{f}\"");
    }
    if Path::new("/etc/ld.so.cache").exists() {
        out.push_str("  allow read \"/etc/ld.so.cache\"\n");
    }
    out
}

// ---------------------------------------------------------------------------
// Random policies.

/// TCP listeners in this process (connect targets) and free ports (bind targets).
pub struct Ports {
    _listeners: Vec<TcpListener>,
    pub connect: Vec<u16>,
    pub bind: Vec<u16>,
}

impl Ports {
    pub fn new() -> Ports {
        let mut listeners = Vec::new();
        let mut connect = Vec::new();
        for _ in 0..3 {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            connect.push(l.local_addr().unwrap().port());
            // Accept and drop, so the backlog never fills.
            let accepting = l.try_clone().unwrap();
            std::thread::spawn(move || for _ in accepting.incoming() {});
            listeners.push(l);
        }
        let bind =
            (0..3).map(|_| TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
        Ports { _listeners: listeners, connect, bind }
    }
}

/// A random non-empty subset of `from`.
pub fn rights(rng: &mut Rng, from: &[&str]) -> String {
    let mut chosen: Vec<&str> = from.iter().copied().filter(|_| rng.chance(40)).collect();
    if chosen.is_empty() {
        chosen.push(*rng.pick(from));
    }
    chosen.join(", ")
}

pub const ALL_RIGHTS: [&str; 6] = ["read", "list", "write", "create", "delete", "exec"];
/// The rights that `under` a directory grants it as a whole.
pub const DIR_RIGHTS: [&str; 4] = ["read", "list", "write", "exec"];
/// The rights Landlock grants on a single file.
pub const FILE_RIGHTS: [&str; 3] = ["read", "write", "exec"];

/// A random path set over the tree: literals, `under`, `*`, `?`, `{a,b}`, `**`.
pub fn path_set(rng: &mut Rng, e: &Entries, root: &str) -> String {
    let entry = |rng: &mut Rng| {
        let all = [&e.files[..], &e.scripts[..], &e.dirs[..]].concat();
        rng.pick(&all).clone()
    };
    let dir = rng.pick(&e.dirs).clone();
    let split = |p: &str| {
        let (parent, name) = p.rsplit_once('/').unwrap();
        (parent.to_owned(), name.to_owned())
    };
    match rng.below(10) {
        0 | 1 => format!("under \"{dir}\""),
        2 => format!("\"{}\"", entry(rng)),
        3 => format!("\"{dir}/{}\"", rng.pick(&NEW_NAMES)),
        4 => {
            // `*` for a whole segment, or a suffix such as `*.txt`.
            let (parent, name) = split(&entry(rng));
            match name.rsplit_once('.') {
                Some((_, ext)) if rng.chance(50) => format!("\"{parent}/*.{ext}\""),
                _ => format!("\"{parent}/*\""),
            }
        }
        5 => {
            let (parent, name) = split(&entry(rng));
            let i = rng.below(name.len());
            format!("\"{parent}/{}?{}\"", &name[..i], &name[i + 1..])
        }
        6 => {
            let (parent, name) = split(&entry(rng));
            format!("\"{parent}/{{{name},{}}}\"", rng.pick(&NEW_NAMES))
        }
        7 => format!("\"{dir}/**\""),
        8 => {
            let (_, name) = split(&entry(rng));
            format!("\"{root}/**/{name}\"")
        }
        _ => {
            // A `*` in the middle: `/root/*/name`.
            let p = entry(rng);
            let rest = p.strip_prefix(root).unwrap_or_default();
            let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            if segs.len() < 2 {
                return format!("under \"{root}\"");
            }
            let i = rng.below(segs.len() - 1);
            let mut segs: Vec<String> = segs.iter().map(|s| (*s).to_owned()).collect();
            segs[i] = "*".to_owned();
            format!("\"{root}/{}\"", segs.join("/"))
        }
    }
}

/// Random rules over the tree. Most policies are tame — `under` and
/// single files with the rights Landlock grants on files, connect to any
/// host — which the lowering can usually express exactly; the rest use
/// every pattern form, which it mostly cannot.
pub fn random_rules(rng: &mut Rng, e: &Entries, root: &str, ports: &Ports) -> String {
    let tame = rng.chance(75);
    let mut out = String::new();
    let files = [&e.files[..], &e.scripts[..]].concat();
    let entries = [&files[..], &e.dirs[..]].concat();
    for i in 0..1 + rng.below(5) {
        let effect = if i == 0 || rng.chance(65) { "allow" } else { "deny" };
        let rule = match (tame, effect, rng.below(10)) {
            (false, _, _) => format!("{} {}", rights(rng, &ALL_RIGHTS), path_set(rng, e, root)),
            // Making and removing the directory an `under` names is decided
            // on its parent: `dir/**` grants them for its entries only.
            (true, "allow", 0..=3) => format!("{} under \"{}\"", rights(rng, &DIR_RIGHTS), rng.pick(&e.dirs)),
            (true, "allow", 4..=6) => format!("{} \"{}/**\"", rights(rng, &ALL_RIGHTS), rng.pick(&e.dirs)),
            (true, "allow", _) => format!("{} \"{}\"", rights(rng, &FILE_RIGHTS), rng.pick(&files)),
            (true, _, 0..=3) => format!("{} under \"{}\"", rights(rng, &ALL_RIGHTS), rng.pick(&e.dirs)),
            (true, _, _) => format!("{} \"{}\"", rights(rng, &ALL_RIGHTS), rng.pick(&entries)),
        };
        let _ = writeln!(out, "  {effect} {rule}");
    }
    for _ in 0..rng.below(4) {
        let c = *rng.pick(&ports.connect);
        let b = *rng.pick(&ports.bind);
        let c2 = *rng.pick(&ports.connect);
        let rule = match rng.below(if tame { 7 } else { 9 }) {
            0 | 1 => format!("allow connect tcp any:{c}"),
            2 => format!("allow connect tcp any:({c} | {c2})"),
            3 => format!("deny connect tcp any:{c}"),
            4 | 5 => format!("allow bind tcp {b}"),
            6 => format!("deny bind tcp {b}"),
            // Limited to a host or a peer: broader, since Landlock matches ports only.
            7 => format!("allow connect tcp \"127.0.0.1\":{c}"),
            _ => format!("allow bind tcp {b} from loopback"),
        };
        let _ = writeln!(out, "  {rule}");
    }
    out
}

// ---------------------------------------------------------------------------
// Accesses.

/// One attempted access: what the child does and what the evaluator decides.
pub struct Attempt {
    /// The child's line.
    pub line: String,
    /// The access in `corral eval` syntax.
    pub access: String,
}

/// Random accesses over `e`, at most one that changes each entry, and never
/// one that another access's success or failure could turn into ENOENT,
/// EEXIST or ENOTEMPTY.
/// `permitted` (the evaluator) biases the choice: most accesses a policy
/// names are denied, so a denied candidate is redrawn three times in five.
pub fn plan(
    rng: &mut Rng,
    e: &Entries,
    ports: &Ports,
    n: usize,
    permitted: &dyn Fn(&str) -> bool,
) -> Vec<Attempt> {
    let mut out = Vec::new();
    // Entries a delete or truncation may have changed, and directories that
    // may have gained an entry.
    let mut changed: BTreeSet<String> = BTreeSet::new();
    let mut grown: BTreeSet<String> = BTreeSet::new();
    let mut made: BTreeSet<String> = BTreeSet::new();
    let live = |v: &[String], changed: &BTreeSet<String>| -> Vec<String> {
        v.iter().filter(|p| !changed.contains(*p)).cloned().collect()
    };
    let mut guard = 0;
    while out.len() < n && guard < 50 * n {
        guard += 1;
        let files = live(&e.files, &changed);
        let scripts = live(&e.scripts, &changed);
        let dirs = live(&e.dirs, &changed);
        let readable = [&files[..], &scripts[..]].concat();
        let kind = rng.below(14);
        let before = (changed.clone(), grown.clone(), made.clone());
        let attempt = match kind {
            0 | 1 if !readable.is_empty() => {
                let p = rng.pick(&readable).clone();
                Some((format!("read {p}"), format!("read {p}")))
            }
            2 if !dirs.is_empty() => {
                let p = rng.pick(&dirs).clone();
                Some((format!("list {p}"), format!("list {p}")))
            }
            3 | 4 if !files.is_empty() => {
                let p = rng.pick(&files).clone();
                let op = if kind == 3 { "append" } else { "truncate" };
                Some((format!("{op} {p}"), format!("write {p}")))
            }
            5..=8 if !dirs.is_empty() => {
                let parent = rng.pick(&dirs).clone();
                let mut name = (*rng.pick(&NEW_NAMES)).to_owned();
                let mut path = format!("{parent}/{name}");
                if e.exists(&path) || made.contains(&path) {
                    name = format!("new{}", made.len());
                    path = format!("{parent}/{name}");
                }
                if e.exists(&path) || made.contains(&path) {
                    None
                } else {
                    made.insert(path.clone());
                    grown.insert(parent.clone());
                    let sibling = files.iter().find(|f| Path::new(f).parent() == Some(Path::new(&parent)));
                    let line = match (kind, sibling) {
                        (5, _) => format!("create {path}"),
                        (6, _) => format!("mkdir {path}"),
                        (7, Some(source)) => format!("link {path} {source}"),
                        // A unix socket's path is at most 107 bytes.
                        (8, _) if path.len() < 100 => format!("socket {path}"),
                        _ => format!("symlink {path}"),
                    };
                    Some((line, format!("create {path}")))
                }
            }
            9 if !files.is_empty() => {
                let p = rng.pick(&files).clone();
                changed.insert(p.clone());
                Some((format!("unlink {p}"), format!("delete {p}")))
            }
            10 => {
                let empty: Vec<String> =
                    live(&e.empty, &changed).into_iter().filter(|d| !grown.contains(d)).collect();
                if empty.is_empty() {
                    None
                } else {
                    let p = rng.pick(&empty).clone();
                    changed.insert(p.clone());
                    Some((format!("rmdir {p}"), format!("delete {p}")))
                }
            }
            11 if !scripts.is_empty() => {
                let p = rng.pick(&scripts).clone();
                Some((format!("exec {p}"), format!("exec {p}")))
            }
            12 => {
                let port = *rng.pick(&ports.connect);
                Some((format!("connect {port}"), format!("connect tcp 127.0.0.1:{port}")))
            }
            13 => {
                let port = *rng.pick(&ports.bind);
                Some((format!("bind {port}"), format!("bind tcp {port}")))
            }
            _ => None,
        };
        if let Some((line, access)) = attempt {
            if !permitted(&access) && rng.chance(60) {
                (changed, grown, made) = before;
                continue;
            }
            // A truncated file is left alone afterwards; a deleted one is gone.
            if line.starts_with("truncate") {
                changed.insert(line["truncate ".len()..].to_owned());
            }
            out.push(Attempt { line, access });
        }
    }
    assert!(out.len() >= n, "the tree is too small for {n} accesses");
    out
}
