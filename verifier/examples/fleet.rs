//! Times the verifier on the generated fleet policy of `corral-benches`:
//! `cargo run --release -p corral-verifier --example fleet -- 1000 10000`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use corral_compiler::ir::{AccessSet, FormulaKind, Protos, Right, Rights, Set};
use corral_compiler::{Options, compile_source};
use corral_verifier::{Kind, Literal, Query, Solver};

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    for rules in if sizes.is_empty() { vec![1000] } else { sizes } {
        let text = corral_benches::generate_policy(rules);
        let options = Options { home: corral_benches::HOME.into(), ..Default::default() };
        let t = Instant::now();
        let compiled = compile_source("fleet.corral", &text, None, &options);
        let Some(policy) = compiled.program.policy(corral_benches::POLICY) else {
            eprintln!("no policy");
            return;
        };
        println!("{rules} rules: compiled in {:?}", t.elapsed());
        let sets: Vec<&AccessSet> = policy
            .assertions
            .iter()
            .filter_map(|a| match &a.formula.kind {
                FormulaKind::Access { set, .. } => Some(set),
                _ => None,
            })
            .collect();
        let internet = AccessSet::Connect {
            protos: Protos::BOTH,
            endpoints: Set::Atom(corral_compiler::ir::EndpointAtom {
                hosts: corral_compiler::eval::builtin_host_set("internet").unwrap_or(Set::Empty),
                ports: Set::Atom(corral_compiler::ir::PortRange::ALL),
            }),
        };
        let secrets_read = match sets.first() {
            Some(AccessSet::Files { paths, .. }) => {
                AccessSet::Files { rights: Rights::of(Right::Read), paths: paths.clone() }
            }
            _ => return,
        };
        if let Ok(v) = std::env::var("Z3_STRING_SOLVER") {
            z3::set_global_param("smt.string_solver", &v);
        }
        let solver = Solver::new(10_000);
        let mut queries: Vec<(String, Query<'_>)> = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            let (lit, kind) = match set {
                AccessSet::Files { .. } => (Literal::In(set), Kind::File),
                AccessSet::Connect { .. } => (Literal::NotIn(set), Kind::Connect),
                _ => continue,
            };
            queries.push((
                format!("assert {i}"),
                Query { kind, literals: vec![lit, Literal::Permitted { policy, right: None }] },
            ));
        }
        queries.push((
            "secrets read".into(),
            Query {
                kind: Kind::File,
                literals: vec![Literal::In(&secrets_read), Literal::Permitted { policy, right: None }],
            },
        ));
        queries.push((
            "connect internet".into(),
            Query {
                kind: Kind::Connect,
                literals: vec![Literal::In(&internet), Literal::Permitted { policy, right: None }],
            },
        ));
        queries.push((
            "exec writable".into(),
            Query {
                kind: Kind::File,
                literals: vec![
                    Literal::Permitted { policy, right: Some(Right::Exec) },
                    Literal::Permitted { policy, right: Some(Right::Write) },
                ],
            },
        ));
        queries.push((
            "grants anything".into(),
            Query { kind: Kind::File, literals: vec![Literal::Permitted { policy, right: None }] },
        ));
        // An analysis-style query: is the 20th file allow covered by the
        // other allows?
        let allows: Vec<usize> = (0..policy.files.len())
            .filter(|i| policy.files[*i].effect == corral_compiler::ir::Effect::Allow)
            .collect();
        if let Some(&target) = allows.get(20) {
            let mut literals =
                vec![Literal::Covered { policy, rule: corral_compiler::eval::RuleRef::File(target) }];
            literals.extend(
                allows
                    .iter()
                    .filter(|i| **i != target)
                    .map(|i| Literal::NotCovered { policy, rule: corral_compiler::eval::RuleRef::File(*i) }),
            );
            queries.push(("redundant allow?".into(), Query { kind: Kind::File, literals }));
        }
        if let Some(n) = std::env::var("REPEAT").ok().and_then(|v| v.parse::<usize>().ok()) {
            if let Some((_, q)) = queries.last() {
                let t = Instant::now();
                for _ in 0..n {
                    solver.search(q);
                }
                println!("  last query x{n}: {:?}", t.elapsed());
            }
            continue;
        }
        let total = Instant::now();
        for (name, q) in &queries {
            let t = Instant::now();
            let (outcome, stats) = solver.search_with_stats(q);
            println!(
                "  {name:20} {:>10.1?}  atoms {:>5} dropped {:>5} states {:>6} skel {}  {outcome:?}",
                t.elapsed(),
                stats.atoms,
                stats.dropped,
                stats.states,
                stats.skeleton_unsat
            );
        }
        println!("  total {:?}", total.elapsed());
    }
}
