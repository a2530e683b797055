//! What a compilation was made from, so that a later command can tell,
//! without compiling, that compiling again would give the same program.
//!
//! `corral build --target landlock` records it in `landlock.run.json`
//! (`compiled_from`); `corral run --ruleset` compares it with its own
//! file and options and re-reads the recorded inputs. Compiling the
//! coding-assistant example costs about 1.8 ms, more than the rest of a
//! prebuilt run's start. When anything differs, `run` compiles and
//! compares the policy's IR digest instead, so an edit that leaves the
//! IR as it was (rules, `~`, params and the rules' origins: a comment
//! after the last rule, say) is still accepted.
//!
//! The inputs are every file read (the root and its imports, by the
//! absolute path they were opened with), every embedded standard module,
//! and every path an `import a.b` search passed over because no file was
//! there: a file appearing there would change what the import finds. The
//! options are `~`, the `--lib` roots and the `--set` values; the corral
//! version stands for the compiler itself.

use std::path::Path;

use corral_compiler::{Compilation, Input, Options};
use serde_json::{Value, json};

use crate::common::sha256_hex;

/// What `compilation`, made from `file` with `options`, depended on.
pub fn record(file: &Path, options: &Options, compilation: &Compilation) -> Value {
    let sources = compilation.sources();
    let inputs: Vec<Value> = compilation
        .inputs
        .iter()
        .map(|input| match input {
            Input::File { path, file } => {
                json!({ "file": path.to_string_lossy(), "sha256": sha256_hex(sources.text(*file).as_bytes()) })
            }
            Input::Std { name, file } => {
                json!({ "std": name, "sha256": sha256_hex(sources.text(*file).as_bytes()) })
            }
            Input::Absent { path } => json!({ "absent": path.to_string_lossy() }),
        })
        .collect();
    let mut value = invocation(file, options);
    value["inputs"] = Value::Array(inputs);
    value
}

/// Whether compiling `file` with `options` now would read exactly what
/// `recorded` (from [`record`]) lists, with the same contents.
pub fn unchanged(recorded: &Value, file: &Path, options: &Options) -> bool {
    let Some(inputs) = recorded["inputs"].as_array() else {
        return false;
    };
    let mut expected = invocation(file, options);
    expected["inputs"] = recorded["inputs"].clone();
    if *recorded != expected {
        return false;
    }
    inputs.iter().all(|input| {
        let digest = || input["sha256"].as_str();
        if let Some(path) = input["file"].as_str() {
            std::fs::read(path).is_ok_and(|bytes| Some(sha256_hex(&bytes).as_str()) == digest())
        } else if let Some(name) = input["std"].as_str() {
            corral_stdlib::module(name)
                .is_some_and(|text| Some(sha256_hex(text.as_bytes()).as_str()) == digest())
        } else if let Some(path) = input["absent"].as_str() {
            !Path::new(path).is_file()
        } else {
            false
        }
    })
}

/// The command's side of the record: the compiler, the file and the options.
fn invocation(file: &Path, options: &Options) -> Value {
    let absolute =
        |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).to_string_lossy().into_owned();
    json!({
        "corral": env!("CARGO_PKG_VERSION"),
        "file": absolute(file),
        "home": options.home,
        "lib": options.lib_dirs.iter().map(|d| absolute(d)).collect::<Vec<_>>(),
        "set": options.params,
    })
}
