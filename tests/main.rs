//! All integration tests, one binary (see Cargo.toml `autotests = false`).

mod public_traces;
mod scenarios;
mod support;
mod truth;
