//! The standard library: `import std.NAME` resolves to `std/NAME.corral`,
//! embedded here at build time.

/// Every standard module as `(name, source)`, sorted by name.
pub const MODULES: &[(&str, &str)] = &[
    ("net", include_str!("../std/net.corral")),
    ("persistence", include_str!("../std/persistence.corral")),
    ("secrets", include_str!("../std/secrets.corral")),
    ("toolchains", include_str!("../std/toolchains.corral")),
];

/// The source of `std.NAME`, if there is such a module.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

/// The names of every standard module.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(n, _)| *n)
}
