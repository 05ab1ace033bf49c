//! Vertical placement: where each drawn arrow departs and arrives, block by block.
//!
//! Uniform scale: instants (departures and arrivals) are taken in time order and put on
//! levels; an instant shares the current level unless its lifeline already has one there,
//! except that a departure may leave from the level where the segment it answers arrived (the
//! textbook "V"). Arrows that overlap in flight therefore slant over several levels, and
//! crossing segments (simultaneous open or close) cross. Time scale: distance proportional to
//! the estimated times, with one scale for all blocks.

use std::ops::Range;

use super::layout::{BODY_TOP, FOLD_H, LEVEL};
use super::model::{Arrow, Block};
use super::Scale;
use crate::timeline::{Cause, Connection, Role};

/// The vertical plan: each arrow's (departure y, arrival y) if drawn, the folded gaps (top y
/// and the arrows they hide), and the bottom of the last block.
pub(super) struct Plan {
    pub ys: Vec<Option<(f64, f64)>>,
    pub folds: Vec<(f64, Range<usize>)>,
    pub bottom: f64,
}

/// Shortest arrow drawn on the time scale, so that every arrow shows its direction.
const MIN_SLANT: f64 = 14.0;

pub(super) fn plan(conn: &Connection, arrows: &[Arrow], blocks: &[Block], scale: Scale) -> Plan {
    let mut ys: Vec<Option<(f64, f64)>> = vec![None; arrows.len()];
    let mut folds = Vec::new();
    let pps = pixels_per_second(arrows, blocks);
    let mut y = BODY_TOP;
    for block in blocks {
        match block {
            Block::Shown(r) => {
                let shown = &arrows[r.clone()];
                let placed: Vec<(f64, f64)> = match scale {
                    Scale::Uniform => uniform_levels(shown, &state_changes(conn, shown))
                        .into_iter()
                        .map(|(s, a)| (y + s as f64 * LEVEL, y + a as f64 * LEVEL))
                        .collect(),
                    Scale::Time => {
                        let t0 = shown.iter().map(|a| a.send).fold(f64::MAX, f64::min);
                        shown
                            .iter()
                            .map(|a| {
                                let s = y + (a.send - t0) * pps;
                                (s, (y + (a.arrive - t0) * pps).max(s + MIN_SLANT))
                            })
                            .collect()
                    }
                };
                let bottom = placed.iter().map(|p| p.1).fold(y, f64::max);
                for (i, p) in r.clone().zip(placed) {
                    ys[i] = Some(p);
                }
                y = bottom + LEVEL * 0.6;
            }
            Block::Folded(r) => {
                folds.push((y, r.clone()));
                y += FOLD_H + LEVEL * 0.6;
            }
        }
    }
    Plan { ys, folds, bottom: y - LEVEL * 0.6 }
}

/// For each arrow: whether its departure changes its sender's state, and whether its arrival
/// changes its receiver's.
fn state_changes(conn: &Connection, arrows: &[Arrow]) -> Vec<(bool, bool)> {
    let changes = |role: Role, frame, sent: bool| {
        conn.endpoints.get(role).timeline.iter().any(|t| {
            t.frame == Some(frame)
                && match t.cause {
                    Cause::Sent(_) => sent,
                    Cause::Received(_) => !sent,
                    _ => false,
                }
        })
    };
    arrows.iter().map(|a| (changes(a.from, a.frame, true), changes(a.from.peer(), a.frame, false))).collect()
}

