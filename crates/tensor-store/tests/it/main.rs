//! tensor-store's integration tests, one binary (one link, one process, as
//! rust-analyzer keeps them), a module per subject. `reader` installs the
//! binary's global allocator, which records per thread the largest
//! allocation; the other modules only pay for the bookkeeping.

mod formats;
mod reader;
