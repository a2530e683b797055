//! Policies and inheritance: the `extends` graph (petgraph), its cycles, and
//! merging every ancestor's rules, settings and assertions into each policy.

use std::collections::{BTreeSet, HashMap};

use corral_grammar::ast::{self, ItemKind, QualName};
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::expr::{Binding, Ctx, Resolved, Scope};
use super::load::LoadedModule;
use super::policy::{OwnPolicy, header_span, lower_policy};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Policy, Setting};
use crate::source::SourceSpan;

type Key = (usize, usize);

struct Node {
    key: Key,
    name: String,
    parents: Vec<Key>,
    within: Option<Key>,
    own: OwnPolicy,
}

pub(crate) fn lower_policies(
    modules: &mut [LoadedModule],
    scopes: &[Scope],
    values: &[HashMap<String, Binding>],
    env: super::Env<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Policy> {
    // Policy bodies are lowered statement by statement and dropped as they
    // go, so the syntax tree and the IR of a large policy are not both held.
    let mut bodies: HashMap<Key, Vec<ast::Stmt>> = HashMap::new();
    for (m, module) in modules.iter_mut().enumerate() {
        for (i, item) in module.ast.items.iter_mut().enumerate() {
            if let ItemKind::Policy(p) = &mut item.kind {
                bodies.insert((m, i), std::mem::take(&mut p.body));
            }
        }
    }
    let modules: &[LoadedModule] = modules;
    let prefixes = module_prefixes(modules);
    let ast_of = |(m, i): Key| -> Option<&ast::Policy> {
        match &modules.get(m)?.ast.items.get(i)?.kind {
            ItemKind::Policy(p) => Some(p),
            _ => None,
        }
    };
    // Root policies that own their name, then everything they reach.
    let mut work: Vec<Key> = scopes
        .first()
        .map(|s| {
            s.defs
                .values()
                .filter_map(|(d, _)| match d {
                    super::expr::Def::Policy(i) => Some((0, *i)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    work.sort_unstable();
    let roots: Vec<Key> = work.clone();
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut within_targets: Vec<Key> = Vec::new();
    while let Some(key) = work.pop() {
        if index.contains_key(&key) {
            continue;
        }
        let Some(p) = ast_of(key) else { continue };
        let file = modules[key.0].file;
        let mut ctx =
            Ctx { modules, scopes, values, module: key.0, file, home: env.home, budget: env.budget, diags };
        let parents: Vec<Key> =
            p.extends.iter().filter_map(|q| resolve_policy(&mut ctx, q, "extends")).collect();
        let within = p.within.as_ref().and_then(|q| resolve_policy(&mut ctx, q, "within"));
        let name = format!("{}{}", prefixes[key.0], p.name.name);
        let own = lower_policy(&mut ctx, &name, bodies.remove(&key).unwrap_or_default());
        work.extend(parents.iter().copied());
        if let Some(w) = within {
            work.push(w);
            within_targets.push(w);
        }
        index.insert(key, nodes.len());
        nodes.push(Node { key, name, parents, within, own });
    }
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let gi: Vec<NodeIndex> = (0..nodes.len()).map(|n| graph.add_node(n)).collect();
    for (n, node) in nodes.iter().enumerate() {
        for p in &node.parents {
            if let Some(&pn) = index.get(p) {
                graph.add_edge(gi[n], gi[pn], ());
            }
        }
    }
    for scc in tarjan_scc(&graph) {
        let mut members: Vec<usize> = scc.iter().map(|x| graph[*x]).collect();
        let self_loop = members.len() == 1 && nodes[members[0]].parents.contains(&nodes[members[0]].key);
        if members.len() < 2 && !self_loop {
            continue;
        }
        members.sort_by_key(|m| nodes[*m].key);
        let start = members[0];
        let path = super::shortest_cycle(start, &members, |m| {
            nodes[m].parents.iter().filter_map(|p| index.get(p).copied()).collect()
        });
        let mut d = if self_loop {
            Diagnostic::error(Code::ExtendsCycle, format!("policy `{}` extends itself", nodes[start].name))
        } else {
            let names: Vec<String> =
                path.iter().chain(std::iter::once(&start)).map(|m| format!("`{}`", nodes[*m].name)).collect();
            Diagnostic::error(
                Code::ExtendsCycle,
                format!("policies extend each other: {}", names.join(" → ")),
            )
        };
        for (k, &m) in path.iter().enumerate() {
            let (module, item) = nodes[m].key;
            if let Some(p) = ast_of(nodes[m].key) {
                let at = SourceSpan::new(
                    modules[module].file,
                    header_span(modules[module].ast.items[item].span, p),
                );
                let next = path.get(k + 1).copied().unwrap_or(start);
                let label = format!("extends `{}`", nodes[next].name);
                d = if k == 0 { d.primary(at, label) } else { d.secondary(at, label) };
            }
        }
        diags.push(d.help("a policy cannot inherit from itself; remove one `extends`"));
        let member_keys: Vec<Key> = members.iter().map(|m| nodes[*m].key).collect();
        for &m in &members {
            nodes[m].parents.retain(|p| !member_keys.contains(p));
        }
    }
    graph.retain_edges(|g, e| {
        g.edge_endpoints(e).is_none_or(|(a, b)| nodes[g[a]].parents.contains(&nodes[g[b]].key))
    });
    let order: Vec<usize> = match toposort(&graph, None) {
        Ok(o) => o.into_iter().rev().map(|x| graph[x]).collect(),
        Err(_) => (0..nodes.len()).collect(),
    };
    // A policy no other policy extends gives its own rules away instead of
    // copying them.
    let mut extended = vec![false; nodes.len()];
    for node in &nodes {
        for p in &node.parents {
            if let Some(&pn) = index.get(p) {
                extended[pn] = true;
            }
        }
    }
    let mut merged: HashMap<usize, (Policy, Vec<usize>)> = HashMap::new();
    for n in order {
        let own = if extended[n] { nodes[n].own.clone() } else { std::mem::take(&mut nodes[n].own) };
        let policy = merge(n, own, &nodes, &index, &merged, modules, &ast_of, diags);
        merged.insert(n, policy);
    }
    let mut out: Vec<Policy> = Vec::new();
    let mut wanted: BTreeSet<Key> = roots.into_iter().collect();
    wanted.extend(within_targets);
    for key in wanted {
        if let Some((p, _)) = index.get(&key).and_then(|n| merged.remove(n)) {
            out.push(p);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// How policies of each module are named: root policies by their name,
/// others as `alias.name` with the alias of their first import.
fn module_prefixes(modules: &[LoadedModule]) -> Vec<String> {
    let mut prefixes: Vec<Option<String>> = vec![None; modules.len()];
    prefixes[0] = Some(String::new());
    for m in modules {
        for edge in &m.imports {
            if let Some(t) = edge.target
                && prefixes[t].is_none()
                && !edge.alias.is_empty()
            {
                prefixes[t] = Some(format!("{}.", edge.alias));
            }
        }
    }
    prefixes.into_iter().enumerate().map(|(i, p)| p.unwrap_or_else(|| format!("module{i}."))).collect()
}

fn resolve_policy(ctx: &mut Ctx<'_>, q: &QualName, what: &str) -> Option<Key> {
    match ctx.lookup(q) {
        Ok(Resolved::Policy { module, item }) => Some((module, item)),
        Ok(Resolved::Poisoned(_)) => None,
        Ok(_) => {
            ctx.diags.push(
                Diagnostic::error(Code::NotAPolicy, format!("`{}` is not a policy", q.dotted()))
                    .primary(ctx.at(q.span), format!("`{what}` needs a policy"))
                    .help(format!("`{what}` names a policy: `policy child {what} base {{ … }}`")),
            );
            None
        }
        Err(failure) => {
            let d = ctx.lookup_diagnostic(q, failure);
            ctx.diags.push(d);
            None
        }
    }
}

/// One policy with its ancestors' rules merged in; also returns its
/// ancestors, nearest first.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
fn merge<'m>(
    n: usize,
    own: OwnPolicy,
    nodes: &[Node],
    index: &HashMap<Key, usize>,
    merged: &HashMap<usize, (Policy, Vec<usize>)>,
    modules: &'m [LoadedModule],
    ast_of: &dyn Fn(Key) -> Option<&'m ast::Policy>,
    diags: &mut Vec<Diagnostic>,
) -> (Policy, Vec<usize>) {
    let node = &nodes[n];
    let (module, item) = node.key;
    let item_ast = &modules[module].ast.items[item];
    let header = ast_of(node.key).map_or(item_ast.span, |p| header_span(item_ast.span, p));
    let span = SourceSpan::new(modules[module].file, header);
    let mut ancestors: Vec<usize> = Vec::new();
    for p in &node.parents {
        let Some(&pn) = index.get(p) else { continue };
        for a in std::iter::once(pn).chain(merged.get(&pn).map(|(_, anc)| anc.clone()).unwrap_or_default()) {
            if !ancestors.contains(&a) {
                ancestors.push(a);
            }
        }
    }
    let mut policy = Policy {
        docs: item_ast.docs.clone(),
        extends: ancestors.iter().map(|a| nodes[*a].name.clone()).collect(),
        within: node.within.and_then(|w| index.get(&w)).map(|w| nodes[*w].name.clone()),
        ..Policy::new(node.name.clone(), span)
    };
    // Farthest ancestors first, then the policy's own rules.
    for &a in ancestors.iter().rev() {
        let inherited = &nodes[a].own;
        policy.files.extend(inherited.files.iter().cloned());
        policy.connects.extend(inherited.connects.iter().cloned());
        policy.binds.extend(inherited.binds.iter().cloned());
        policy.devices.extend(inherited.devices.iter().cloned());
        policy.assertions.extend(inherited.assertions.iter().cloned());
        add_opt_outs(&mut policy, &inherited.unsafe_allowed);
    }
    add_opt_outs(&mut policy, &own.unsafe_allowed);
    // Isolation: the strongest inherited tier; a child may only raise it.
    let parent_tier =
        ancestors.iter().filter_map(|a| nodes[*a].own.isolation.as_ref()).max_by_key(|s| s.value);
    policy.isolation = match (&own.isolation, parent_tier) {
        (Some(mine), Some(theirs)) if mine.value < theirs.value => {
            diags.push(
                Diagnostic::error(
                    Code::WeakenedSetting,
                    format!(
                        "`isolation {}` is below the inherited `isolation {}`",
                        mine.value.keyword(),
                        theirs.value.keyword()
                    ),
                )
                .primary(mine.origin.span, "lowers the isolation tier")
                .secondary(theirs.origin.span, format!("inherited from `{}`", theirs.origin.policy))
                .help("a child policy may raise the isolation tier, never lower it"),
            );
            Some(theirs.clone())
        }
        (Some(mine), _) => Some(mine.clone()),
        (None, theirs) => theirs.cloned(),
    };
    // Timeout: the shortest inherited; a child may only shorten it.
    let parent_timeout =
        ancestors.iter().filter_map(|a| nodes[*a].own.timeout.as_ref()).min_by_key(|s| s.value);
    policy.timeout = match (&own.timeout, parent_timeout) {
        (Some(mine), Some(theirs)) if mine.value > theirs.value => {
            diags.push(
                Diagnostic::error(Code::WeakenedSetting, "`timeout` is longer than the inherited one")
                    .primary(mine.origin.span, "lengthens the timeout")
                    .secondary(theirs.origin.span, format!("inherited from `{}`", theirs.origin.policy))
                    .help("a child policy may shorten the timeout, never lengthen it"),
            );
            Some(theirs.clone())
        }
        (Some(mine), _) => Some(mine.clone()),
        (None, theirs) => theirs.cloned(),
    };
    policy.identity = own.identity.clone().or_else(|| {
        single_inherited(
            ancestors.iter().filter_map(|a| nodes[*a].own.identity.as_ref()),
            "identity",
            span,
            diags,
        )
    });
    policy.proxy = own.proxy.clone().or_else(|| {
        single_inherited(ancestors.iter().filter_map(|a| nodes[*a].own.proxy.as_ref()), "proxy", span, diags)
    });
    // Then the policy's own rules, moved rather than copied.
    policy.files.extend(own.files);
    policy.connects.extend(own.connects);
    policy.binds.extend(own.binds);
    policy.devices.extend(own.devices);
    policy.assertions.extend(own.assertions);
    (policy, ancestors)
}

/// The nearest declaration of an opt-out wins: a child may restate the
/// reason.
fn add_opt_outs(policy: &mut Policy, opt_outs: &[crate::ir::UnsafeOptOut]) {
    for o in opt_outs {
        policy.unsafe_allowed.retain(|p| p.check != o.check);
        policy.unsafe_allowed.push(o.clone());
    }
}

/// The one value ancestors agree on; two different ones are a conflict the
/// child must settle by declaring its own.
fn single_inherited<'a, T: Clone + PartialEq + 'a>(
    mut found: impl Iterator<Item = &'a Setting<T>>,
    what: &str,
    span: SourceSpan,
    diags: &mut Vec<Diagnostic>,
) -> Option<Setting<T>> {
    let first = found.next()?;
    if let Some(other) = found.find(|s| s.value != first.value) {
        diags.push(
            Diagnostic::error(Code::WeakenedSetting, format!("conflicting inherited `{what}`"))
                .primary(span, format!("inherits two different `{what}` settings"))
                .secondary(first.origin.span, format!("from `{}`", first.origin.policy))
                .secondary(other.origin.span, format!("from `{}`", other.origin.policy))
                .help(format!("declare the `{what}` of this policy explicitly")),
        );
    }
    Some(first.clone())
}
