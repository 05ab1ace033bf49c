//! Positions the sequence diagram: a pure function from the model to a [`Scene`].
//!
//! Vertical placement, uniform scale: instants (departures and arrivals) are taken in time
//! order and put on levels; an instant shares the current level unless its lifeline already
//! has one there, except that a departure may leave from the level where the segment it
//! answers arrived (the textbook "V"). Arrows that overlap in flight therefore slant over
//! several levels and crossing segments (simultaneous open or close) cross.

use super::lang::Lang;
use super::model::{self, Arrow, ArrowKind, Block, Delays};
use super::{DiagramError, Phase, Scale, SeqOptions};
use crate::output::font;
use crate::output::svg::{
    arrowhead, pt, Anchor, Occupied, Pt, Quad, Scene, Shape, Stroke, Text, INK,
};
use crate::tcp::state::State;
use crate::timeline::{Cause, Connection, Initial, Role};

const MARGIN: f64 = 20.0;
const LEVEL: f64 = 46.0;
const LABEL_SIZE: f64 = 12.5;
const STATE_SIZE: f64 = 12.5;
const SMALL: f64 = 11.0;
const FOLD_H: f64 = 56.0;
/// Where the first arrow may start; above it: title, headers, initial states.
const BODY_TOP: f64 = 156.0;
const HEADER_TOP: f64 = 40.0;
const HEADER_H: f64 = 44.0;
/// Distance from a lifeline to its state labels.
const PILL_GAP: f64 = 18.0;

const GREY: &str = "#6e7781";
const LIGHT: &str = "#8c959f";
const RED: &str = "#cf222e";
const AMBER: &str = "#9a6700";
const BLUE: &str = "#0969da";

/// Where an endpoint's state label goes.
#[derive(Copy, Clone, Debug, PartialEq)]
enum At {
    Top,
    Y(f64),
    /// Where the 2·MSL timer ends.
    Timer,
}

struct Pill {
    role: Role,
    state: State,
    at: At,
    inferred: bool,
}

