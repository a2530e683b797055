//! Renderers: one per output format, each a pure function from diagnostics
//! to text. Only the CLI prints what they return.

mod human;
mod json;

pub use human::{HumanStyle, render_human};
pub use json::{JsonDiagnostic, render_json, to_json};
