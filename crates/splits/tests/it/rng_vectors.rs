//! numpy's real outputs (numpy 2.1.2, copied from `shared/vectors/golden/rng/`
//! into `tests/data/`) against [`splits::numpy_rng::RandomState`].

use std::path::Path;

use splits::numpy_rng::RandomState;
use test_support::npy;

/// A little-endian int64 `.npy` file of `tests/data`: (shape, values).
fn read_npy_i64(name: &str) -> (Vec<usize>, Vec<i64>) {
    let a = npy::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name));
    (a.shape.clone(), a.i64s())
}

fn as_usize(v: &[i64]) -> Vec<usize> {
    v.iter().map(|&x| usize::try_from(x).unwrap()).collect()
}

#[test]
fn permutations_of_randomstate0() {
    for n in [10usize, 1622, 11622] {
        let (shape, want) = read_npy_i64(&format!("randomstate0_permutation_{n}.npy"));
        assert_eq!(shape, vec![n]);
        let got = RandomState::new(0).unwrap().permutation(n).unwrap();
        assert_eq!(got, as_usize(&want), "RandomState(0).permutation({n})");
    }
    // The smallest one spelled out, as numpy prints it.
    assert_eq!(RandomState::new(0).unwrap().permutation(10).unwrap(), vec![2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
}

#[test]
fn train_test_split_layout_at_published_size() {
    // sklearn train_test_split(arange(11622), train_size=10000, random_state=0).
    let (_, train) = read_npy_i64("tts_11622_train10000_seed0_train_rows.npy");
    let (_, rest) = read_npy_i64("tts_11622_train10000_seed0_rest_rows.npy");
    assert_eq!((train.len(), rest.len()), (10_000, 1_622));
    let p = RandomState::new(0).unwrap().permutation(11_622).unwrap();
    assert_eq!(p[1_622..], as_usize(&train)[..]);
    assert_eq!(p[..1_622], as_usize(&rest)[..]);
}

#[test]
fn three_successive_choices_share_one_stream() {
    let (shape, want) = read_npy_i64("randomstate123_choice749x9_three_calls.npy");
    assert_eq!(shape, vec![3, 9]);
    let mut rng = RandomState::new(123).unwrap();
    for call in 0..3 {
        let got = rng.choice_without_replacement(749, 9).unwrap();
        assert_eq!(got, as_usize(&want[call * 9..(call + 1) * 9]), "call {call}");
    }
    assert_eq!(as_usize(&want[..9]), vec![138, 511, 427, 161, 307, 447, 391, 272, 697]);
}