pub fn layout(conn: &Connection, opts: &SeqOptions) -> Result<Scene, DiagramError> {
    let segs = conn
        .segments
        .as_deref()
        .ok_or(DiagramError::NoSegments(conn.id))?;
    let (arrows, delays) = model::arrows(conn, segs, opts);
    let blocks = model::blocks(conn, &arrows, opts.phase);
    if !blocks.iter().any(|b| matches!(b, Block::Shown(_))) {
        return Err(DiagramError::EmptyPhase {
            id: conn.id,
            phase: match opts.phase {
                Phase::Handshake => "handshake",
                Phase::Close => "close",
                Phase::HandshakeAndClose | Phase::All => "whole",
            },
        });
    }

    // Vertical: the y of each shown arrow's departure and arrival, and the folded bands.
    let mut ys: Vec<Option<(f64, f64)>> = vec![None; arrows.len()];
    let mut folds: Vec<(f64, std::ops::Range<usize>)> = Vec::new();
    let pps = pixels_per_second(&arrows, &blocks);
    let mut y = BODY_TOP;
    for block in &blocks {
        match block {
            Block::Shown(r) => {
                let placed = match opts.scale {
                    Scale::Uniform => {
                        uniform_levels(&arrows[r.clone()], &state_changes(conn, &arrows[r.clone()]))
                            .into_iter()
                            .map(|(s, a)| (y + s as f64 * LEVEL, y + a as f64 * LEVEL))
                            .collect::<Vec<_>>()
                    }
                    Scale::Time => {
                        let t0 = arrows[r.clone()]
                            .iter()
                            .map(|a| a.send)
                            .fold(f64::MAX, f64::min);
                        arrows[r.clone()]
                            .iter()
                            .map(|a| {
                                let s = y + (a.send - t0) * pps;
                                (s, (y + (a.arrive - t0) * pps).max(s + 14.0))
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
    let body_bottom = y - LEVEL * 0.6;

    // Where each state label goes.
    let pills = pills(conn, &arrows, &ys, &folds, &blocks);

    // Horizontal: columns sized by the text they hold.
    let lang = opts.lang;
    let pill_w = |role: Role| {
        pills
            .iter()
            .filter(|p| p.role == role)
            .map(|p| pill_size(lang, p.state, opts).0)
            .fold(0.0, f64::max)
            .max(font::text_width(&lang.time_wait_bracket(60.0), SMALL))
    };
    let max_label = arrows
        .iter()
        .zip(&ys)
        .filter(|(_, y)| y.is_some())
        .map(|(a, _)| font::text_width(&a.label, LABEL_SIZE))
        .fold(0.0, f64::max);
    let gap = (max_label * 2.1 + 40.0).max(440.0);
    let frame_text = |a: &Arrow| format!("#{}  +{:.6}", a.frame, a.seen);
    let left_col = match opts.scale {
        Scale::Uniform => arrows
            .iter()
            .filter(|a| !a.is_ghost())
            .map(|a| font::text_width(&frame_text(a), SMALL))
            .fold(0.0, f64::max),
        Scale::Time => font::text_width("+000.000 ms", SMALL) + 10.0,
    };
    let (client_head, server_head) = (
        header_w(conn, Role::Client, lang),
        header_w(conn, Role::Server, lang),
    );
    let cx = (MARGIN + left_col + 14.0 + pill_w(Role::Client) + PILL_GAP)
        .max(MARGIN + client_head / 2.0)
        .round();
    let sx = (cx + gap).round();
    let mut width =
        (sx + PILL_GAP + pill_w(Role::Server) + MARGIN).max(sx + server_head / 2.0 + MARGIN);
    let x_of = |r: Role| match r {
        Role::Client => cx,
        Role::Server => sx,
    };
    let frac = delays
        .map_or(0.5, |d| d.client / (d.client + d.server))
        .clamp(0.06, 0.94);
    let xcap = cx + gap * frac;

    let mut scene = Scene::new(format!(
        "{}: {} → {}",
        lang.connection(conn.id),
        conn.client,
        conn.server
    ));
    let mut occ = Occupied::default();

    // Title and headers.
    let mut title = Text::new(
        lang.connection(conn.id),
        pt(MARGIN, 26.0),
        15.0,
        Anchor::Start,
    );
    if lang == Lang::En {
        title.content = format!("{} · {}", title.content, conn.ending);
    }
    occ.take(title.quad());
    scene.push("title", Shape::Text(title));
    for role in [Role::Client, Role::Server] {
        let w = header_w(conn, role, lang);
        let x = x_of(role);
        scene.push(
            "header",
            Shape::Rect {
                x: x - w / 2.0,
                y: HEADER_TOP,
                w,
                h: HEADER_H,
                rx: 6.0,
                fill: "#f6f8fa",
                stroke: Some(Stroke::solid("#d0d7de", 1.0)),
            },
        );
        occ.take(Quad::rect(x - w / 2.0, HEADER_TOP, w, HEADER_H));
        let mut t = Text::new(
            lang.role(role),
            pt(x, HEADER_TOP + 18.0),
            14.0,
            Anchor::Middle,
        );
        t.fill = INK;
        scene.push("header", Shape::Text(t));
        let mut a = Text::new(
            addr(conn, role),
            pt(x, HEADER_TOP + 35.0),
            12.0,
            Anchor::Middle,
        );
        a.fill = GREY;
        scene.push("header", Shape::Text(a));
    }

    // Fold bands behind everything else.
    for (top, r) in &folds {
        let shown: Vec<&Arrow> = arrows[r.clone()].iter().filter(|a| !a.is_ghost()).collect();
        let bytes: u64 = shown.iter().map(|a| u64::from(a.len)).sum();
        let span = match (shown.first(), shown.last()) {
            (Some(f), Some(l)) => l.seen - f.seen,
            _ => 0.0,
        };
        scene.push(
            "fold",
            Shape::Rect {
                x: cx - 10.0,
                y: *top,
                w: gap + 20.0,
                h: FOLD_H,
                rx: 4.0,
                fill: "#f6f8fa",
                stroke: Some(Stroke::dashed("#d0d7de", 1.0, "4 3")),
            },
        );
        let mut t = Text::new(
            lang.fold(shown.len(), bytes, span),
            pt(cx + gap / 2.0, top + FOLD_H / 2.0 + 4.5),
            LABEL_SIZE,
            Anchor::Middle,
        );
        t.fill = GREY;
        t.italic = true;
        occ.take(t.quad());
        scene.push("fold", Shape::Text(t));
    }

    // Lifelines: solid through drawn blocks, dashed across folds.
    // Room below the last arrow for the TIME_WAIT bracket and the CLOSED its timer leads to.
    let pills_bottom = if pills.iter().any(|p| p.state == State::TimeWait) {
        body_bottom + LEVEL
    } else {
        body_bottom
    };
    let timer_y = pills_bottom;
    // Each label's centre, stacked down its lifeline where labels would collide.
    let mut last_bottom = [f64::MIN; 2];
    let stacked: Vec<(f64, f64)> = pills
        .iter()
        .map(|p| {
            let anchor_y = match p.at {
                At::Top => BODY_TOP - 30.0,
                At::Y(y) => y,
                At::Timer => timer_y,
            };
            let h = pill_size(lang, p.state, opts).1;
            let i = p.role.index();
            let cy = anchor_y.max(last_bottom[i] + 4.0 + h / 2.0);
            last_bottom[i] = cy + h / 2.0;
            (anchor_y, cy)
        })
        .collect();
    let line_bottom = (pills_bottom + 28.0)
        .max(last_bottom[0] + 10.0)
        .max(last_bottom[1] + 10.0);
    for role in [Role::Client, Role::Server] {
        let x = x_of(role);
        let mut from = HEADER_TOP + HEADER_H;
        for (top, _) in &folds {
            scene.push(
                "lifeline",
                Shape::Line {
                    from: pt(x, from),
                    to: pt(x, *top),
                    stroke: Stroke::solid(INK, 1.6),
                },
            );
            scene.push(
                "lifeline",
                Shape::Line {
                    from: pt(x, *top),
                    to: pt(x, top + FOLD_H),
                    stroke: Stroke::dashed(LIGHT, 1.6, "3 4"),
                },
            );
            from = top + FOLD_H;
        }
        scene.push(
            "lifeline",
            Shape::Line {
                from: pt(x, from),
                to: pt(x, line_bottom),
                stroke: Stroke::solid(INK, 1.6),
            },
        );
    }
    // The capture point: where every arrow was seen.
    scene.push(
        "capture-point",
        Shape::Line {
            from: pt(xcap, HEADER_TOP + HEADER_H + 22.0),
            to: pt(xcap, line_bottom),
            stroke: Stroke::dashed("#afb8c1", 1.0, "1 3"),
        },
    );
    let cap_anchor = if frac < 0.25 {
        (xcap + 4.0, Anchor::Start)
    } else if frac > 0.75 {
        (xcap - 4.0, Anchor::End)
    } else {
        (xcap, Anchor::Middle)
    };
    let mut cap = Text::new(
        capture_point(lang, delays.is_some()),
        pt(cap_anchor.0, HEADER_TOP + HEADER_H + 18.0),
        SMALL,
        cap_anchor.1,
    );
    cap.fill = GREY;
    occ.take(cap.quad());
    scene.push("capture-point", Shape::Text(cap));

    // State labels, with a tick where the state changes.
    let mut tw_start: [Option<f64>; 2] = [None, None];
    let mut timer_end: [Option<f64>; 2] = [None, None];
    for (p, &(anchor_y, cy)) in pills.iter().zip(&stacked) {
        let (w, h) = pill_size(lang, p.state, opts);
        let i = p.role.index();
        let x = x_of(p.role);
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
        draw_pill(&mut scene, &mut occ, lang, opts, p, px, cy, w, h);
        // A tick on the lifeline where the state changes, and a leader if the label moved.
        scene.push(
            "state-tick",
            Shape::Line {
                from: pt(x, anchor_y),
                to: pt(x + dir * 6.0, anchor_y),
                stroke: Stroke::solid(INK, 1.6),
            },
        );
        let near = if dir < 0.0 { px + w } else { px };
        scene.push(
            "state-tick",
            Shape::Line {
                from: pt(x + dir * 6.0, anchor_y),
                to: pt(near, cy),
                stroke: Stroke::solid(LIGHT, 1.0),
            },
        );
    }

    // The 2·MSL bracket beside each lifeline that entered TIME_WAIT.
    for role in [Role::Client, Role::Server] {
        let i = role.index();
        let Some(top) = tw_start[i] else { continue };
        let x = x_of(role);
        let dir = if role == Role::Client { -1.0 } else { 1.0 };
        let bx = x + dir * 9.0;
        let (bottom, open) = match timer_end[i] {
            Some(b) => (b, false),
            None => (line_bottom - 4.0, true),
        };
        let stroke = Stroke::solid(BLUE, 1.3);
        scene.push(
            "time-wait",
            Shape::Line {
                from: pt(bx, top + 12.0),
                to: pt(bx, bottom - if open { 0.0 } else { 12.0 }),
                stroke: if open {
                    Stroke::solid(BLUE, 1.3)
                } else {
                    stroke
                },
            },
        );
        if !open {
            scene.push(
                "time-wait",
                Shape::Line {
                    from: pt(bx, bottom - 12.0),
                    to: pt(bx - dir * 4.0, bottom - 12.0),
                    stroke,
                },
            );
        }
        scene.push(
            "time-wait",
            Shape::Line {
                from: pt(bx, top + 12.0),
                to: pt(bx - dir * 4.0, top + 12.0),
                stroke,
            },
        );
        let tw = if open {
            opts.time_wait.as_secs_f64()
        } else {
            conn.endpoints
                .get(role)
                .timeline
                .windows(2)
                .find(|w| w[0].state == State::TimeWait && w[1].cause == Cause::TimeWaitExpired)
                .map_or(opts.time_wait.as_secs_f64(), |w| {
                    w[1].ts.since(w[0].ts).as_secs_f64()
                })
        };
        let text = lang.time_wait_bracket(tw);
        let anchor = if dir < 0.0 {
            Anchor::End
        } else {
            Anchor::Start
        };
        let mid = (top + bottom) / 2.0;
        for dy in [0.0, 14.0, -14.0, 28.0, -28.0, 42.0] {
            let mut t = Text::new(
                text.clone(),
                pt(x + dir * PILL_GAP, mid + dy + 4.0),
                SMALL,
                anchor,
            );
            t.fill = BLUE;
            if occ.is_free(&t.quad()) {
                occ.take(t.quad());
                scene.push("time-wait", Shape::Text(t));
                break;
            }
        }
    }

    // Arrows, then their labels where nothing else is: first away from other arrows too,
    // else only away from other text.
    let mut lines: Vec<(usize, Quad)> = Vec::new();
    for (i, (a, y)) in arrows.iter().zip(&ys).enumerate() {
        let Some((ys_, ya)) = *y else { continue };
        let (from, to) = (pt(x_of(a.from), ys_), pt(x_of(a.from.peer()), ya));
        let (stroke, color) = arrow_style(a.kind);
        let tip = pt(to.x - (to.x - from.x).signum() * 1.0, to.y);
        scene.push(
            "segment",
            Shape::Line {
                from,
                to: tip,
                stroke,
            },
        );
        scene.push(
            "segment",
            Shape::Polygon {
                points: arrowhead(from, tip, 10.0, 4.5),
                fill: color,
            },
        );
        lines.push((i, line_quad(from, to)));
        if !a.is_ghost() && opts.scale == Scale::Uniform {
            // Where the capture saw it.
            let f = match a.from {
                Role::Client => frac,
                Role::Server => 1.0 - frac,
            };
            scene.push(
                "capture-point",
                Shape::Circle {
                    c: pt(xcap, ys_ + (ya - ys_) * f),
                    r: 2.2,
                    fill: LIGHT,
                    stroke: None,
                },
            );
        }
    }
    // Segments that change states (SYN, FIN, RST, ghosts) get their places first.
    let mut order: Vec<usize> = (0..arrows.len()).filter(|&i| ys[i].is_some()).collect();
    order.sort_by_key(|&i| {
        let a = &arrows[i];
        let control = a.is_ghost() || a.flags.syn() || a.flags.fin() || a.flags.rst();
        (!control, i)
    });
    let mut labels = Vec::new();
    let mut omitted = Vec::new();
    for i in order {
        let (a, Some((ys_, ya))) = (&arrows[i], ys[i]) else {
            continue;
        };
        let (from, to) = (pt(x_of(a.from), ys_), pt(x_of(a.from.peer()), ya));
        let (_, color) = arrow_style(a.kind);
        let off_lines = |q: &Quad| lines.iter().all(|(j, l)| *j == i || !l.overlaps(q));
        let placed = place_label(&a.label, from, to, color, a.kind, (cx, sx), |q| {
            occ.is_free(q) && off_lines(q)
        })
        .or_else(|| {
            place_label(&a.label, from, to, color, a.kind, (cx, sx), |q| {
                occ.is_free(q)
            })
        });
        match placed {
            Some(t) => {
                occ.take(t.quad());
                labels.push((i, t));
            }
            None => omitted.push(a.frame.0),
        }
    }
    labels.sort_by_key(|(i, _)| *i);
    omitted.sort_unstable();
    for (_, t) in labels {
        scene.push("label", Shape::Text(t));
    }

    // Left margin: frame numbers where arrows cross the capture point, or a time axis.
    match opts.scale {
        Scale::Uniform => {
            let mut next_free = f64::MIN;
            let mut rows: Vec<(f64, String)> = arrows
                .iter()
                .zip(&ys)
                .filter(|(a, _)| !a.is_ghost())
                .filter_map(|(a, y)| {
                    let (s, e) = (*y)?;
                    let f = match a.from {
                        Role::Client => frac,
                        Role::Server => 1.0 - frac,
                    };
                    Some((s + (e - s) * f, frame_text(a)))
                })
                .collect();
            rows.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (yc, text) in rows {
                let base = (yc + 4.0).max(next_free + 13.0);
                next_free = base;
                let mut t = Text::new(text, pt(MARGIN, base), SMALL, Anchor::Start);
                t.fill = GREY;
                scene.push("frame", Shape::Text(t));
            }
        }
        Scale::Time => time_axis(&mut scene, &arrows, &ys, &blocks, MARGIN + left_col),
    }

    // Legend.
    let mut ly = line_bottom + 30.0;
    let mut lines = vec![
        lang.transit(delays.map(|d: Delays| (d.client, d.server, d.from_handshake))),
        match opts.scale {
            Scale::Uniform => lang.uniform_note().to_string(),
            Scale::Time => lang.time_note().to_string(),
        },
    ];
    if !omitted.is_empty() {
        let list: Vec<String> = omitted.iter().map(u64::to_string).collect();
        lines.push(lang.omitted(&list.join(", ")));
    }
    for line in lines {
        let mut t = Text::new(line, pt(MARGIN, ly), SMALL, Anchor::Start);
        t.fill = GREY;
        width = width.max(t.quad().max_x() + MARGIN);
        scene.push("legend", Shape::Text(t));
        ly += 17.0;
    }
    let mut lx = MARGIN;
    ly += 4.0;
    for (kind, text) in [
        ArrowKind::Retransmission,
        ArrowKind::Reset,
        ArrowKind::Ghost,
    ]
    .into_iter()
    .zip(lang.legend_kinds())
    {
        let (stroke, color) = arrow_style(kind);
        scene.push(
            "legend",
            Shape::Line {
                from: pt(lx, ly - 4.0),
                to: pt(lx + 26.0, ly - 4.0),
                stroke,
            },
        );
        scene.push(
            "legend",
            Shape::Polygon {
                points: arrowhead(pt(lx, ly - 4.0), pt(lx + 30.0, ly - 4.0), 8.0, 3.5),
                fill: color,
            },
        );
        let mut t = Text::new(text, pt(lx + 36.0, ly), SMALL, Anchor::Start);
        t.fill = GREY;
        lx = t.quad().max_x() + 22.0;
        scene.push("legend", Shape::Text(t));
    }
    let mut t = Text::new(
        match lang {
            Lang::En => format!("dashed border: {}", lang.inferred()),
            Lang::Zh => format!("虚线框：{}", lang.inferred()),
        },
        pt(lx, ly),
        SMALL,
        Anchor::Start,
    );
    t.fill = GREY;
    width = width.max(t.quad().max_x() + MARGIN);
    scene.push("legend", Shape::Text(t));

    scene.width = width.ceil();
    scene.height = (ly + MARGIN).ceil();
    Ok(scene)
}

/// A thin box around a line, as an obstacle for labels.
fn line_quad(a: Pt, b: Pt) -> Quad {
    let l = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt().max(1e-9);
    let (nx, ny) = (-(b.y - a.y) / l, (b.x - a.x) / l);
    Quad([
        pt(a.x + nx, a.y + ny),
        pt(b.x + nx, b.y + ny),
        pt(b.x - nx, b.y - ny),
        pt(a.x - nx, a.y - ny),
    ])
}

fn capture_point(lang: Lang, estimated: bool) -> &'static str {
    match (lang, estimated) {
        (Lang::En, true) => "capture point (estimated position)",
        (Lang::En, false) => "capture point",
        (Lang::Zh, true) => "抓包点（估计位置）",
        (Lang::Zh, false) => "抓包点",
    }
}

fn addr(conn: &Connection, role: Role) -> String {
    match role {
        Role::Client => conn.client.to_string(),
        Role::Server => conn.server.to_string(),
    }
}

fn header_w(conn: &Connection, role: Role, lang: Lang) -> f64 {
    font::text_width(&addr(conn, role), 12.0).max(font::text_width(lang.role(role), 14.0)) + 28.0
}

fn arrow_style(kind: ArrowKind) -> (Stroke, &'static str) {
    match kind {
        ArrowKind::Normal => (Stroke::solid(INK, 1.4), INK),
        ArrowKind::Retransmission => (Stroke::dashed(AMBER, 1.4, "7 4"), AMBER),
        ArrowKind::Reset => (Stroke::solid(RED, 1.6), RED),
        ArrowKind::Ghost => (Stroke::dashed(LIGHT, 1.2, "3 3"), LIGHT),
    }
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
    arrows
        .iter()
        .map(|a| {
            (
                changes(a.from, a.frame, true),
                changes(a.from.peer(), a.frame, false),
            )
        })
        .collect()
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
        marks[line] = if is_send {
            Mark::Busy
        } else {
            Mark::Arrived(changes[i].1)
        };
        if is_send {
            out[i].0 = level;
        } else {
            out[i].1 = level;
        }
    }
    out
}

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

/// Which y each state change gets: at the departure or arrival of the segment that caused
/// it, on its own lifeline; states changed inside a folded gap show below the gap.
fn pills(
    conn: &Connection,
    arrows: &[Arrow],
    ys: &[Option<(f64, f64)>],
    folds: &[(f64, std::ops::Range<usize>)],
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
                (None, Cause::TimeWaitExpired)
                    if rest.iter().any(|p: &Pill| p.state == State::TimeWait) =>
                {
                    At::Timer
                }
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
                    let idx =
                        ghost.or_else(|| arrows.iter().position(|a| a.frame == f && !a.is_ghost()));
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

fn pill_size(lang: Lang, state: State, opts: &SeqOptions) -> (f64, f64) {
    let lines = lang.state_lines(state, opts.names);
    let w = lines
        .iter()
        .map(|l| font::text_width(l, STATE_SIZE))
        .fold(0.0, f64::max);
    (w + 16.0, lines.len() as f64 * 16.0 + 6.0)
}

/// Fill and border of a state label: grey when closed, blue while opening, green when open,
/// orange on the closing side that closed first, purple on the side that closes second.
fn state_colors(state: State) -> (&'static str, &'static str) {
    match state {
        State::Closed | State::Listen => ("#f6f8fa", "#8c959f"),
        State::SynSent | State::SynRcvd => ("#ddf4ff", "#54aeff"),
        State::Established => ("#dafbe1", "#4ac26b"),
        State::FinWait1 | State::FinWait2 | State::Closing | State::TimeWait => {
            ("#fff1e5", "#fb8f44")
        }
        State::CloseWait | State::LastAck => ("#fbefff", "#c297ff"),
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_pill(
    scene: &mut Scene,
    occ: &mut Occupied,
    lang: Lang,
    opts: &SeqOptions,
    p: &Pill,
    x: f64,
    cy: f64,
    w: f64,
    h: f64,
) {
    let (fill, border) = state_colors(p.state);
    let stroke = if p.inferred {
        Stroke::dashed(border, 1.2, "4 2")
    } else {
        Stroke::solid(border, 1.2)
    };
    scene.push(
        "state",
        Shape::Rect {
            x,
            y: cy - h / 2.0,
            w,
            h,
            rx: 4.0,
            fill,
            stroke: Some(stroke),
        },
    );
    occ.take(Quad::rect(x, cy - h / 2.0, w, h));
    let lines = lang.state_lines(p.state, opts.names);
    let n = lines.len() as f64;
    for (k, line) in lines.into_iter().enumerate() {
        let base = cy - n * 8.0 + k as f64 * 16.0 + 12.5;
        let mut t = Text::new(line, pt(x + w / 2.0, base), STATE_SIZE, Anchor::Middle);
        t.italic = p.inferred;
        if k > 0 {
            t.fill = GREY;
        }
        scene.push("state", Shape::Text(t));
    }
}

/// The label along its arrow, reading left to right, above the line if there is room,
/// tried at several points along the arrow, between the lifelines at `cx` and `sx`, where
/// `free` says the box is free; `None` if it fits nowhere.
fn place_label(
    text: &str,
    from: Pt,
    to: Pt,
    color: &'static str,
    kind: ArrowKind,
    (cx, sx): (f64, f64),
    free: impl Fn(&Quad) -> bool,
) -> Option<Text> {
    let (l, r) = if from.x <= to.x {
        (from, to)
    } else {
        (to, from)
    };
    let angle = (r.y - l.y).atan2(r.x - l.x);
    let (sin, cos) = angle.sin_cos();
    let up = pt(sin, -cos);
    for t in [0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8] {
        // Positions along the arrow from its sender, so crossing arrows label near their own
        // sender.
        let p = pt(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t);
        for off in [4.0, -(4.0 + font::ASCENT * LABEL_SIZE)] {
            let mut label = Text::new(
                text,
                pt(p.x + up.x * off, p.y + up.y * off),
                LABEL_SIZE,
                Anchor::Middle,
            );
            label.rotate = angle.to_degrees();
            label.halo = true;
            label.fill = color;
            label.italic = kind == ArrowKind::Ghost;
            let q = label.quad();
            if q.min_x() > cx + 4.0 && q.max_x() < sx - 4.0 && free(&q.grow(1.0)) {
                return Some(label);
            }
        }
    }
    None
}

/// `+12.5`, `−0.5`, `0`: a sign only where it means something.
fn signed(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    if text.chars().all(|c| c == '0' || c == '.') {
        text
    } else if v < 0.0 {
        format!("−{text}")
    } else {
        format!("+{text}")
    }
}

/// Ticks every 1, 2 or 5 × 10ⁿ seconds along each drawn block, relative to the connection's
/// first frame.
fn time_axis(
    scene: &mut Scene,
    arrows: &[Arrow],
    ys: &[Option<(f64, f64)>],
    blocks: &[Block],
    x: f64,
) {
    for b in blocks {
        let Block::Shown(r) = b else { continue };
        let pts: Vec<(f64, f64)> = r
            .clone()
            .filter_map(|i| ys[i].map(|(s, e)| ((arrows[i].send, s), (arrows[i].arrive, e))))
            .flat_map(|(a, b)| [a, b])
            .collect();
        let (Some(lo), Some(hi)) = (
            pts.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
            pts.iter().max_by(|a, b| a.1.total_cmp(&b.1)),
        ) else {
            continue;
        };
        scene.push(
            "axis",
            Shape::Line {
                from: pt(x, lo.1),
                to: pt(x, hi.1),
                stroke: Stroke::solid(LIGHT, 1.0),
            },
        );
        let (t0, t1) = (lo.0, hi.0);
        let span = (t1 - t0).max(1e-9);
        let pps = (hi.1 - lo.1) / span;
        let raw = 60.0 / pps.max(1e-9);
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let mut k = (t0 / step).ceil();
        while k * step <= t1 + 1e-12 {
            let t = k * step;
            let y = lo.1 + (t - t0) * pps;
            scene.push(
                "axis",
                Shape::Line {
                    from: pt(x - 4.0, y),
                    to: pt(x, y),
                    stroke: Stroke::solid(LIGHT, 1.0),
                },
            );
            let text = if step < 1.0 {
                let decimals = (-(step * 1e3).log10().floor()).max(0.0) as usize;
                signed(t * 1e3, decimals) + " ms"
            } else {
                let decimals = (-step.log10().floor()).max(0.0) as usize;
                signed(t, decimals) + " s"
            };
            let mut label = Text::new(text, pt(x - 7.0, y + 4.0), SMALL, Anchor::End);
            label.fill = GREY;
            scene.push("axis", Shape::Text(label));
            k += 1.0;
        }
    }
}
