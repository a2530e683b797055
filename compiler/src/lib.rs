//! The Corral compiler: diagnostics, module loading and name resolution,
//! type checking, lowering to the IR, and the concrete evaluator.

pub mod diagnostics;
pub mod eval;
pub mod ir;
pub mod resolve;
pub mod source;
pub mod stdlib;

pub use resolve::{Compilation, Input, Options, compile_file, compile_source, compile_string};
