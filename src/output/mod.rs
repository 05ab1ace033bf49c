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

/// `n` and the noun in the number it takes: "1 connection", "24 connections". A capture of one
/// connection is the usual case for a teacher's recording, and "1 connections" reads as a bug.
pub(crate) fn plural(n: impl std::fmt::Display, one: &str, many: &str) -> String {
    let n = n.to_string();
    format!("{n} {}", if n == "1" { one } else { many })
}
