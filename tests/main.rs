//! All integration tests, one binary (see Cargo.toml `autotests = false`).

mod chart;
mod peers;
mod public_traces;
mod summary;
mod support;
