//! `corral eval FILE --policy P --access "RIGHT RESOURCE"`

use std::path::PathBuf;

use clap::Args;
use corral_compiler::eval::{Access, Decision, Evaluator, RuleRef};
use corral_compiler::ir::{Effect, Policy, Program};
use corral_compiler::source::SourceSpan;
use serde_json::json;

use crate::common::{self, CompileArgs, EXIT_FAIL, EXIT_OK, EXIT_USAGE, Format};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The policy to evaluate; may be left out when the file defines one.
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
    /// The access to decide: `read /etc/passwd`, `connect tcp github.com:443`,
    /// `connect udp [2001:db8::1]:53`, `bind tcp 8080 from 192.0.2.1`,
    /// `clipboard write`, `screen capture`, …
    #[arg(long, value_name = "ACCESS")]
    access: String,
    #[command(flatten)]
    compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: &EvalArgs) -> u8 {
    let (options, compilation) =
        match common::compile_clean(&args.file, &args.compile, EXIT_USAGE, "fix them before evaluating") {
            Ok(c) => c,
            Err(code) => return code,
        };
    let program = &compilation.program;
    let policy = match common::select_policy(program, args.policy.as_deref()) {
        Ok(p) => p,
        Err(e) => return common::usage_error(&e),
    };
    let access = match Access::parse(&args.access, &options.home) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}", e.message());
            eprintln!("  help: {}", e.help());
            return EXIT_USAGE;
        }
    };
    let decision = Evaluator::new(policy).decide(&access);
    match args.format {
        Format::Human => print_human(program, policy, &access, &decision),
        Format::Json => common::print_json(&decision_json(program, policy, &access, &decision)),
    }
    if decision.permitted { EXIT_OK } else { EXIT_FAIL }
}

/// The first line of a rule's source, as written.
fn rule_text(program: &Program, span: SourceSpan) -> String {
    let text = program.files.text(span.file);
    let s = text.get(span.start as usize..span.end as usize).unwrap_or("");
    let first = s.lines().next().unwrap_or("").trim();
    if s.lines().nth(1).is_some() { format!("{first} …") } else { first.to_owned() }
}

/// One rule for a person: `allow FILE:LINE:COL  TEXT (from `PARENT`)`.
pub(crate) fn rule_line(program: &Program, policy: &Policy, r: &RuleRef) -> String {
    let origin = r.origin(policy);
    let inherited =
        if origin.policy == policy.name { String::new() } else { format!(" (from `{}`)", origin.policy) };
    let effect = match r.effect(policy) {
        Some(Effect::Allow) => "allow",
        _ => "deny ",
    };
    format!(
        "{effect} {}  {}{inherited}",
        program.files.location(origin.span),
        rule_text(program, origin.span)
    )
}

/// One rule in `--format json`: effect, policy, file, line, column, span
/// and text.
pub(crate) fn rule_json(program: &Program, policy: &Policy, r: &RuleRef) -> serde_json::Value {
    let origin = r.origin(policy);
    let (line, column) = program.files.line_col(origin.span.file, origin.span.start);
    json!({
        "effect": match r.effect(policy) { Some(Effect::Allow) => "allow", _ => "deny" },
        "policy": origin.policy,
        "file": program.files.name(origin.span.file),
        "line": line,
        "column": column,
        "start": origin.span.start,
        "end": origin.span.end,
        "text": rule_text(program, origin.span),
    })
}

fn print_human(program: &Program, policy: &Policy, access: &Access, decision: &Decision) {
    let verdict = if decision.permitted { "allowed" } else { "denied" };
    println!("{verdict}: {access} (policy `{}`)", policy.name);
    let show = |r: &RuleRef, note: &str| println!("  {}{note}", rule_line(program, policy, r));
    if decision.permitted {
        for r in &decision.allows {
            show(r, "");
        }
    } else if decision.denies.is_empty() {
        println!("  no rule allows it (default deny)");
    } else {
        for r in &decision.denies {
            show(r, "");
        }
        for r in &decision.allows {
            show(r, "  [overridden: deny wins]");
        }
    }
}

fn decision_json(
    program: &Program,
    policy: &Policy,
    access: &Access,
    decision: &Decision,
) -> serde_json::Value {
    let rule = |r: &RuleRef| rule_json(program, policy, r);
    let reason = if decision.permitted {
        "allowed"
    } else if decision.denies.is_empty() {
        "default-deny"
    } else {
        "denied-by-rule"
    };
    json!({
        "version": 1,
        "policy": policy.name,
        "access": access.to_string(),
        "decision": if decision.permitted { "allowed" } else { "denied" },
        "reason": reason,
        "allows": decision.allows.iter().map(rule).collect::<Vec<_>>(),
        "denies": decision.denies.iter().map(rule).collect::<Vec<_>>(),
    })
}
