//! Every example in `docs/diagnostics/` is real: its snippet is run through
//! the `corral` binary and the output must be the one the page shows.
//! `UPDATE_DOCS=1 cargo test -p corral --test docs_examples` rewrites the
//! pages from the actual output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One documented example: the files to create, the arguments, and the
/// byte range of the expected output in the page.
struct Example {
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    output: std::ops::Range<usize>,
}

fn fenced_blocks(page: &str, lang: &str) -> Vec<(usize, std::ops::Range<usize>)> {
    // (start of the fence line, range of the content)
    let fence = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = page[from..].find(&fence) {
        let start = from + i;
        let content_start = start + fence.len();
        let Some(len) = page[content_start..].find("\n```") else { break };
        out.push((start, content_start..content_start + len + 1));
        from = content_start + len + 4;
    }
    out
}

/// `printf 'BYTES' > NAME` as written in a page: the file it makes.
fn printf_file(page: &str) -> Option<(String, Vec<u8>)> {
    let start = page.find("`printf '")? + "`printf '".len();
    let end = start + page[start..].find("' > ")?;
    let name_start = end + "' > ".len();
    let name_end = name_start + page[name_start..].find('`')?;
    let mut bytes = Vec::new();
    let raw = &page.as_bytes()[start..end];
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], raw.get(i + 1)) {
            (b'\\', Some(b'x')) => {
                let hex = std::str::from_utf8(&raw[i + 2..i + 4]).unwrap();
                bytes.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
            }
            (b'\\', Some(b'n')) => {
                bytes.push(b'\n');
                i += 2;
            }
            (b, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    Some((page[name_start..name_end].to_owned(), bytes))
}

fn parse_example(page: &str) -> Option<Example> {
    let corral = fenced_blocks(page, "corral");
    let (_, main) = corral.first()?.clone();
    let mut files = vec![("example.corral".to_owned(), page[main].as_bytes().to_vec())];
    for (fence_start, block) in corral.iter().skip(1) {
        let before = &page[..*fence_start];
        let line = before.trim_end().lines().last().unwrap_or("");
        let name = line.strip_prefix("with `")?.split('`').next()?;
        files.push((name.to_owned(), page[block.clone()].as_bytes().to_vec()));
    }
    files.extend(printf_file(page));
    let cmd_end = page.find("` reports:")?;
    let cmd_start = page[..cmd_end].rfind("`corral ")? + "`corral ".len();
    let args = page[cmd_start..cmd_end].split_whitespace().map(str::to_owned).collect();
    let (_, output) = fenced_blocks(page, "text").into_iter().find(|(start, _)| *start > cmd_end)?;
    Some(Example { files, args, output })
}

fn run(example: &Example, dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in &example.files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(&example.args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn diagnostic_pages_show_the_real_output() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics");
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('C')))
        .collect();
    pages.sort();
    let mut checked = 0;
    let mut stale = Vec::new();
    for page_path in &pages {
        let page = std::fs::read_to_string(page_path).unwrap();
        let Some(example) = parse_example(&page) else {
            // Internal errors and solver unknowns have no fixed input; their
            // pages say so.
            assert!(
                page.starts_with("# C9") || page.contains("no fixed"),
                "{} has no runnable example",
                page_path.display()
            );
            eprintln!("skipping {}: its outcome has no fixed example", page_path.display());
            continue;
        };
        let stem = page_path.file_stem().unwrap().to_string_lossy().into_owned();
        if String::from_utf8_lossy(&example.files[0].1).contains("// …") {
            // The snippet is abridged (C1024 needs hundreds of lines).
            eprintln!("skipping {stem}: its example is abridged");
            continue;
        }
        let dir = std::env::temp_dir().join(format!("corral-docs-{}-{stem}", std::process::id()));
        let actual = run(&example, &dir);
        checked += 1;
        if page[example.output.clone()] != actual {
            if update {
                let mut new_page = page.clone();
                new_page.replace_range(example.output.clone(), &actual);
                std::fs::write(page_path, new_page).unwrap();
            } else {
                stale.push(format!(
                    "{stem}:\n--- page\n{}--- actual\n{actual}",
                    &page[example.output.clone()]
                ));
            }
        }
    }
    assert!(checked >= 30, "only {checked} examples found");
    assert!(stale.is_empty(), "stale examples (UPDATE_DOCS=1 to rewrite):\n{}", stale.join("\n"));
}
