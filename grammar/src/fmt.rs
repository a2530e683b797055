//! Canonical formatting (filled in below).
