//! Shared helpers for the livetemplate benchmarks.
