//! Options shared by the commands, compiling with them, and printing
//! diagnostics.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use corral_compiler::diagnostics::render::{HumanStyle, render_human};
use corral_compiler::diagnostics::{Diagnostic, Severity};
use corral_compiler::ir::{Policy, Program};
use corral_compiler::source::SourceMap;
use corral_compiler::{Compilation, Options};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
}

/// `--home`, `--set`, `--lib`: how names in a policy are bound.
#[derive(Args, Debug, Clone)]
pub struct CompileArgs {
    /// The directory `~` stands for [default: $HOME].
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Bind a `param` of the file: `--set workspace=/home/u/src/app`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// Add a root for `import a.b` (searched after the file's directory).
    #[arg(long = "lib", value_name = "DIR")]
    pub lib: Vec<PathBuf>,
}

fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, found `{s}`")),
    }
}

impl CompileArgs {
    /// The compiler options, or a usage error.
    pub fn options(&self) -> Result<Options, String> {
        let home = match &self.home {
            Some(h) => h.to_string_lossy().into_owned(),
            None => std::env::var("HOME").map_err(|_| "`$HOME` is not set; pass `--home DIR`".to_owned())?,
        };
        if !home.starts_with('/') {
            return Err(format!("`--home {home}` is not an absolute path"));
        }
        let home = if home.len() > 1 { home.trim_end_matches('/').to_owned() } else { home };
        Ok(Options { home, lib_dirs: self.lib.clone(), params: self.set.clone() })
    }
}

/// Compiles one file for a command that needs it free of errors: a usage
/// error exits 2; a file with errors is shown and the command exits with
/// `on_errors`, after `error: `FILE` has errors; {consequence}`.
pub fn compile_clean(
    file: &Path,
    args: &CompileArgs,
    on_errors: u8,
    consequence: &str,
) -> Result<(Options, Compilation), u8> {
    let options = args.options().map_err(|e| usage_error(&e))?;
    let compilation = compile(file, &options).map_err(|e| usage_error(&e))?;
    if compilation.has_errors() {
        print_human(&compilation.diagnostics, compilation.sources());
        eprintln!("error: `{}` has errors; {consequence}", file.display());
        return Err(on_errors);
    }
    Ok((options, compilation))
}

/// Compiles one file; an unreadable file is a usage error.
pub fn compile(path: &Path, options: &Options) -> Result<Compilation, String> {
    corral_compiler::compile_file(path, options).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

pub fn human_style() -> HumanStyle {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        HumanStyle::Color
    } else {
        HumanStyle::Plain
    }
}

/// Prints diagnostics for a person on stderr.
pub fn print_human(diagnostics: &[Diagnostic], sources: &SourceMap) {
    if !diagnostics.is_empty() {
        eprint!("{}", render_human(diagnostics, sources, human_style()));
    }
}

pub fn usage_error(message: &str) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

pub fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics.iter().filter(|d| d.severity == severity).count()
}

pub fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

/// The policy named by `--policy`, or the only one of the file.
pub fn select_policy<'p>(program: &'p Program, name: Option<&str>) -> Result<&'p Policy, String> {
    let names: Vec<&str> = program.policies.iter().map(|p| p.name.as_str()).collect();
    match name {
        Some(n) => program.policy(n).ok_or_else(|| {
            let hint = corral_compiler::diagnostics::did_you_mean(n, names.iter().copied())
                .unwrap_or_else(|| format!("the policies are {}", quoted(&names)));
            format!("no policy `{n}`; {hint}")
        }),
        None => match program.policies.as_slice() {
            [only] => Ok(only),
            [] => Err("the file defines no policy".to_owned()),
            _ => Err(format!(
                "the file defines several policies; choose one with `--policy` ({})",
                quoted(&names)
            )),
        },
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A digest of what a policy means: its IR (rules with `~` and params
/// bound, inherited rules merged, origins). A ruleset built from one policy
/// is applied to another only when their digests are equal.
pub fn policy_digest(policy: &Policy) -> String {
    sha256_hex(&serde_json::to_vec(policy).unwrap_or_default())
}
