//! The eleven connection states of RFC 9293 §3.3.2, spelled two ways.

use std::fmt;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Closed,
    Listen,
    SynSent,
    SynRcvd,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// Which spelling the user asked for: RFC 9293's (with underscores) or the names Linux
/// prints in `netstat`/`ss` and the `inet_sock_set_state` tracepoint.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Names {
    #[default]
    Rfc,
    Linux,
}

impl State {
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynRcvd,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    pub fn rfc_name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN_SENT",
            State::SynRcvd => "SYN_RCVD",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN_WAIT_1",
            State::FinWait2 => "FIN_WAIT_2",
            State::CloseWait => "CLOSE_WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST_ACK",
            State::TimeWait => "TIME_WAIT",
        }
    }

    /// The spelling of Linux's `tcp_state_names` (include/net/tcp_states.h, as shown by the
    /// `sock:inet_sock_set_state` tracepoint and `netstat`).
    pub fn linux_name(self) -> &'static str {
        match self {
            State::Closed => "CLOSE",
            State::Listen => "LISTEN",
            State::SynSent => "SYN_SENT",
            State::SynRcvd => "SYN_RECV",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN_WAIT1",
            State::FinWait2 => "FIN_WAIT2",
            State::CloseWait => "CLOSE_WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST_ACK",
            State::TimeWait => "TIME_WAIT",
        }
    }

    pub fn name(self, names: Names) -> &'static str {
        match names {
            Names::Rfc => self.rfc_name(),
            Names::Linux => self.linux_name(),
        }
    }

    /// Parses either spelling (and RFC 793's hyphenated one).
    pub fn parse(s: &str) -> Option<State> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        State::ALL.into_iter().find(|st| {
            st.rfc_name() == norm || st.linux_name() == norm || st.rfc_name().replace('_', "") == norm.replace('_', "")
        })
    }

    /// States in which the endpoint has a synchronized connection (RFC 9293 §3.3.2): both
    /// ISNs are known and a RST must carry an in-window sequence number.
    pub fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent | State::SynRcvd)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc_name())
    }
}

impl serde::Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.rfc_name())
    }
}

impl<'de> serde::Deserialize<'de> for State {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        State::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown TCP state {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_parses_from_both_spellings() {
        for st in State::ALL {
            assert_eq!(State::parse(st.rfc_name()), Some(st));
            assert_eq!(State::parse(st.linux_name()), Some(st));
        }
        assert_eq!(State::parse("fin-wait-1"), Some(State::FinWait1));
        assert_eq!(State::parse("SYN-RECEIVED"), None);
    }
}
