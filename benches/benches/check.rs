//! Parse + check (`compile_source`: parse, load the standard modules,
//! resolve, type-check, lower to the IR) of generated policies of 1,000,
//! 10,000 and 100,000 rules; and parsing alone, to split the time.
//! Numbers and targets: `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::Duration;

use corral_benches::{HOME, generate_policy};
use corral_compiler::{Options, compile_source};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn check(c: &mut Criterion) {
    let options = Options { home: HOME.into(), ..Default::default() };
    let mut group = c.benchmark_group("check");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    for rules in SIZES {
        let text = generate_policy(rules);
        group.throughput(Throughput::Elements(rules as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rules), &text, |b, text| {
            b.iter(|| compile_source("fleet.corral", black_box(text), None, &options));
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for rules in SIZES {
        let text = generate_policy(rules);
        group.throughput(Throughput::Elements(rules as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rules), &text, |b, text| {
            b.iter(|| corral_grammar::parse(black_box(text)));
        });
    }
    group.finish();
}

criterion_group!(benches, check, parse);
criterion_main!(benches);
