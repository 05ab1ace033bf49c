//! All integration tests, one binary (see Cargo.toml `autotests = false`).

mod check;
mod public_traces;
mod scenarios;
mod support;
mod truth;
