//! The whole compiler on arbitrary UTF-8: it must return a program and
//! diagnostics and never panic. A text that compiles without errors must
//! format, the formatting must be idempotent (format(format(x)) ==
//! format(x)), and the formatted text must still compile without errors.
#![no_main]

use corral_compiler::{Options, compile_source};
use corral_grammar::fmt::format_source;
use libfuzzer_sys::fuzz_target;

fn compile(text: &str) -> corral_compiler::Compilation {
    let options = Options { home: "/home/u".into(), ..Default::default() };
    compile_source("fuzz.corral", text, None, &options)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if compile(text).has_errors() {
        return;
    }
    let Some(once) = format_source(text) else {
        panic!("compiles without errors but does not format:\n{text}");
    };
    let Some(twice) = format_source(&once) else {
        panic!("formatted output does not format again:\n{once}");
    };
    assert_eq!(once, twice, "formatting is not idempotent; input:\n{text}");
    let again = compile(&once);
    assert!(!again.has_errors(), "formatted output has errors: {:?}\n{once}", again.diagnostics.first());
});