/// Levels for a block's arrows (departure, arrival), as the module doc describes. A reply
/// leaves from its cause's arrival level unless both change the state of that endpoint (a
/// FIN received, then the application's own FIN): two labels need two places.
fn uniform_levels(arrows: &[Arrow], changes: &[(bool, bool)]) -> Vec<(usize, usize)> {
    #[derive(Copy, Clone, PartialEq)]
    enum Mark {
        Empty,
        /// Something arrived; whether that changed the state here.
        Arrived(bool),
        Busy,
    }
    let mut instants: Vec<(f64, bool, usize)> = Vec::new();
    for (i, a) in arrows.iter().enumerate() {
        instants.push((a.send, true, i));
        instants.push((a.arrive, false, i));
    }
    // Time order; at equal times arrivals first, so a reply can leave where its cause arrived.
    instants.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out = vec![(0, 0); arrows.len()];
    let mut level = 0;
    let mut marks = [Mark::Empty; 2];
    let mut started = false;
    for (_, is_send, i) in instants {
        let a = &arrows[i];
        let line = if is_send { a.from } else { a.from.peer() }.index();
        let fits = match (marks[line], is_send) {
            (Mark::Empty, _) => true,
            (Mark::Arrived(changed), true) => !(changed && changes[i].0),
            _ => false,
        } && (is_send || out[i].0 < level);
        if started && !fits {
            level += 1;
            marks = [Mark::Empty; 2];
        }
        started = true;
        marks[line] = if is_send { Mark::Busy } else { Mark::Arrived(changes[i].1) };
        if is_send {
            out[i].0 = level;
        } else {
            out[i].1 = level;
        }
    }
    out
}

/// One scale for all drawn blocks: about one level per arrow in all, within bounds.
fn pixels_per_second(arrows: &[Arrow], blocks: &[Block]) -> f64 {
    let mut span = 0.0;
    let mut count = 0usize;
    for b in blocks {
        if let Block::Shown(r) = b {
            let s = &arrows[r.clone()];
            let t0 = s.iter().map(|a| a.send).fold(f64::MAX, f64::min);
            let t1 = s.iter().map(|a| a.arrive).fold(f64::MIN, f64::max);
            span += (t1 - t0).max(0.0);
            count += s.len();
        }
    }
    let target = (count as f64 * LEVEL).clamp(240.0, 1400.0);
    if span > 0.0 {
        target / span
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TcpFlags;
    use crate::frame::FrameNo;
    use crate::output::seqdiag::model::ArrowKind;
    use Role::{Client, Server};

    const SYN: u8 = TcpFlags::SYN;
    const ACK: u8 = TcpFlags::ACK;
    const FIN: u8 = TcpFlags::FIN;

    fn arrow(frame: u64, from: Role, send: f64, arrive: f64, flags: u8) -> Arrow {
        Arrow {
            frame: FrameNo(frame),
            from,
            send,
            arrive,
            seen: send,
            kind: ArrowKind::Normal,
            flags: TcpFlags(flags),
            len: 0,
            label: String::new(),
        }
    }

    #[test]
    fn a_handshake_zigzags_one_level_per_segment() {
        let a = [
            arrow(1, Client, 0.0, 0.05, SYN),
            arrow(2, Server, 0.05, 0.1, SYN | ACK),
            arrow(3, Client, 0.1, 0.15, ACK),
        ];
        // The SYN's arrival changes nothing observable; the SYN,ACK's departure does.
        let changes = [(true, false), (true, true), (false, true)];
        assert_eq!(uniform_levels(&a, &changes), [(0, 1), (1, 2), (2, 3)]);
    }

    #[test]
    fn simultaneous_syns_cross() {
        let a = [arrow(1, Client, 0.0, 0.05, SYN), arrow(2, Server, 0.001, 0.051, SYN)];
        assert_eq!(uniform_levels(&a, &[(true, true), (true, true)]), [(0, 1), (0, 1)]);
    }

    #[test]
    fn a_fin_answering_a_fin_leaves_one_level_later() {
        // CLOSE_WAIT on arrival, LAST_ACK on sending: two labels need two places.
        let a = [arrow(1, Client, 0.0, 0.05, FIN | ACK), arrow(2, Server, 0.06, 0.11, FIN | ACK)];
        assert_eq!(uniform_levels(&a, &[(true, true), (true, true)]), [(0, 1), (2, 3)]);
    }

    #[test]
    fn segments_in_flight_together_slant_over_several_levels() {
        let a = [
            arrow(1, Client, 0.0, 0.05, ACK),
            arrow(2, Client, 0.001, 0.051, ACK),
            arrow(3, Client, 0.002, 0.052, ACK),
        ];
        let none = [(false, false); 3];
        assert_eq!(uniform_levels(&a, &none), [(0, 2), (1, 3), (2, 4)]);
    }
}
