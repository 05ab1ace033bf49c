//! Renderers of the timeline model. Each reads only `crate::timeline` types and the
//! analysis `Report`.

pub mod chart;
pub mod json;
pub mod summary_text;
pub mod text;
pub mod time;
