//! Times the two negative samplers at a large evaluation split.
//!
//! `cargo run --release -p splits --example neg_bench [n] [candidate_n] [reps]`
//! (defaults 10000, 10, 3). Prints the best of `reps` wall-clock times for
//! drawing every query's negatives of one split (no I/O): `reference` draws a
//! full numpy `permutation(n − 1)` per query (O(n²)), `fast` draws
//! `candidate_n − 1` indices per query with Floyd's algorithm (O(n·k)).

use std::time::Instant;

use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;
use splits::negatives;
use splits::numpy_rng::RandomState;

fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.expect("reps >= 1"))
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numeric argument")).collect();
    let n = args.first().copied().unwrap_or(10_000);
    let k = args.get(1).copied().unwrap_or(10);
    let reps = args.get(2).copied().unwrap_or(3).max(1);
    let (t_ref, r) = best_of(reps, || {
        negatives::reference(&mut RandomState::new(0).expect("seed in range"), n, k).expect("valid sizes")
    });
    let (t_fast, f) = best_of(reps, || negatives::fast(&mut ChaCha12Rng::seed_from_u64(0), n, k).expect("valid sizes"));
    assert_eq!(r.len(), f.len());
    println!("n = {n}, candidate_n = {k}, best of {reps}");
    println!("reference (numpy-exact, O(n^2)): {:>10.3} ms  ({:.1} us/query)", t_ref * 1e3, t_ref * 1e6 / n as f64);
    println!("fast      (ChaCha12 Floyd, O(nk)): {:>10.3} ms  ({:.3} us/query)", t_fast * 1e3, t_fast * 1e6 / n as f64);
}
