//! Sets of the standard library as IR values, for checks that refer to them
//! whether or not the policy imports them (the built-in safety checks).

use crate::ir::{HostSet, PathSet};
use crate::{Options, compile_source};

/// `std.MODULE.NAME` as a path set, with `~` bound to `home`.
pub fn std_paths(module: &str, name: &str, home: &str) -> Option<PathSet> {
    let probe = compile_probe(module, &format!("allow read {module}.{name}"), home)?;
    probe.files.first().map(|r| r.paths.clone())
}

/// `std.MODULE.NAME` as a host set.
pub fn std_hosts(module: &str, name: &str, home: &str) -> Option<HostSet> {
    let probe = compile_probe(module, &format!("allow bind * from {module}.{name}"), home)?;
    probe.binds.first().and_then(|r| r.from.clone())
}

/// Compiles a one-rule policy through the ordinary pipeline, so the sets
/// are exactly what an importing policy would see.
fn compile_probe(module: &str, rule: &str, home: &str) -> Option<crate::ir::Policy> {
    let source = format!("import std.{module}\npolicy probe {{\n    {rule}\n}}\n");
    let options = Options { home: home.to_owned(), ..Options::default() };
    let compiled = compile_source("<std probe>", &source, None, &options);
    if compiled.has_errors() {
        return None;
    }
    compiled.program.policies.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_sets_are_available_with_home_bound() {
        let secrets = std_paths("secrets", "all", "/home/u");
        assert!(secrets.is_some_and(|s| s.atoms().iter().any(|p| p.to_string().starts_with("/home/u/.ssh"))));
        assert!(std_paths("secrets", "no_such_set", "/home/u").is_none());
        assert!(std_hosts("net", "github", "/home/u").is_some());
    }
}
