#![allow(clippy::unwrap_used, clippy::print_stdout)]
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).unwrap();
    let mut mode = String::new();
    for kv in &args[2..] {
        let (k, v) = kv.split_once('=').unwrap();
        if k == "mode" { mode = v.to_string(); continue; }
        z3::set_global_param(k, v);
    }
    let shared = z3::Solver::new();
    for i in 0..6 {
        let t = Instant::now();
        let r = match mode.as_str() {
            "push" => { shared.push(); shared.from_string(text.clone()); let r = shared.check(); shared.pop(1); r }
            "tactic" => { let s = z3::Tactic::new("smt").solver(); s.from_string(text.clone()); s.check() }
            _ => { let s = z3::Solver::new(); s.from_string(text.clone()); s.check() }
        };
        if i == 0 || i == 5 { print!("{r:?} {:?}  ", t.elapsed()); }
    }
    println!();
}
