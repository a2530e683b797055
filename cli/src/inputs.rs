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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::{Path, PathBuf};

    use corral_compiler::{Options, compile_file};

    use super::{record, unchanged};
    use crate::common::policy_digest;

    /// A root file importing `shared` (found under `lib/`, after the
    /// root's own directory) and `./extra.corral`.
    fn tree() -> (tempfile::TempDir, PathBuf, Options) {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("shared.corral"), "let a: paths = under \"/srv/a\"\n").unwrap();
        std::fs::write(dir.path().join("extra.corral"), "let b: paths = under \"/srv/b\"\n").unwrap();
        let root = dir.path().join("p.corral");
        std::fs::write(
            &root,
            "import shared\nimport \"./extra.corral\"\n\npolicy p {\n    allow read shared.a | extra.b\n}\n",
        )
        .unwrap();
        let options = Options { home: "/home/u".to_owned(), lib_dirs: vec![lib], params: Vec::new() };
        (dir, root, options)
    }

    fn digest(root: &Path, options: &Options) -> Option<String> {
        let c = compile_file(root, options).ok()?;
        (!c.has_errors()).then(|| policy_digest(c.program.policy("p").unwrap()))
    }

    /// Each change to what the compile read, or to the options, is seen;
    /// and whenever the inputs are reported unchanged, compiling again
    /// gives the same policy (the property `corral run --ruleset` relies on).
    #[test]
    fn every_change_that_can_change_the_policy_is_seen() {
        type Change = fn(&Path, &mut Options);
        let changes: [(&str, Change, bool); 9] = [
            ("nothing", |_, _| {}, true),
            (
                "the root rewritten as it was",
                |d, _| {
                    let root = d.join("p.corral");
                    std::fs::write(&root, std::fs::read(&root).unwrap()).unwrap();
                },
                true,
            ),
            (
                "a comment in the root",
                |d, _| {
                    let root = d.join("p.corral");
                    let text = std::fs::read_to_string(&root).unwrap();
                    std::fs::write(&root, format!("{text}// reviewed\n")).unwrap();
                },
                false,
            ),
            (
                "the lib module edited",
                |d, _| {
                    std::fs::write(d.join("lib/shared.corral"), "let a: paths = under \"/srv/other\"\n")
                        .unwrap();
                },
                false,
            ),
            (
                "a module shadowing the lib one",
                |d, _| {
                    std::fs::write(d.join("shared.corral"), "let a: paths = under \"/etc\"\n").unwrap();
                },
                false,
            ),
            ("the file import removed", |d, _| std::fs::remove_file(d.join("extra.corral")).unwrap(), false),
            ("another home", |_, o| o.home = "/home/v".to_owned(), false),
            ("another lib root", |d, o| o.lib_dirs.push(d.join("elsewhere")), false),
            ("a param set", |_, o| o.params.push(("x".to_owned(), "1".to_owned())), false),
        ];
        for (what, change, same) in changes {
            let (dir, root, mut options) = tree();
            let compilation = compile_file(&root, &options).unwrap();
            assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
            let recorded = record(&root, &options, &compilation);
            let before = digest(&root, &options);
            change(dir.path(), &mut options);
            let now = unchanged(&recorded, &root, &options);
            assert_eq!(now, same, "{what}");
            if now {
                assert_eq!(
                    digest(&root, &options),
                    before,
                    "{what}: reported unchanged, but the policy changed"
                );
            }
        }
    }
}
