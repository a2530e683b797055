//! `corral diff OLD NEW [--policy P]`: the semantic difference between two
//! versions of a policy — for each class of access (each file right,
//! connect and bind per protocol, each device mode), one access gained and
//! one lost, each with the rules that decide it in both versions — and the
//! settings that changed (identity, isolation, timeout, proxy).
//!
//! Exit codes: 0 equal (every class proven equal, no setting changed), 1
//! different, or not proven equal (a search ran out of time: reported as
//! unknown), 2 usage error (including a file with errors).

use std::path::{Path, PathBuf};

use clap::Args;
use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::{Policy, Program, Tier};
use corral_verifier::diff::{Class, ClassDiff};
use corral_verifier::refine::Verdict;
use serde_json::{Value, json};

use crate::common::{self, CompileArgs, EXIT_FAIL, EXIT_OK, EXIT_USAGE, Format};
use crate::eval::{rule_json, rule_line};

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The old version of the policy file.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new version.
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// The policy to compare (the same name in both files); may be left out
    /// when each file defines one policy.
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
    /// Time limit of each SMT query; a query that runs out is reported as
    /// unknown, never as equal.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    timeout_ms: u32,
    #[command(flatten)]
    compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// One side of the comparison.
struct Side<'a> {
    file: &'a PathBuf,
    program: &'a Program,
    policy: &'a Policy,
}

pub fn run(args: &DiffArgs) -> u8 {
    let compile = |file: &PathBuf| {
        common::compile_clean(file, &args.compile, EXIT_USAGE, "nothing was compared").map(|(_, c)| c)
    };
    let (old_c, new_c) = match (compile(&args.old), compile(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let (old_policy, new_policy) = match (
        select(&old_c.program, &args.old, args.policy.as_deref()),
        select(&new_c.program, &args.new, args.policy.as_deref()),
    ) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return common::usage_error(&e),
    };
    let old = Side { file: &args.old, program: &old_c.program, policy: old_policy };
    let new = Side { file: &args.new, program: &new_c.program, policy: new_policy };

    let solver = corral_verifier::Solver::new(args.timeout_ms);
    let classes = corral_verifier::isolated(|| corral_verifier::diff::diff(old.policy, new.policy, &solver));
    let settings = settings(old.policy, new.policy);
    let differs = !settings.is_empty() || classes.iter().any(|c| !c.is_equal());
    match args.format {
        Format::Human => print_human(&old, &new, &classes, &settings),
        Format::Json => common::print_json(&report_json(&old, &new, &classes, &settings)),
    }
    if differs { EXIT_FAIL } else { EXIT_OK }
}

fn select<'p>(program: &'p Program, file: &Path, name: Option<&str>) -> Result<&'p Policy, String> {
    common::select_policy(program, name).map_err(|e| format!("`{}`: {e}", file.display()))
}

