//! All integration tests, one binary (see Cargo.toml `autotests = false`).

mod chart;
mod check;
mod peers;
mod public_traces;
mod scenarios;
mod summary;
mod support;
mod truth;
