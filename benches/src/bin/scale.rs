//! Scale: memory per pending call and a million calls in flight (work in progress).

fn main() {}
