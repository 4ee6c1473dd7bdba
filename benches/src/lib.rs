//! Benchmarks of tether; the benches live in `benches/`.
