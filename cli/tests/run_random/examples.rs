//! Every policy of every example, for real.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::generate::{Entries, Ports, Rng};
use super::{Tally, check_policy, compile, env_number, landlock, private_child, scratch};

/// A home with the files the examples talk about.
fn example_home(home: &str) -> Entries {
    let mut e = Entries::default();
    e.dir(home.to_owned());
    for f in [
        "src/app/Cargo.toml",
        "src/app/Cargo.lock",
        "src/app/rust-toolchain.toml",
        "src/app/src/main.rs",
        "src/app/.env",
        "src/app/crates/core/Cargo.lock",
        "src/app/crates/core/src/lib.rs",
        "src/app/.git/config",
        ".ssh/id_rsa",
        ".ssh/config",
        ".aws/credentials",
        ".gitconfig",
        ".bashrc",
        ".cargo/registry/index/config.json",
        ".cargo/git/db/dep/HEAD",
        ".cargo/credentials.toml",
        ".cargo/config.toml",
        "Downloads/agent/report.pdf",
        ".cache/browser-agent/profile/Preferences",
        ".mozilla/firefox/default/key4.db",
        "data/sales/q1.csv",
        "analysis/out/result.csv",
        "analysis/.venv/pyvenv.cfg",
        ".cache/pip/http/entry",
        "srv/ci/checkout/Cargo.toml",
        "srv/ci/checkout/src/main.rs",
        "srv/ci/checkout/.git/config",
    ] {
        e.file(format!("{home}/{f}"));
    }
    for s in [
        "src/app/target/debug/build-script",
        "src/app/.git/hooks/pre-commit",
        ".cargo/bin/cargo-tool",
        "analysis/.venv/bin/jupyter",
        "Downloads/agent/installer.sh",
        "srv/ci/checkout/target/debug/test.sh",
        "srv/ci/checkout/.git/hooks/pre-commit",
    ] {
        e.script(format!("{home}/{s}"));
    }
    for d in [
        "src/app/empty",
        "src/app/.git/hooks/empty",
        "Downloads/agent/empty",
        ".cache/browser-agent/profile/empty",
        "analysis/out/empty",
        "analysis/.venv/empty",
        "data/sales/empty",
        ".cargo/registry/empty",
        ".ssh/empty",
        "srv/ci/checkout/empty",
    ] {
        e.empty_dir(format!("{home}/{d}"));
    }
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for p in e.files.iter().chain(&e.scripts).chain(&e.empty) {
        let mut p = Path::new(p);
        while let Some(parent) = p.parent() {
            if !parent.starts_with(home) || parent == Path::new(home) {
                break;
            }
            dirs.insert(parent.display().to_string());
            p = parent;
        }
    }
    e.dirs.extend(dirs.into_iter().filter(|d| !e.empty.contains(d)));
    e
}

#[test]
fn example_policies_match_the_kernel() {
    if !landlock() {
        return;
    }
    let started = Instant::now();
    let seed = env_number(
        "CORRAL_RANDOM_SEED",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    );
    eprintln!("example policies: seed {seed} (set CORRAL_RANDOM_SEED={seed} to replay)");
    // The homes live where homes do. The examples grant all of `/usr`
    // around wildcard denies, so the lowering walks it, and on a large
    // system its entry budget runs out before it reaches paths that sort
    // after `/usr` (such as a target directory under `/work`): the homes
    // and the child must sort before it.
    let base = match tempfile::Builder::new().prefix("corral-run-examples-").tempdir_in("/home") {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipped: cannot make a home under /home (needs root): {e}");
            return;
        }
    };
    let base_path = base.path().canonicalize().unwrap();
    // `CORRAL_KEEP_TREES=1` keeps the homes for a look after a failure.
    let _base = if std::env::var_os("CORRAL_KEEP_TREES").is_some() {
        eprintln!("example policies: homes kept in {}", base.keep().display());
        None
    } else {
        Some(base)
    };
    let runtime = base_path.join("runtime");
    let child = private_child(&runtime);
    let ports = Ports::new();
    let files = corral_tests::example_files();
    // Every policy of every example, each with its own home.
    let mut jobs = Vec::new();
    for example in &files {
        // The CI checkout is a param; bind it inside the home, as
        // `--set checkout=…` would.
        let source = std::fs::read_to_string(example)
            .unwrap()
            .replace("under \"/srv/ci/checkout\"", "under \"~/srv/ci/checkout\"");
        let probe = scratch("run-example-");
        let file = probe.path().join("example.corral");
        std::fs::write(&file, &source).unwrap();
        let names: Vec<String> =
            compile(&file, "/home/u").program.policies.iter().map(|p| p.name.clone()).collect();
        assert!(!names.is_empty(), "{}", example.display());
        jobs.extend(names.into_iter().map(|name| (example.clone(), source.clone(), name)));
    }
    let total = Mutex::new((Tally::default(), Vec::new()));
    let next = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some((example, source, name)) = jobs.get(i) else { break };
                    let dir = base_path.join(format!("job{i}"));
                    std::fs::create_dir(&dir).unwrap();
                    let home = dir.join("home").display().to_string();
                    std::fs::write(dir.join("example.corral"), source).unwrap();
                    // The example's policy, plus running the child.
                    let wrapper = dir.join("harness.corral");
                    std::fs::write(
                        &wrapper,
                        format!(
                            "import \"./example.corral\" as ex\n\npolicy harness extends ex.{name} {{\n  allow read, exec under \"{}\"\n}}\n",
                            runtime.display()
                        ),
                    )
                    .unwrap();
                    let e = example_home(&home);
                    let mut rng = Rng::new(seed ^ name.bytes().fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)));
                    let mut tally = Tally::default();
                    let failures = check_policy(&wrapper, "harness", &home, &e, &ports, &mut rng, &child, &mut tally);
                    let mut total = total.lock().unwrap();
                    total.0.add(&tally);
                    total.1.extend(
                        failures.into_iter().map(|f| format!("seed {seed}, {} policy `{name}`: {f}", example.display())),
                    );
                }
            });
        }
    });
    let (tally, failures) = total.into_inner().unwrap();
    eprintln!("example policies: {tally:?} in {:.1?}", started.elapsed());
    assert!(failures.is_empty(), "{} policies with mismatches:\n{}", failures.len(), failures.join("\n\n"));
    assert_eq!(tally.policies + tally.unrunnable, jobs.len(), "{tally:?}");
    // The coding assistants, the notebook and the browser agent grant no
    // pattern that sends the walk through the whole file system.
    assert!(tally.policies >= 4, "{tally:?}");
    assert!(tally.asserted >= 20 * tally.policies, "{tally:?}");
}
