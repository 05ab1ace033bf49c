//! Where the boxes sit and how each arc runs between them: hand-chosen, like the RFC's
//! figure.

use super::{Arc, Node};
use crate::output::svg::{pt, Pt, Quad};
use crate::tcp::state::State;

/// Where each box sits (its centre), as in RFC 9293 Figure 5.
pub(super) fn position(node: Node) -> Pt {
    match node {
        Node::State(s) => match s {
            State::Closed => pt(500.0, 92.0),
            State::Listen => pt(500.0, 212.0),
            State::SynRcvd => pt(150.0, 332.0),
            State::SynSent => pt(850.0, 332.0),
            State::Established => pt(500.0, 452.0),
            State::FinWait1 => pt(150.0, 572.0),
            State::CloseWait => pt(850.0, 572.0),
            State::FinWait2 => pt(150.0, 712.0),
            State::Closing => pt(500.0, 712.0),
            State::LastAck => pt(850.0, 712.0),
            State::TimeWait => pt(500.0, 832.0),
        },
        Node::ClosedEnd => pt(850.0, 832.0),
    }
}

#[derive(Copy, Clone)]
pub(super) enum Side {
    N,
    S,
    E,
    W,
}

/// A hand-chosen route: leave `from` at a side (offset along it), bend through control
/// points given relative to each end, arrive at a side of `to`.
pub(super) struct Route {
    pub from: (Side, f64),
    pub c1: (f64, f64),
    pub c2: (f64, f64),
    pub to: (Side, f64),
}

const fn route(from: (Side, f64), c1: (f64, f64), c2: (f64, f64), to: (Side, f64)) -> Route {
    Route { from, c1, c2, to }
}

/// The box an arc ends in: CLOSED at the top for failed opens, at the bottom for the rest.
pub(super) fn target(arc: &Arc) -> Node {
    match (arc.from, arc.to) {
        (State::SynSent | State::SynRcvd, State::Closed) => Node::State(State::Closed),
        (_, State::Closed) => Node::ClosedEnd,
        (_, to) => Node::State(to),
    }
}

/// The route of every arc `next` can take; `None` for an arc nobody has drawn yet (the
/// test `every_arc_has_a_route` fails then).
pub(super) fn route_of(from: State, to: State, abort: bool) -> Option<Route> {
    use Side::*;
    use State::*;
    Some(match (from, to, abort) {
        (Closed, SynSent, false) => route((E, 0.0), (200.0, 0.0), (0.0, -120.0), (N, 20.0)),
        (SynSent, Closed, true) => route((N, -30.0), (0.0, -90.0), (120.0, 20.0), (E, 10.0)),
        (Listen, SynRcvd, false) => route((W, 8.0), (-170.0, 0.0), (40.0, -60.0), (N, 30.0)),
        (Listen, SynSent, false) => route((E, 8.0), (170.0, 0.0), (-40.0, -60.0), (N, -30.0)),
        (SynRcvd, Listen, false) => route((N, -20.0), (0.0, -110.0), (-130.0, -6.0), (W, -8.0)),
        (SynRcvd, Closed, true) => route((N, -45.0), (0.0, -200.0), (-200.0, 0.0), (W, 0.0)),
        (SynSent, SynRcvd, false) => route((W, 0.0), (-150.0, 0.0), (150.0, 0.0), (E, 0.0)),
        (SynSent, Established, false) => route((S, 0.0), (0.0, 90.0), (150.0, 0.0), (E, 0.0)),
        (SynRcvd, Established, false) => route((S, 30.0), (0.0, 90.0), (-150.0, 0.0), (W, 0.0)),
        (SynRcvd, FinWait1, false) => route((S, -30.0), (0.0, 60.0), (0.0, -60.0), (N, -30.0)),
        (SynRcvd, CloseWait, false) => route((S, 50.0), (60.0, 170.0), (-300.0, -40.0), (W, 10.0)),
        (Established, FinWait1, false) => route((S, -30.0), (-30.0, 90.0), (150.0, 0.0), (E, 0.0)),
        (Established, CloseWait, false) => route((S, 30.0), (30.0, 90.0), (-150.0, 0.0), (W, -6.0)),
        (CloseWait, LastAck, false) => route((S, 0.0), (0.0, 40.0), (0.0, -40.0), (N, 0.0)),
        (FinWait1, FinWait2, false) => route((S, -30.0), (0.0, 40.0), (0.0, -40.0), (N, -30.0)),
        (FinWait1, Closing, false) => route((E, 8.0), (160.0, 20.0), (0.0, -80.0), (N, 0.0)),
        (FinWait1, TimeWait, false) => route((S, 30.0), (40.0, 120.0), (-120.0, -40.0), (W, -8.0)),
        (FinWait2, TimeWait, false) => route((S, 0.0), (0.0, 90.0), (-160.0, 0.0), (W, 8.0)),
        (Closing, TimeWait, false) => route((S, 0.0), (0.0, 30.0), (0.0, -30.0), (N, 0.0)),
        (LastAck, Closed, false) => route((S, 0.0), (0.0, 30.0), (0.0, -30.0), (N, 0.0)),
        (TimeWait, Closed, false) => route((E, 0.0), (60.0, 0.0), (-60.0, 0.0), (W, 0.0)),
        (Established, Closed, true) => route((E, 8.0), (120.0, 100.0), (-120.0, -150.0), (W, -10.0)),
        (FinWait1, Closed, true) => route((W, 8.0), (-110.0, 60.0), (-300.0, 170.0), (S, -40.0)),
        (FinWait2, Closed, true) => route((S, -30.0), (0.0, 110.0), (-200.0, 90.0), (S, -20.0)),
        (CloseWait, Closed, true) => route((E, 0.0), (90.0, 0.0), (90.0, 0.0), (E, 0.0)),
        (Closing, Closed, true) => route((E, 8.0), (110.0, 10.0), (-90.0, -60.0), (W, -10.0)),
        (LastAck, Closed, true) => route((E, 0.0), (60.0, 20.0), (60.0, -20.0), (E, -8.0)),
        (TimeWait, Closed, true) => route((S, 20.0), (0.0, 50.0), (-150.0, 60.0), (S, 0.0)),
        _ => return None,
    })
}

/// A cubic Bézier curve.
pub(super) struct Geometry {
    pub from: Pt,
    pub c1: Pt,
    pub c2: Pt,
    pub to: Pt,
}

impl Geometry {
    pub fn at(&self, t: f64) -> Pt {
        let u = 1.0 - t;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        pt(
            a * self.from.x + b * self.c1.x + c * self.c2.x + d * self.to.x,
            a * self.from.y + b * self.c1.y + c * self.c2.y + d * self.to.y,
        )
    }

    /// The curve as thin boxes, for keeping labels off it.
    pub fn quads(&self) -> Vec<Quad> {
        (0..16)
            .map(|i| {
                let (a, b) = (self.at(i as f64 / 16.0), self.at((i + 1) as f64 / 16.0));
                let l = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt().max(1e-9);
                let (nx, ny) = (-(b.y - a.y) / l * 1.5, (b.x - a.x) / l * 1.5);
                Quad([pt(a.x + nx, a.y + ny), pt(b.x + nx, b.y + ny), pt(b.x - nx, b.y - ny), pt(a.x - nx, a.y - ny)])
            })
            .collect()
    }
}
