//! splits' integration tests, one binary (one link, one process, as
//! rust-analyzer keeps them), a module per subject.

mod bad_input;
mod parity;
mod rng_vectors;
