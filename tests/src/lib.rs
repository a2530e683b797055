//! See `tests/` for the integration suite.
