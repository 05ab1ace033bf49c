//! Renderers of the timeline model. Each reads only `crate::timeline` types and the
//! analysis `Report`.

pub mod chart;
pub mod font;
pub mod html;
pub mod json;
pub mod seqdiag;
pub mod statediag;
pub mod summary_text;
pub mod svg;
pub mod text;
pub mod time;
