//! The words of the diagrams in English and Chinese. State names stay in the RFC or Linux
//! spelling (what `ss` prints and textbooks quote); Chinese adds the usual textbook term.

use crate::tcp::state::{Names, State};
use crate::timeline::{Ending, Role};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The label of a state: its name, and for Chinese the textbook term above it.
    pub fn state_lines(self, state: State, names: Names) -> Vec<String> {
        let name = state.name(names).to_string();
        match self {
            Lang::En => vec![name],
            Lang::Zh => vec![zh_state(state).to_string(), name],
        }
    }

    pub fn role(self, role: Role) -> &'static str {
        match (self, role) {
            (Lang::En, Role::Client) => "client",
            (Lang::En, Role::Server) => "server",
            (Lang::Zh, Role::Client) => "客户端",
            (Lang::Zh, Role::Server) => "服务器",
        }
    }

    pub fn connection(self, id: u64) -> String {
        match self {
            Lang::En => format!("TCP connection {id}"),
            Lang::Zh => format!("TCP 连接 {id}"),
        }
    }

    /// How the connection ended, for the title.
    pub fn ending(self, ending: &Ending, names: Names) -> String {
        match self {
            Lang::En => match ending {
                Ending::Reset { by, state } => format!("reset by {by} in {}", state.name(names)),
                other => other.to_string(),
            },
            Lang::Zh => match ending {
                Ending::ClosedByClientFirst => "客户端先关闭".to_string(),
                Ending::ClosedByServerFirst => "服务器先关闭".to_string(),
                Ending::SimultaneousClose => "双方同时关闭".to_string(),
                Ending::Reset { by, state } => {
                    format!("{}在 {} 状态复位", self.role(*by), state.name(names))
                }
                Ending::Refused => "连接被拒绝".to_string(),
                Ending::UnansweredSyn => "SYN 无应答".to_string(),
                Ending::HalfClosed { by } => format!("{}半关闭", self.role(*by)),
                Ending::StillOpen => "抓包结束时仍未关闭".to_string(),
                Ending::HandshakeIncomplete => "握手未完成".to_string(),
            },
        }
    }

    pub fn retransmission(self) -> &'static str {
        match self {
            Lang::En => "(retransmission)",
            Lang::Zh => "（重传）",
        }
    }

    pub fn not_captured(self) -> &'static str {
        match self {
            Lang::En => "(not captured)",
            Lang::Zh => "（未捕获）",
        }
    }

    pub fn inferred(self) -> &'static str {
        match self {
            Lang::En => "inferred",
            Lang::Zh => "推断",
        }
    }

    /// The folded data transfer: "… 1,234 segments, 1.2 MB in 3.4 s …".
    pub fn fold(self, segments: usize, bytes: u64, secs: f64) -> String {
        let n = thousands(segments as u64);
        let b = human_bytes(bytes);
        let t = human_secs(secs);
        match self {
            Lang::En => {
                let s = if segments == 1 { "segment" } else { "segments" };
                format!("… {n} {s}, {b} in {t} …")
            }
            Lang::Zh => format!("… {n} 个报文段，{b}，历时 {t} …"),
        }
    }

    pub fn time_wait_bracket(self, secs: f64) -> String {
        match self {
            Lang::En => format!("2·MSL = {}", human_secs(secs)),
            Lang::Zh => format!("2·MSL = {}", human_secs(secs)),
        }
    }

    /// The legend line about arrow slant.
    pub fn transit(self, basis: Option<(f64, f64, bool)>) -> String {
        match (self, basis) {
            (Lang::En, Some((dc, ds, hs))) => format!(
                "Arrows slant by estimated one-way delays (client ↔ capture point {}, capture point ↔ server {}), {}.",
                human_secs(dc),
                human_secs(ds),
                if hs { "from the handshake round trips" } else { "from the opening exchange" }
            ),
            (Lang::Zh, Some((dc, ds, hs))) => format!(
                "箭头斜度为估计的单向时延（客户端 ↔ 抓包点 {}，抓包点 ↔ 服务器 {}），{}。",
                human_secs(dc),
                human_secs(ds),
                if hs { "由握手往返时间估计" } else { "由建立连接时的交互估计" }
            ),
            (Lang::En, None) => {
                "One-way delays unknown (no handshake to estimate them from): arrows slant by a nominal amount."
                    .to_string()
            }
            (Lang::Zh, None) => "单向时延未知（无握手可用于估计），箭头斜度仅为示意。".to_string(),
        }
    }

    pub fn legend_kinds(self) -> [&'static str; 4] {
        match self {
            Lang::En => ["retransmission", "RST", "not captured, inferred", "state (beside its lifeline)"],
            Lang::Zh => ["重传", "复位 RST", "未捕获（推断）", "状态（写在生命线旁）"],
        }
    }

    pub fn uniform_note(self) -> &'static str {
        match self {
            Lang::En => "Uniform spacing: vertical distance shows order, not duration.",
            Lang::Zh => "等间距：纵向距离表示先后顺序，不表示时长。",
        }
    }

    pub fn time_note(self) -> &'static str {
        match self {
            Lang::En => "Time scale: vertical distance is proportional to time.",
            Lang::Zh => "时间刻度：纵向距离与时间成正比。",
        }
    }

    pub fn omitted(self, frames: &str) -> String {
        match self {
            Lang::En => {
                format!("Labels omitted where arrows are too close in time: frames {frames}.")
            }
            Lang::Zh => format!("箭头间隔过近，省略了标签：帧 {frames}。"),
        }
    }
}

/// The terms of the common Chinese textbooks.
fn zh_state(state: State) -> &'static str {
    match state {
        State::Closed => "关闭",
        State::Listen => "监听",
        State::SynSent => "同步已发送",
        State::SynRcvd => "同步收到",
        State::Established => "已建立连接",
        State::FinWait1 => "终止等待 1",
        State::FinWait2 => "终止等待 2",
        State::CloseWait => "关闭等待",
        State::Closing => "同时关闭",
        State::LastAck => "最后确认",
        State::TimeWait => "时间等待",
    }
}

/// `1,234,567`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `512 B`, `1.2 kB`, `3.4 MB` (decimal units, as transfer sizes are usually quoted).
pub fn human_bytes(b: u64) -> String {
    let v = b as f64;
    if b < 1000 {
        format!("{b} B")
    } else if v < 1e6 {
        format!("{:.1} kB", v / 1e3)
    } else if v < 1e9 {
        format!("{:.1} MB", v / 1e6)
    } else {
        format!("{:.1} GB", v / 1e9)
    }
}

/// `250 µs`, `12.3 ms`, `3.4 s`
pub fn human_secs(s: f64) -> String {
    let micros = (s * 1e6).round();
    if micros < 1.0 {
        "< 1 µs".to_string()
    } else if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_the_issue() {
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(Lang::En.fold(1234, 1_200_000, 3.4), "… 1,234 segments, 1.2 MB in 3.4 s …");
        assert_eq!(human_secs(0.000_25), "250 µs");
        assert_eq!(human_secs(0.000_000_4), "< 1 µs");
        assert_eq!(human_secs(60.0), "60 s");
    }
}
