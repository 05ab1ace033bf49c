//! TCP semantics: sequence numbers, the eleven states, the state machine and one endpoint.

pub mod endpoint;
pub mod machine;
pub mod seq;
pub mod state;
