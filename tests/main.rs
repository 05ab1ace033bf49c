//! All integration tests, one binary (see Cargo.toml `autotests = false`).

mod capture_errors;
mod capture_formats;
mod capture_proptest;
mod capture_public;
mod pcapwriter;
mod public_traces;
mod support;
