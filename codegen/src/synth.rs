//! Synthetic specs for benchmarks (filled in later).
