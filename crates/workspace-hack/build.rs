//! Empty: Cargo resolves a package's build dependencies only when it has a
//! build script, and the build dependency on `syn` is this crate's purpose.

fn main() {}
