//! `corral run` against the real kernel with random policies (issue 4,
//! item 5): seeded random policies over a generated tree, and every policy
//! of every example over a generated home, each run once under `corral run`
//! with a sandboxed child that attempts at least 20 random accesses — read,
//! list, write (append and truncation), create (file, directory, symbolic
//! link, hard link, unix socket), delete (file and directory), exec, TCP
//! connect to a local listener and TCP bind. Every outcome must equal the
//! decision of the lowering's model (what the ruleset permits); where the
//! lowering reports itself exact, also the evaluator's, and where it does
//! not, only the differences its diagnostics announce are excused.
//!
//! The sandboxed child is this test binary itself, run as
//! `run_random-… --exact child::sandboxed_child --ignored` with the accesses in
//! `CORRAL_KERNEL_CHILD`; it prints one `corral-attempt N allowed|denied`
//! line per access. See `docs/testing.md` for seeds and counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub(crate) use common::{landlock, text};
use corral_backend_landlock::{LATEST_ABI, Lowering, lower_to_landlock};
use corral_compiler::diagnostics::Code;
use corral_compiler::eval::{Access, is_permitted};
use corral_compiler::ir::Policy;
use corral_compiler::{Options, compile_file};

/// The environment variable that turns `sandboxed_child` into the child:
/// one access per line, `OP PATH [SOURCE]` or `connect PORT`/`bind PORT`.
const CHILD_ENV: &str = "CORRAL_KERNEL_CHILD";
/// Accesses attempted per policy.
const ATTEMPTS: usize = 24;
/// The child's operations (see `child.rs`).
const OPERATIONS: [&str; 14] = [
    "read", "list", "append", "truncate", "create", "mkdir", "symlink", "link", "socket", "unlink", "rmdir",
    "exec", "connect", "bind",
];

mod child;
#[path = "../common/mod.rs"]
mod common;
mod examples;
mod generate;
mod losses;

use generate::{Attempt, Entries, Ports, Rng, plan, prelude, random_rules, random_tree};

// ---------------------------------------------------------------------------
// Running and comparing.

/// Counts over a run.
#[derive(Default, Debug)]
struct Tally {
    policies: usize,
    /// Policies whose lowering reported itself exact.
    exact: usize,
    attempts: usize,
    /// Attempts whose outcome was compared with the evaluator.
    asserted: usize,
    /// Differences that a diagnostic of a non-exact lowering announces.
    excused: usize,
    /// Attempts whose outcome was compared with the lowering's model.
    modelled: usize,
    /// Policies under which the child could not start (the lowering's
    /// walk ran out of its entry budget).
    unrunnable: usize,
    /// Per child operation (`read`, `mkdir`, `connect`, …), how many
    /// asserted attempts the kernel denied and allowed.
    by_operation: BTreeMap<String, [usize; 2]>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.policies += other.policies;
        self.exact += other.exact;
        self.attempts += other.attempts;
        self.asserted += other.asserted;
        self.excused += other.excused;
        self.modelled += other.modelled;
        self.unrunnable += other.unrunnable;
        for (op, [denied, allowed]) in &other.by_operation {
            let mine = self.by_operation.entry(op.clone()).or_default();
            mine[0] += denied;
            mine[1] += allowed;
        }
    }
}

