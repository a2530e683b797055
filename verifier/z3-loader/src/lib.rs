//! Loads the Z3 solver library the first time a `Z3_*` function is called,
//! instead of when the process starts.
//!
//! Mapping and relocating libz3 and libstdc++ costs about a millisecond at
//! every start, and most commands never solve anything: `corral run
//! --ruleset` (whose start-up is benchmarked against bwrap), `fmt`,
//! `eval`, `sid`, the language server until it checks. On
//! `x86_64-unknown-linux-gnu`, the workspace's `.cargo/config.toml`
//! overrides the `z3` link of `z3-sys`, so the binary does not list libz3
//! as needed, and this crate's build script links in, instead, one
//! trampoline per `Z3_*` function of the system libz3 (`trampolines.S`,
//! generated) and a resolver (`loader.c`). The first call to any of them
//! `dlopen`s libz3 by its soname, fills every trampoline's slot with
//! `dlsym`, and continues into the real function; later calls cost one
//! indirect jump. When libz3 cannot be loaded, the process prints why and
//! exits with code 2 (an environment error) at the first solver call.
//!
//! On every other target this crate is empty and z3-sys links libz3 as
//! usual. The crate has no Rust API: depending on it (see
//! `corral-verifier`'s `extern crate`) is what links the trampolines in.
//! See `docs/verifier.md` ("Loading z3").
#![no_std]
