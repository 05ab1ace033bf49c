//! All integration tests, one binary (see Cargo.toml `autotests = false`).

mod alloc;
mod capture_errors;
mod capture_formats;
mod capture_proptest;
mod capture_public;
mod chart;
mod check;
mod crafted;
mod diagrams;
mod json_writer;
mod pcapwriter;
mod peers;
mod public_traces;
mod report;
mod scenarios;
mod shards;
mod summary;
mod support;
mod truth;
