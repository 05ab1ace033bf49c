//! The RFC 9293 state diagram (§3.3.2, Figure 5), laid out like the RFC's figure, with the
//! paths connections took.
//!
//! The arcs are not drawn from a hand-written list: they are every `(state, event)` for
//! which [`next`] changes the state, so the figure can never disagree with the machine. Only
//! their routes are hand-chosen (the RFC's figure is hand-drawn, and hand-placed coordinates
//! are what make it readable); a test checks that every arc has a route.
//!
//! Aborts (a RST sent or accepted, from any synchronized state to CLOSED) would draw nine
//! crossing lines; like the RFC, the plain figure states them in a note and draws an abort
//! arc only when a connection took it.

mod layout;
mod routes;

use std::collections::BTreeMap;

use super::seqdiag::Lang;
use crate::tcp::machine::{next, Event, Open};
use crate::tcp::state::{Names, State};
use crate::timeline::{Cause, Connection, Role};

pub use layout::layout;

/// The two CLOSED boxes of the RFC figure: where connections start, and where they end.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    State(State),
    ClosedEnd,
}

/// An arc of the diagram: a state change of [`next`], with the events that cause it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arc {
    pub from: State,
    pub to: State,
    pub events: Vec<Event>,
    /// A RST sent or accepted: drawn only when taken.
    pub abort: bool,
}

/// Every arc of the machine, in a stable order: `State::ALL × Event::ALL` through [`next`],
/// with both opens for the one arc that depends on it (RST in SYN_RCVD).
pub fn arcs() -> Vec<Arc> {
    let mut map: BTreeMap<(State, State, bool), Vec<Event>> = BTreeMap::new();
    for from in State::ALL {
        for ev in Event::ALL {
            for open in [Open::Active, Open::Passive] {
                if let Some(to) = next(from, ev, open).filter(|to| *to != from) {
                    let abort = matches!(ev, Event::SndRst | Event::RcvRst) && to == State::Closed;
                    let evs = map.entry((from, to, abort)).or_default();
                    if !evs.contains(&ev) {
                        evs.push(ev);
                    }
                }
            }
        }
    }
    map.into_iter().map(|((from, to, abort), events)| Arc { from, to, events, abort }).collect()
}

/// What to highlight.
#[derive(Clone, Debug, PartialEq)]
pub enum Overlay {
    /// The plain teaching diagram.
    None,
    /// One connection: each endpoint's steps, numbered.
    Paths {
        id: u64,
        /// Where each endpoint's timeline starts: [client, server].
        starts: [State; 2],
        client: Vec<(State, State)>,
        server: Vec<(State, State)>,
    },
    /// Many connections: how many took each arc (by either endpoint).
    Counts { connections: usize, counts: BTreeMap<(State, State), u64> },
}

impl Overlay {
    pub fn path(conn: &Connection) -> Overlay {
        let start = |role| conn.endpoints.get(role).timeline.first().map_or(State::Closed, |t| t.state);
        Overlay::Paths {
            id: conn.id,
            starts: [start(Role::Client), start(Role::Server)],
            client: steps(conn, Role::Client),
            server: steps(conn, Role::Server),
        }
    }

    /// Counts connections, not steps: an arc taken by both endpoints of a connection (a
    /// simultaneous close), or twice by one, counts once for it.
    pub fn counts(conns: &[Connection]) -> Overlay {
        let mut counts = BTreeMap::new();
        for c in conns {
            let mut taken = std::collections::BTreeSet::new();
            for role in [Role::Client, Role::Server] {
                taken.extend(steps(c, role));
            }
            for step in taken {
                *counts.entry(step).or_insert(0) += 1;
            }
        }
        Overlay::Counts { connections: conns.len(), counts }
    }
}

/// An endpoint's state changes in order (its timeline's consecutive pairs).
fn steps(conn: &Connection, role: Role) -> Vec<(State, State)> {
    conn.endpoints
        .get(role)
        .timeline
        .windows(2)
        .filter(|w| !matches!(w[1].cause, Cause::Initial(_)))
        .map(|w| (w[0].state, w[1].state))
        .collect()
}

/// The SVG document.
pub fn render(overlay: &Overlay, names: Names, lang: Lang) -> String {
    layout(overlay, names, lang).to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_arc_has_a_route() {
        for a in arcs() {
            assert!(
                routes::route_of(a.from, a.to, a.abort).is_some(),
                "no route for {} → {} ({:?})",
                a.from,
                a.to,
                a.events
            );
        }
    }

    #[test]
    fn arcs_are_the_machines() {
        let all = arcs();
        let find = |from, to| all.iter().find(|a| a.from == from && a.to == to && !a.abort);
        let listen = find(State::Listen, State::SynRcvd).map(|a| a.events.clone());
        assert_eq!(listen, Some(vec![Event::SndSynAck]));
        // The passive open's RST in SYN_RCVD goes back to LISTEN.
        assert!(find(State::SynRcvd, State::Listen).is_some());
        assert!(find(State::Closed, State::Listen).is_none());
        let aborts = all.iter().filter(|a| a.abort).count();
        assert_eq!(aborts, 9);
    }
}
