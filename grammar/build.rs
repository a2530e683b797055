#![allow(clippy::print_stderr)] // a build script reports through stderr

fn main() {
    // Generates `grammar.rs` from `src/grammar.lalrpop` into OUT_DIR.
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
        .unwrap_or_else(|e| {
            eprintln!("lalrpop failed: {e}");
            std::process::exit(1)
        });
}