/// Runs `child plan` under `corral run FILE ARGS`; returns each attempt's
/// outcome (true: allowed).
/// None: the sandbox did not let the child start.
fn run_child(
    file: &Path,
    args: &[String],
    attempts: &[Attempt],
    child: &[String],
) -> (Option<Vec<bool>>, Output) {
    let plan: String = attempts.iter().map(|a| format!("{}\n", a.line)).collect();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_corral"))
            .arg("run")
            .arg(file)
            .args(args)
            .arg("--accept-broader")
            .arg("--")
            .args(child)
            .args(["--exact", "child::sandboxed_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &plan)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    // A directory granted by the lowering (under `/tmp`, which the examples
    // grant) may vanish before the ruleset is applied; nothing ran then.
    let mut out = run();
    for _ in 0..3 {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !(stderr.contains("No such file or directory") && stderr.contains("nothing was run")) {
            break;
        }
        out = run();
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.code() == Some(126) && String::from_utf8_lossy(&out.stderr).contains("error: cannot run") {
        return (None, out);
    }
    let mut outcomes = Vec::new();
    // libtest may print `test child::sandboxed_child ... ` before the first line.
    for line in stdout.lines().filter_map(|l| l.split_once("corral-attempt ").map(|(_, r)| r)) {
        let (i, outcome) = line.split_once(' ').unwrap();
        assert_eq!(i.parse::<usize>().unwrap(), outcomes.len(), "{}", text(&out));
        match outcome {
            "allowed" => outcomes.push(true),
            "denied" => outcomes.push(false),
            other => panic!(
                "test bug: `{}` failed other than with EACCES/EPERM: {other}\n{}",
                attempts[outcomes.len()].line,
                text(&out)
            ),
        }
    }
    assert_eq!(
        outcomes.len(),
        attempts.len(),
        "the child under {} did not report every access\n{}",
        file.display(),
        text(&out)
    );
    (Some(outcomes), out)
}

/// The lowering's walk ran out of its entry budget (C3002).
fn truncated(lowering: &Lowering) -> bool {
    lowering.diagnostics.iter().any(|d| d.code == Code::ArtifactNarrower && d.message.contains("too deep"))
}

/// Whether the lowering announces a difference of this direction for
/// `access`: a broader one (C3001) by a counterexample of the same kind
/// (its first word: the right, `connect` or `bind`) or a list cut short
/// (`and N more`); a narrower one by any C3002, whose counterexamples are
/// examples only. The model check covers every attempt exactly.
fn announces(lowering: &Lowering, code: Code, access: &str) -> bool {
    let kind = access.split(' ').next().unwrap_or_default();
    lowering.diagnostics.iter().filter(|d| d.code == code).any(|d| {
        code == Code::ArtifactNarrower
            || !d.notes.is_empty()
            || d.counterexamples.iter().any(|c| c.split(' ').next() == Some(kind))
    })
}

/// Compares each outcome with the evaluator; returns the mismatches.
fn compare(
    policy: &Policy,
    home: &str,
    lowering: &Lowering,
    attempts: &[Attempt],
    outcomes: &[bool],
    tally: &mut Tally,
) -> Vec<String> {
    let mut mismatches = Vec::new();
    let word = |allowed: bool| if allowed { "allowed" } else { "denied" };
    for (a, &kernel) in attempts.iter().zip(outcomes) {
        let access = Access::parse(&a.access, home).unwrap();
        let evaluator = is_permitted(policy, &access);
        tally.attempts += 1;
        // The model says what the ruleset permits, gaps included: always.
        let modelled = is_permitted(&lowering.model, &access);
        tally.modelled += 1;
        if kernel != modelled {
            mismatches.push(format!(
                "`{}` (child: `{}`): kernel {}, the lowering's model {}",
                a.access,
                a.line,
                word(kernel),
                if modelled { "permits" } else { "denies" }
            ));
        }
        if kernel != evaluator && !lowering.exact {
            let code = if kernel { Code::ArtifactBroader } else { Code::ArtifactNarrower };
            if announces(lowering, code, &a.access) {
                tally.excused += 1;
                continue;
            }
        }
        tally.asserted += 1;
        let op = a.line.split(' ').next().unwrap_or_default().to_owned();
        tally.by_operation.entry(op).or_default()[usize::from(kernel)] += 1;
        if kernel != evaluator {
            mismatches.push(format!(
                "`{}` (child: `{}`): kernel {}, evaluator {}",
                a.access,
                a.line,
                word(kernel),
                if evaluator { "permits" } else { "denies" }
            ));
        }
    }
    mismatches
}

/// This test binary, the sandboxed child.
fn helper() -> String {
    std::env::current_exe().unwrap().canonicalize().unwrap().display().to_string()
}

/// A copy of this test binary with its loader and shared libraries in
/// `dir`, run as `dir/LOADER --library-path dir dir/child`, so that the
/// child needs nothing outside `dir`: the examples' lowerings may run out of
/// their entry budget before they grant `/usr`. Without a recognised loader,
/// the copy alone.
fn private_child(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let libs: BTreeSet<String> = maps
        .lines()
        .filter_map(|l| l.split_once('/').map(|(_, p)| format!("/{p}")))
        .filter(|p| p.contains(".so"))
        .collect();
    let mut loader = None;
    for lib in &libs {
        let name = Path::new(lib).file_name().unwrap();
        std::fs::copy(lib, dir.join(name)).unwrap();
        if name.to_string_lossy().starts_with("ld-") {
            loader = Some(dir.join(name).display().to_string());
        }
    }
    let child = dir.join("child");
    if std::fs::hard_link(helper(), &child).is_err() {
        std::fs::copy(helper(), &child).unwrap();
    }
    let child = child.display().to_string();
    match loader {
        Some(loader) => vec![loader, "--library-path".to_owned(), dir.display().to_string(), child],
        None => vec![child],
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn scratch(prefix: &str) -> tempfile::TempDir {
    // Not under /tmp: the examples grant `/tmp`, and other tests fill it.
    tempfile::Builder::new().prefix(prefix).tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn compile(file: &Path, home: &str) -> corral_compiler::Compilation {
    let options = Options { home: home.to_owned(), lib_dirs: Vec::new(), params: Vec::new() };
    let compilation = compile_file(file, &options).unwrap();
    assert!(!compilation.has_errors(), "{:#?}", compilation.diagnostics);
    compilation
}

/// Runs one policy of `file` (named `name`) with random accesses over `e`;
/// returns the mismatches, each with what reproduces it.
#[allow(clippy::too_many_arguments)] // two call sites; a struct would only rename them
fn check_policy(
    file: &Path,
    name: &str,
    home: &str,
    e: &Entries,
    ports: &Ports,
    rng: &mut Rng,
    child: &[String],
    tally: &mut Tally,
) -> Vec<String> {
    let compilation = compile(file, home);
    let policy = compilation.program.policies.iter().find(|p| p.name == name).unwrap();
    let started = Instant::now();
    // Before the accesses change the tree, as `corral run` does.
    let lowering = lower_to_landlock(policy, Path::new("/"), LATEST_ABI);
    let permitted = |access: &str| is_permitted(policy, &Access::parse(access, home).unwrap());
    let attempts = plan(rng, e, ports, ATTEMPTS, &permitted);
    let args = vec!["--policy".to_owned(), name.to_owned(), "--home".to_owned(), home.to_owned()];
    let (outcomes, out) = run_child(file, &args, &attempts, child);
    if started.elapsed().as_secs() >= 5 {
        eprintln!("slow: policy `{name}` of {}: run in {:.1?}", file.display(), started.elapsed());
    }
    let Some(outcomes) = outcomes else {
        // Only a walk cut short by the entry budget, which the lowering
        // reports (C3002), may leave the child's own program ungranted.
        assert!(
            truncated(&lowering),
            "the sandbox did not let the child start under {}\n{}",
            file.display(),
            text(&out)
        );
        eprintln!(
            "not checked: policy `{name}` of {}: the lowering ran out of its entry budget (C3002) before granting the child's program and loader, which cannot start",
            file.display()
        );
        tally.unrunnable += 1;
        return Vec::new();
    };
    tally.policies += 1;
    tally.exact += usize::from(lowering.exact);
    let mismatches = compare(policy, home, &lowering, &attempts, &outcomes, tally);
    if mismatches.is_empty() {
        return mismatches;
    }
    let summary = &lowering.summary;
    let source = std::fs::read_to_string(file).unwrap();
    vec![format!(
        "policy `{name}` of {} (exact: {}):\n{source}\n{}\n{:#?}\nlowering:\n{summary}\n{}",
        file.display(),
        lowering.exact,
        mismatches.join("\n"),
        lowering
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), &d.message, &d.counterexamples))
            .collect::<Vec<_>>(),
        text(&out)
    )]
}

#[test]
fn random_policies_match_the_kernel() {
    if !landlock() {
        return;
    }
    let started = Instant::now();
    let wanted = env_number("CORRAL_RANDOM_POLICIES", 200) as usize;
    let seed = env_number(
        "CORRAL_RANDOM_SEED",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    );
    eprintln!("random policies: seed {seed} (set CORRAL_RANDOM_SEED={seed} to replay)");
    let helper = helper();
    let prelude = prelude(&helper);
    let child = [helper];
    let ports = Ports::new();
    let scratch = scratch("run-random-");
    let base = scratch.path().canonicalize().unwrap();
    let total = Mutex::new((Tally::default(), Vec::new()));
    let next = AtomicU64::new(0);
    // Generate until `wanted` policies were exact, within a bound; one
    // `corral run` per policy, on a few threads.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while total.lock().unwrap().0.exact < wanted {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= 8 * wanted as u64 {
                        break;
                    }
                    let mut rng = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
                    let root = base.join(format!("t{index}")).display().to_string();
                    let e = random_tree(&mut rng, &root);
                    let rules = random_rules(&mut rng, &e, &root, &ports);
                    let file = PathBuf::from(format!("{root}.corral"));
                    std::fs::write(&file, format!("policy p {{\n{prelude}{rules}}}\n")).unwrap();
                    let mut tally = Tally::default();
                    let failures = check_policy(&file, "p", &root, &e, &ports, &mut rng, &child, &mut tally);
                    std::fs::remove_dir_all(&root).unwrap();
                    let mut total = total.lock().unwrap();
                    total.0.add(&tally);
                    total
                        .1
                        .extend(failures.into_iter().map(|f| format!("seed {seed}, policy #{index}: {f}")));
                }
            });
        }
    });
    let (tally, failures) = total.into_inner().unwrap();
    eprintln!("random policies: {tally:?} in {:.1?}", started.elapsed());
    assert!(failures.is_empty(), "{} policies with mismatches:\n{}", failures.len(), failures.join("\n\n"));
    assert!(
        tally.exact >= wanted,
        "only {} of {} policies were exact: {tally:?}",
        tally.exact,
        tally.policies
    );
    assert!(tally.asserted >= 20 * wanted, "{tally:?}");
    // Every operation was checked both ways: allowed and denied.
    for op in OPERATIONS {
        let [denied, allowed] = tally.by_operation.get(op).copied().unwrap_or_default();
        assert!(
            denied > 0 && allowed > 0,
            "`{op}` was denied {denied} and allowed {allowed} times: {tally:?}"
        );
    }
}
