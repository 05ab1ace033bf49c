//! All integration tests, one binary (see Cargo.toml `autotests = false`).

mod diagrams;
mod public_traces;
mod support;
