//! The parser on arbitrary UTF-8: it must return (a tree and errors) and
//! never panic, overflow its stack or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = corral_grammar::parse(text);
    for e in &parsed.errors {
        assert!(
            e.span.start <= e.span.end && e.span.end as usize <= text.len(),
            "error span out of the input: {e:?}"
        );
    }
});
