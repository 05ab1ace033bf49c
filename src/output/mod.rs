//! Renderers of the timeline model. Each reads only `crate::timeline` types and the
//! analysis `Report`.

pub mod font;
pub mod json;
pub mod seqdiag;
pub mod statediag;
pub mod svg;
pub mod text;
pub mod time;
