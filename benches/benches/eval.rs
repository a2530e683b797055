//! One `Evaluator::decide` on the generated 10,000-rule policy, for hits
//! deep in the tree, misses and accesses a deny overrides. The policy is
//! compiled and the evaluator (with its indexes) built once, outside the
//! timing loop; `decide_by_scan` on the same accesses shows what the index
//! saves. Numbers and targets: `docs/benchmarks.md`.

#![allow(clippy::expect_used)] // set-up failures end a benchmark run; there is nothing to recover

use std::hint::black_box;
use std::time::Duration;

use corral_benches::{HOME, POLICY, generate_policy, sample_accesses};
use corral_compiler::eval::{Access, Evaluator, decide_by_scan};
use corral_compiler::{Options, compile_source};
use criterion::{Criterion, criterion_group, criterion_main};

const RULES: usize = 10_000;

fn decide(c: &mut Criterion) {
    let text = generate_policy(RULES);
    let options = Options { home: HOME.into(), ..Default::default() };
    let compiled = compile_source("fleet.corral", &text, None, &options);
    assert!(!compiled.has_errors(), "the generated policy does not compile");
    let policy = compiled.program.policy(POLICY).expect("the generated policy is there");
    let evaluator = Evaluator::new(policy);
    let accesses: Vec<(&str, Access, bool)> = sample_accesses(RULES)
        .into_iter()
        .map(|(name, text, expected)| {
            (name, Access::parse(&text, HOME).expect("a sample access parses"), expected)
        })
        .collect();
    for (name, access, expected) in &accesses {
        assert_eq!(evaluator.decide(access).permitted, *expected, "{name}");
    }

    let mut group = c.benchmark_group("decide");
    group.sample_size(50).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for (name, access, _) in &accesses {
        group.bench_function(*name, |b| b.iter(|| evaluator.decide(black_box(access))));
    }
    group.finish();

    let mut group = c.benchmark_group("decide_by_scan");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for (name, access, _) in
        accesses.iter().filter(|(n, ..)| ["hit_deep_literal", "miss_connect"].contains(n))
    {
        group.bench_function(*name, |b| b.iter(|| decide_by_scan(policy, black_box(access))));
    }
    group.finish();

    let mut group = c.benchmark_group("evaluator_new");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.bench_function("10000", |b| b.iter(|| Evaluator::new(black_box(policy))));
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
