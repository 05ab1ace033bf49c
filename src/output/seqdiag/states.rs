//! The state labels beside each lifeline, and TIME_WAIT's 2·MSL bracket.

use std::ops::Range;

use super::lang::Lang;
use super::layout::{Canvas, Columns, BLUE, BODY_TOP, FOLD_H, GREY, LEVEL, LIGHT, SMALL};
use super::model::{Arrow, Block};
use super::SeqOptions;
use crate::output::font;
use crate::output::svg::{pt, Anchor, Quad, Shape, Stroke, Text, INK};
use crate::tcp::state::State;
use crate::timeline::{Cause, Connection, Initial, Role};

const STATE_SIZE: f64 = 12.5;
/// Distance from a lifeline to its state labels.
pub(super) const PILL_GAP: f64 = 18.0;

/// Where an endpoint's state label goes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(super) enum At {
    Top,
    Y(f64),
    /// Where the 2·MSL timer ends.
    Timer,
}

pub(super) struct Pill {
    pub role: Role,
    pub state: State,
    pub at: At,
    pub inferred: bool,
}

/// Labels stacked down their lifeline: each one's anchor on the lifeline and its centre.
pub(super) struct Stack {
    pub places: Vec<(f64, f64)>,
    /// The lowest label bottom on each lifeline.
    pub bottom: [f64; 2],
    pub timer_y: f64,
}

/// Which y each state change gets: at the departure or arrival of the segment that caused
/// it, on its own lifeline; states changed inside a folded gap show below the gap.
pub(super) fn pills(
    conn: &Connection,
    arrows: &[Arrow],
    ys: &[Option<(f64, f64)>],
    folds: &[(f64, Range<usize>)],
    blocks: &[Block],
) -> Vec<Pill> {
    let shown = blocks.iter().filter_map(|b| match b {
        Block::Shown(r) => Some(r.clone()),
        Block::Folded(_) => None,
    });
    let first_shown = shown.clone().map(|r| r.start).min().unwrap_or(0);
    let last_shown = shown.map(|r| r.end).max().unwrap_or(0);
    let mut out = Vec::new();
    for role in [Role::Client, Role::Server] {
        let mut top: Option<Pill> = None;
        let mut rest = Vec::new();
        for t in &conn.endpoints.get(role).timeline {
            let at = match (t.frame, t.cause) {
                (None, Cause::Initial(_)) => At::Top,
                (None, Cause::TimeWaitExpired) if rest.iter().any(|p: &Pill| p.state == State::TimeWait) => At::Timer,
                (None, _) => continue,
                (Some(f), cause) => {
                    let ghost = arrows.iter().position(|a| {
                        t.inferred
                            && a.is_ghost()
                            && a.frame == f
                            && match cause {
                                Cause::Sent(_) => a.from == role,
                                _ => a.from != role,
                            }
                    });
                    let idx = ghost.or_else(|| arrows.iter().position(|a| a.frame == f && !a.is_ghost()));
                    let Some(i) = idx else { continue };
                    match ys[i] {
                        Some((s, e)) => At::Y(if arrows[i].from == role { s } else { e }),
                        None if i < first_shown => At::Top,
                        // After the last drawn arrow: the diagram stops before it.
                        None if i >= last_shown => continue,
                        None => match folds.iter().find(|(_, r)| r.contains(&i)) {
                            Some((y, _)) => At::Y(y + FOLD_H + 8.0),
                            None => continue,
                        },
                    }
                }
            };
            let pill = Pill {
                role,
                state: t.state,
                at,
                inferred: t.inferred && !matches!(t.cause, Cause::Initial(Initial::MidStream)),
            };
            if at == At::Top {
                top = Some(pill);
            } else {
                rest.push(pill);
            }
        }
        out.extend(top);
        rest.sort_by(|a, b| key(a.at).total_cmp(&key(b.at)));
        out.extend(rest);
    }
    out
}

fn key(at: At) -> f64 {
    match at {
        At::Top => f64::MIN,
        At::Y(y) => y,
        At::Timer => f64::MAX,
    }
}

pub(super) fn pill_size(lang: Lang, state: State, opts: &SeqOptions) -> (f64, f64) {
    let lines = lang.state_lines(state, opts.names);
    let w = lines.iter().map(|l| font::text_width(l, STATE_SIZE)).fold(0.0, f64::max);
    (w + 16.0, lines.len() as f64 * 16.0 + 6.0)
}

/// Fill and border of a state label: grey when closed, blue while opening, green when open,
/// orange on the closing side that closed first, purple on the side that closes second.
fn state_colors(state: State) -> (&'static str, &'static str) {
    match state {
        State::Closed | State::Listen => ("#f6f8fa", "#8c959f"),
        State::SynSent | State::SynRcvd => ("#ddf4ff", "#54aeff"),
        State::Established => ("#dafbe1", "#4ac26b"),
        State::FinWait1 | State::FinWait2 | State::Closing | State::TimeWait => ("#fff1e5", "#fb8f44"),
        State::CloseWait | State::LastAck => ("#fbefff", "#c297ff"),
    }
}

/// Where each label goes: at its anchor, or lower if the one above is in the way. Below the
/// last arrow there is room for the bracket and the CLOSED its timer leads to.
pub(super) fn stack(pills: &[Pill], body_bottom: f64, lang: Lang, opts: &SeqOptions) -> Stack {
    let timer_y = if pills.iter().any(|p| p.state == State::TimeWait) { body_bottom + LEVEL } else { body_bottom };
    let mut bottom = [f64::MIN; 2];
    let places = pills
        .iter()
        .map(|p| {
            let anchor_y = match p.at {
                At::Top => BODY_TOP - 30.0,
                At::Y(y) => y,
                At::Timer => timer_y,
            };
            let h = pill_size(lang, p.state, opts).1;
            let i = p.role.index();
            let cy = anchor_y.max(bottom[i] + 4.0 + h / 2.0);
            bottom[i] = cy + h / 2.0;
            (anchor_y, cy)
        })
        .collect();
    Stack { places, bottom, timer_y }
}