/// A setting that differs: its name, the old value and the new one.
type SettingChange = (&'static str, String, String);

fn settings(old: &Policy, new: &Policy) -> Vec<SettingChange> {
    fn text<T>(setting: Option<&corral_compiler::ir::Setting<T>>, show: impl Fn(&T) -> String) -> String {
        setting.map_or_else(|| "(not set)".to_owned(), |s| show(&s.value))
    }
    let tier = |p: &Policy| p.isolation.as_ref().map_or(Tier::Process, |s| s.value).keyword().to_owned();
    let candidates = [
        (
            "identity",
            text(old.identity.as_ref(), ToString::to_string),
            text(new.identity.as_ref(), ToString::to_string),
        ),
        ("isolation", tier(old), tier(new)),
        (
            "timeout",
            text(old.timeout.as_ref(), |ms| format!("{ms} ms")),
            text(new.timeout.as_ref(), |ms| format!("{ms} ms")),
        ),
        ("proxy", text(old.proxy.as_ref(), Clone::clone), text(new.proxy.as_ref(), Clone::clone)),
    ];
    candidates.into_iter().filter(|(_, o, n)| o != n).collect()
}

/// The classes where `pick` found a difference, with their witnesses.
fn found(classes: &[ClassDiff], pick: impl Fn(&ClassDiff) -> &Verdict) -> Vec<(Class, &Access)> {
    classes
        .iter()
        .filter_map(|c| match pick(c) {
            Verdict::Counterexample(access) => Some((c.class, access)),
            _ => None,
        })
        .collect()
}

/// Searches that ran out: the class, which direction, and why.
fn unknown(classes: &[ClassDiff]) -> Vec<(Class, &'static str, &str)> {
    let mut out = Vec::new();
    for c in classes {
        for (direction, verdict) in [("gained", &c.gained), ("lost", &c.lost)] {
            if let Verdict::Unknown(why) = verdict {
                out.push((c.class, direction, why.as_str()));
            }
        }
    }
    out
}

/// Why `side` decides `access` as it does, one line per deciding rule.
fn why(side: &Side<'_>, access: &Access) -> Vec<String> {
    let decision = Evaluator::new(side.policy).decide(access);
    if decision.deciding().is_empty() {
        return vec!["deny  no rule allows it (default deny)".to_owned()];
    }
    decision.deciding().iter().map(|r| rule_line(side.program, side.policy, r)).collect()
}

fn print_human(old: &Side<'_>, new: &Side<'_>, classes: &[ClassDiff], settings: &[SettingChange]) {
    let gained = found(classes, |c| &c.gained);
    let lost = found(classes, |c| &c.lost);
    let unknown = unknown(classes);
    let title = if old.policy.name == new.policy.name {
        format!("policy `{}`", old.policy.name)
    } else {
        format!("policy `{}` → `{}`", old.policy.name, new.policy.name)
    };
    println!("{title}: {} → {}", old.file.display(), new.file.display());
    let show = |heading: &str,
                list: &[(Class, &Access)],
                yes: &Side<'_>,
                no: &Side<'_>,
                yes_name: &str,
                no_name: &str| {
        if list.is_empty() {
            return;
        }
        println!("{heading}");
        for (class, access) in list {
            println!("  {:<18}{access}", class.to_string());
            for line in why(yes, access) {
                println!("      {yes_name}  {line}");
            }
            for line in why(no, access) {
                println!("      {no_name}  {line}");
            }
        }
    };
    show("gained (the new version permits, the old one denies):", &gained, new, old, "new", "old");
    show("lost (the old version permits, the new one denies):", &lost, old, new, "old", "new");
    if !settings.is_empty() {
        println!("settings:");
        for (name, o, n) in settings {
            println!("  {name:<18}{o} → {n}");
        }
    }
    if !unknown.is_empty() {
        println!("unknown (not proven equal):");
        for (class, direction, reason) in &unknown {
            println!("  {:<18}{direction}: {reason}", class.to_string());
        }
    }
    let same: Vec<String> = classes.iter().filter(|c| c.is_equal()).map(|c| c.class.to_string()).collect();
    let differences = gained.len() + lost.len() + settings.len();
    if differences == 0 && unknown.is_empty() {
        println!("equal: no access is gained or lost, proven for every class, and no setting changed");
    } else {
        println!(
            "{differences} difference(s){}; the same in: {}",
            if unknown.is_empty() { String::new() } else { format!(", {} unknown", unknown.len()) },
            if same.is_empty() { "nothing".to_owned() } else { same.join(", ") }
        );
    }
}

fn report_json(old: &Side<'_>, new: &Side<'_>, classes: &[ClassDiff], settings: &[SettingChange]) -> Value {
    let rules = |side: &Side<'_>, access: &Access| {
        let decision = Evaluator::new(side.policy).decide(access);
        json!({
            "decision": if decision.permitted { "allowed" } else { "denied" },
            "rules": decision.deciding().iter().map(|r| rule_json(side.program, side.policy, r)).collect::<Vec<_>>(),
        })
    };
    let entries = |list: Vec<(Class, &Access)>| {
        list.into_iter()
            .map(|(class, access)| {
                json!({
                    "class": class.to_string(),
                    "access": access.to_string(),
                    "old": rules(old, access),
                    "new": rules(new, access),
                })
            })
            .collect::<Vec<_>>()
    };
    let gained = entries(found(classes, |c| &c.gained));
    let lost = entries(found(classes, |c| &c.lost));
    let unknown: Vec<Value> = unknown(classes)
        .into_iter()
        .map(|(class, direction, reason)| json!({ "class": class.to_string(), "direction": direction, "reason": reason }))
        .collect();
    let equal = gained.is_empty() && lost.is_empty() && unknown.is_empty() && settings.is_empty();
    json!({
        "version": 1,
        "old": { "file": old.file.display().to_string(), "policy": old.policy.name },
        "new": { "file": new.file.display().to_string(), "policy": new.policy.name },
        "equal": equal,
        "gained": gained,
        "lost": lost,
        "settings": settings.iter().map(|(name, o, n)| json!({ "setting": name, "old": o, "new": n })).collect::<Vec<_>>(),
        "unknown": unknown,
        "same": classes
            .iter()
            .filter(|c| c.is_equal())
            .map(|c| c.class.to_string())
            .collect::<Vec<_>>(),
    })
}
