//! Renderers: one per output format, each a pure function from diagnostics
//! to text. Only the CLI prints what they return.

mod github;
mod human;
mod json;
mod sarif;

pub use github::render_github;
pub use human::{HumanStyle, render_human};
pub use json::{JsonDiagnostic, render_json, to_json};
pub use sarif::{SarifTool, render_sarif};