/// Draws the labels with a tick where each state changes (and a leader to a label that had
/// to move), then the 2·MSL bracket of each endpoint that entered TIME_WAIT.
#[allow(clippy::too_many_arguments)]
pub(super) fn draw(
    c: &mut Canvas,
    conn: &Connection,
    opts: &SeqOptions,
    cols: &Columns,
    pills: &[Pill],
    stack: &Stack,
    line_bottom: f64,
) {
    let lang = opts.lang;
    let mut tw_start: [Option<f64>; 2] = [None, None];
    let mut timer_end: [Option<f64>; 2] = [None, None];
    for (p, &(anchor_y, cy)) in pills.iter().zip(&stack.places) {
        let (w, h) = pill_size(lang, p.state, opts);
        let i = p.role.index();
        let x = cols.x(p.role);
        let (px, dir) = match p.role {
            Role::Client => (x - PILL_GAP - w, -1.0),
            Role::Server => (x + PILL_GAP, 1.0),
        };
        if p.state == State::TimeWait {
            tw_start[i] = Some(anchor_y);
        }
        if p.at == At::Timer {
            timer_end[i] = Some(anchor_y);
        }
        draw_pill(c, lang, opts, p, (px, cy), (w, h));
        c.scene.push(
            "state-tick",
            Shape::Line { from: pt(x, anchor_y), to: pt(x + dir * 6.0, anchor_y), stroke: Stroke::solid(INK, 1.6) },
        );
        let near = if dir < 0.0 { px + w } else { px };
        c.scene.push(
            "state-tick",
            Shape::Line { from: pt(x + dir * 6.0, anchor_y), to: pt(near, cy), stroke: Stroke::solid(LIGHT, 1.0) },
        );
    }
    for role in [Role::Client, Role::Server] {
        let i = role.index();
        if let Some(top) = tw_start[i] {
            bracket(c, conn, opts, cols, role, top, timer_end[i], line_bottom);
        }
    }
}

/// A bracket beside the lifeline from TIME_WAIT to the timer's end (open at the bottom if
/// the capture ended first), labelled with its length.
#[allow(clippy::too_many_arguments)]
fn bracket(
    c: &mut Canvas,
    conn: &Connection,
    opts: &SeqOptions,
    cols: &Columns,
    role: Role,
    top: f64,
    end: Option<f64>,
    line_bottom: f64,
) {
    let x = cols.x(role);
    let dir = if role == Role::Client { -1.0 } else { 1.0 };
    let bx = x + dir * 9.0;
    let stroke = Stroke::solid(BLUE, 1.3);
    let (top, bottom) = (top + 12.0, end.map_or(line_bottom - 4.0, |b| b - 12.0));
    c.scene.push("time-wait", Shape::Line { from: pt(bx, top), to: pt(bx, bottom), stroke });
    let serifs = if end.is_some() { vec![top, bottom] } else { vec![top] };
    for y in serifs {
        c.scene.push("time-wait", Shape::Line { from: pt(bx, y), to: pt(bx - dir * 4.0, y), stroke });
    }
    // The length the timer ran, when it ran out within the capture; else the configured one.
    let tw = conn
        .endpoints
        .get(role)
        .timeline
        .windows(2)
        .find(|w| w[0].state == State::TimeWait && w[1].cause == Cause::TimeWaitExpired)
        .map_or(opts.time_wait.as_secs_f64(), |w| w[1].ts.since(w[0].ts).as_secs_f64());
    let text = opts.lang.time_wait_bracket(tw);
    let anchor = if dir < 0.0 { Anchor::End } else { Anchor::Start };
    let mid = (top + bottom) / 2.0;
    for dy in [0.0, 14.0, -14.0, 28.0, -28.0, 42.0] {
        let mut t = Text::new(text.clone(), pt(x + dir * PILL_GAP, mid + dy + 4.0), SMALL, anchor);
        t.fill = BLUE;
        if c.occ.is_free(&t.quad()) {
            c.occ.take(t.quad());
            c.scene.push("time-wait", Shape::Text(t));
            break;
        }
    }
}

fn draw_pill(c: &mut Canvas, lang: Lang, opts: &SeqOptions, p: &Pill, (x, cy): (f64, f64), (w, h): (f64, f64)) {
    let (fill, border) = state_colors(p.state);
    let stroke = if p.inferred { Stroke::dashed(border, 1.2, "4 2") } else { Stroke::solid(border, 1.2) };
    c.scene.push("state", Shape::Rect { x, y: cy - h / 2.0, w, h, rx: 4.0, fill, stroke: Some(stroke) });
    c.occ.take(Quad::rect(x, cy - h / 2.0, w, h));
    let lines = lang.state_lines(p.state, opts.names);
    let n = lines.len() as f64;
    for (k, line) in lines.into_iter().enumerate() {
        let base = cy - n * 8.0 + k as f64 * 16.0 + 12.5;
        let mut t = Text::new(line, pt(x + w / 2.0, base), STATE_SIZE, Anchor::Middle);
        t.italic = p.inferred;
        if k > 0 {
            t.fill = GREY;
        }
        c.scene.push("state", Shape::Text(t));
    }
}
