//! `rnats-server` entry point.
fn main() {}
