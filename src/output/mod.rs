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

/// What a user who asked for connection `ids` is told when the capture lacks them: how many
/// it has and which ids exist (they run from 0, as Wireshark's `tcp.stream` does).
pub fn no_connection(ids: impl std::fmt::Display, count: u64) -> String {
    let has = match count {
        0 => "no connections".to_string(),
        1 => "1 connection (id 0)".to_string(),
        n => format!("{n} connections (ids 0–{})", n - 1),
    };
    format!("no connection {ids}: the capture has {has}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_connection_is_told_what_the_capture_has() {
        assert_eq!(no_connection(3, 0), "no connection 3: the capture has no connections");
        assert_eq!(no_connection(3, 1), "no connection 3: the capture has 1 connection (id 0)");
        assert_eq!(no_connection("7, 9", 24), "no connection 7, 9: the capture has 24 connections (ids 0–23)");
    }

    #[test]
    fn one_takes_the_singular() {
        assert_eq!([plural(1, "frame", "frames"), plural(0, "frame", "frames")], ["1 frame", "0 frames"]);
    }
}
