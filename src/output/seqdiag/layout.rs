//! Positions the sequence diagram: a pure function from the model to a [`Scene`].
//!
//! `levels` places arrows vertically, `states` the state labels beside the lifelines,
//! `margin` the frame numbers or time axis (sibling modules); this
//! module measures the columns and draws the rest: headers, folded gaps, lifelines, the capture
//! point, arrows with their labels, and the legend.

use super::lang::Lang;
use super::levels;
use super::margin;
use super::model::{self, Arrow, ArrowKind, Block, Delays};
use super::states::{self, PILL_GAP};
use super::{DiagramError, Phase, Scale, SeqOptions};
use crate::output::font;
use crate::output::svg::{arrowhead, pt, Anchor, Occupied, Pt, Quad, Scene, Shape, Stroke, Text, INK};
use crate::timeline::{Connection, Role};

pub(super) const MARGIN: f64 = 20.0;
/// One step of the uniform scale.
pub(super) const LEVEL: f64 = 46.0;
pub(super) const SMALL: f64 = 11.0;
pub(super) const FOLD_H: f64 = 56.0;
/// Where the first arrow may start; above it: title, headers, initial states.
pub(super) const BODY_TOP: f64 = 156.0;
const LABEL_SIZE: f64 = 12.5;
const HEADER_TOP: f64 = 40.0;
const HEADER_H: f64 = 44.0;

pub(super) const GREY: &str = "#6e7781";
pub(super) const LIGHT: &str = "#8c959f";
pub(super) const BLUE: &str = "#0969da";
const RED: &str = "#cf222e";
const AMBER: &str = "#9a6700";

/// The scene being drawn and the boxes its text already takes.
pub(super) struct Canvas {
    pub scene: Scene,
    pub occ: Occupied,
    /// The width the content needs so far.
    pub width: f64,
}

/// The horizontal geometry: the two lifelines and the capture point between them.
pub(super) struct Columns {
    /// The client's and the server's lifeline.
    pub cx: f64,
    pub sx: f64,
    /// Where the capture point sits, as a fraction of the way from client to server.
    pub frac: f64,
    /// The width of the left margin (frame numbers or time axis).
    pub left: f64,
    /// Where the server's state labels end.
    pub right: f64,
}

impl Columns {
    pub fn x(&self, role: Role) -> f64 {
        match role {
            Role::Client => self.cx,
            Role::Server => self.sx,
        }
    }

    pub fn capture_x(&self) -> f64 {
        self.cx + (self.sx - self.cx) * self.frac
    }

    /// The height at which an arrow drawn from `s` to `e` crosses the capture point.
    pub fn capture_y(&self, a: &Arrow, s: f64, e: f64) -> f64 {
        let f = match a.from {
            Role::Client => self.frac,
            Role::Server => 1.0 - self.frac,
        };
        s + (e - s) * f
    }
}

pub fn layout(conn: &Connection, opts: &SeqOptions) -> Result<Scene, DiagramError> {
    let segs = conn.segments.as_deref().ok_or(DiagramError::NoSegments(conn.id))?;
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
    let lang = opts.lang;
    let plan = levels::plan(conn, &arrows, &blocks, opts.scale);
    let pills = states::pills(conn, &arrows, &plan.ys, &plan.folds, &blocks);
    let cols = columns(conn, opts, &arrows, &plan.ys, &pills, delays);
    let stack = states::stack(&pills, plan.bottom, lang, opts);
    let line_bottom = (stack.timer_y + 28.0).max(stack.bottom[0] + 10.0).max(stack.bottom[1] + 10.0);

    let mut c = Canvas {
        scene: Scene::new(format!("{}: {} → {}", lang.connection(conn.id), conn.client, conn.server)),
        occ: Occupied::default(),
        width: cols.right + MARGIN,
    };
    headers(&mut c, conn, &cols, opts);
    for (top, r) in &plan.folds {
        fold(&mut c, &cols, &arrows[r.clone()], *top, lang);
    }
    lifelines(&mut c, &cols, &plan.folds, line_bottom);
    capture_point(&mut c, &cols, lang, delays.is_some(), line_bottom);
    states::draw(&mut c, conn, opts, &cols, &pills, &stack, line_bottom);
    let omitted = segments(&mut c, &cols, &arrows, &plan.ys, opts.scale);
    match opts.scale {
        Scale::Uniform => margin::frame_numbers(&mut c, &cols, &arrows, &plan.ys),
        Scale::Time => margin::time_axis(&mut c, &arrows, &plan.ys, &blocks, MARGIN + cols.left),
    }
    let bottom = legend(&mut c, line_bottom + 30.0, lang, delays, opts.scale, &omitted);
    c.scene.width = c.width.ceil();
    c.scene.height = (bottom + MARGIN).ceil();
    Ok(c.scene)
}

/// Sizes the columns by the text they hold: frame numbers or time axis, client state labels,
/// the arrows (room for the longest label at a third of its arrow), server state labels.
fn columns(
    conn: &Connection,
    opts: &SeqOptions,
    arrows: &[Arrow],
    ys: &[Option<(f64, f64)>],
    pills: &[states::Pill],
    delays: Option<Delays>,
) -> Columns {
    let lang = opts.lang;
    let pill_w = |role: Role| {
        pills
            .iter()
            .filter(|p| p.role == role)
            .map(|p| states::pill_size(lang, p.state, opts).0)
            .fold(0.0, f64::max)
            .max(font::text_width(&lang.time_wait_bracket(60.0), SMALL))
    };
    let max_label = arrows
        .iter()
        .zip(ys)
        .filter(|(_, y)| y.is_some())
        .map(|(a, _)| font::text_width(&a.label, LABEL_SIZE))
        .fold(0.0, f64::max);
    let gap = (max_label * 2.1 + 40.0).max(440.0);
    let left = match opts.scale {
        Scale::Uniform => arrows
            .iter()
            .filter(|a| !a.is_ghost())
            .map(|a| font::text_width(&margin::frame_text(a), SMALL))
            .fold(0.0, f64::max),
        Scale::Time => font::text_width("+000.000 ms", SMALL) + 10.0,
    };
    let cx = (MARGIN + left + 14.0 + pill_w(Role::Client) + PILL_GAP)
        .max(MARGIN + header_w(conn, Role::Client, lang) / 2.0)
        .round();
    let frac = delays.map_or(0.5, |d| d.client / (d.client + d.server)).clamp(0.06, 0.94);
    let sx = (cx + gap).round();
    Columns { cx, sx, frac, left, right: sx + PILL_GAP + pill_w(Role::Server) }
}

/// The title, and each lifeline's head: role and address.
fn headers(c: &mut Canvas, conn: &Connection, cols: &Columns, opts: &SeqOptions) {
    let lang = opts.lang;
    let title = format!("{} · {}", lang.connection(conn.id), lang.ending(&conn.ending, opts.names));
    let title = Text::new(title, pt(MARGIN, 26.0), 15.0, Anchor::Start);
    c.occ.take(title.quad());
    c.width = c.width.max(title.quad().max_x() + MARGIN);
    c.scene.push("title", Shape::Text(title));
    for role in [Role::Client, Role::Server] {
        let w = header_w(conn, role, lang);
        let x = cols.x(role);
        c.width = c.width.max(x + w / 2.0 + MARGIN);
        c.scene.push(
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
        c.occ.take(Quad::rect(x - w / 2.0, HEADER_TOP, w, HEADER_H));
        let t = Text::new(lang.role(role), pt(x, HEADER_TOP + 18.0), 14.0, Anchor::Middle);
        c.scene.push("header", Shape::Text(t));
        let mut a = Text::new(addr(conn, role), pt(x, HEADER_TOP + 35.0), 12.0, Anchor::Middle);
        a.fill = GREY;
        c.scene.push("header", Shape::Text(a));
    }
}

/// A folded gap: a band between the lifelines saying what it hides.
fn fold(c: &mut Canvas, cols: &Columns, hidden: &[Arrow], top: f64, lang: Lang) {
    let seen: Vec<&Arrow> = hidden.iter().filter(|a| !a.is_ghost()).collect();
    let bytes: u64 = seen.iter().map(|a| u64::from(a.len)).sum();
    let span = match (seen.first(), seen.last()) {
        (Some(f), Some(l)) => l.seen - f.seen,
        _ => 0.0,
    };
    let gap = cols.sx - cols.cx;
    c.scene.push(
        "fold",
        Shape::Rect {
            x: cols.cx - 10.0,
            y: top,
            w: gap + 20.0,
            h: FOLD_H,
            rx: 4.0,
            fill: "#f6f8fa",
            stroke: Some(Stroke::dashed("#d0d7de", 1.0, "4 3")),
        },
    );
    let mut t = Text::new(
        lang.fold(seen.len(), bytes, span),
        pt(cols.cx + gap / 2.0, top + FOLD_H / 2.0 + 4.5),
        LABEL_SIZE,
        Anchor::Middle,
    );
    t.fill = GREY;
    t.italic = true;
    c.occ.take(t.quad());
    c.scene.push("fold", Shape::Text(t));
}

/// The lifelines: solid through drawn blocks, dashed across folds.
fn lifelines(c: &mut Canvas, cols: &Columns, folds: &[(f64, std::ops::Range<usize>)], bottom: f64) {
    for role in [Role::Client, Role::Server] {
        let x = cols.x(role);
        let mut from = HEADER_TOP + HEADER_H;
        let mut line = |a: f64, b: f64, stroke| {
            c.scene.push("lifeline", Shape::Line { from: pt(x, a), to: pt(x, b), stroke });
        };
        for (top, _) in folds {
            line(from, *top, Stroke::solid(INK, 1.6));
            line(*top, top + FOLD_H, Stroke::dashed(LIGHT, 1.6, "3 4"));
            from = top + FOLD_H;
        }
        line(from, bottom, Stroke::solid(INK, 1.6));
    }
}

/// The capture point: where every captured arrow was seen, labelled at the top.
fn capture_point(c: &mut Canvas, cols: &Columns, lang: Lang, estimated: bool, bottom: f64) {
    let x = cols.capture_x();
    c.scene.push(
        "capture-point",
        Shape::Line {
            from: pt(x, HEADER_TOP + HEADER_H + 22.0),
            to: pt(x, bottom),
            stroke: Stroke::dashed("#afb8c1", 1.0, "1 3"),
        },
    );
    let (tx, anchor) = if cols.frac < 0.25 {
        (x + 4.0, Anchor::Start)
    } else if cols.frac > 0.75 {
        (x - 4.0, Anchor::End)
    } else {
        (x, Anchor::Middle)
    };
    let text = match (lang, estimated) {
        (Lang::En, true) => "capture point (estimated position)",
        (Lang::En, false) => "capture point",
        (Lang::Zh, true) => "抓包点（估计位置）",
        (Lang::Zh, false) => "抓包点",
    };
    let mut t = Text::new(text, pt(tx, HEADER_TOP + HEADER_H + 18.0), SMALL, anchor);
    t.fill = GREY;
    c.occ.take(t.quad());
    c.scene.push("capture-point", Shape::Text(t));
}

/// The arrows, then their labels where nothing else is: first also away from other arrows,
/// else only away from other text. Segments that change states (SYN, FIN, RST, ghosts) are
/// placed first. Returns the frames whose label fitted nowhere.
fn segments(c: &mut Canvas, cols: &Columns, arrows: &[Arrow], ys: &[Option<(f64, f64)>], scale: Scale) -> Vec<u64> {
    let ends = |a: &Arrow, (s, e): (f64, f64)| (pt(cols.x(a.from), s), pt(cols.x(a.from.peer()), e));
    let mut lines = Occupied::default();
    for (i, (a, y)) in arrows.iter().zip(ys).enumerate() {
        let Some((s, e)) = *y else { continue };
        let (from, to) = ends(a, (s, e));
        let (stroke, color) = arrow_style(a.kind);
        let tip = pt(to.x - (to.x - from.x).signum(), to.y);
        c.scene.push("segment", Shape::Line { from, to: tip, stroke });
        c.scene.push("segment", Shape::Polygon { points: arrowhead(from, tip, 10.0, 4.5), fill: color });
        lines.take_tagged(line_quad(from, to), Some(i));
        if !a.is_ghost() && scale == Scale::Uniform {
            c.scene.push(
                "capture-point",
                Shape::Circle { c: pt(cols.capture_x(), cols.capture_y(a, s, e)), r: 2.2, fill: LIGHT, stroke: None },
            );
        }
    }
    let mut order: Vec<usize> = (0..arrows.len()).filter(|&i| ys[i].is_some()).collect();
    order.sort_by_key(|&i| {
        let a = &arrows[i];
        let control = a.is_ghost() || a.flags.syn() || a.flags.fin() || a.flags.rst();
        (!control, i)
    });
    let mut labels = Vec::new();
    let mut omitted = Vec::new();
    for i in order {
        let (a, Some(y)) = (&arrows[i], ys[i]) else {
            continue;
        };
        let (from, to) = ends(a, y);
        let (_, color) = arrow_style(a.kind);
        let lanes = (cols.cx, cols.sx);
        let occ = &c.occ;
        let placed = place_label(&a.label, from, to, color, a.kind, lanes, |q| {
            occ.is_free(q) && lines.is_free_except(q, Some(i))
        })
        .or_else(|| place_label(&a.label, from, to, color, a.kind, lanes, |q| occ.is_free(q)));
        match placed {
            Some(t) => {
                c.occ.take(t.quad());
                labels.push((i, t));
            }
            None => omitted.push(a.frame.0),
        }
    }
    labels.sort_by_key(|(i, _)| *i);
    for (_, t) in labels {
        c.scene.push("label", Shape::Text(t));
    }
    omitted.sort_unstable();
    omitted
}

/// The legend from `y` down: how the arrows slant, what the scale means, labels left out,
/// and a key to the line styles. Returns the last baseline.
fn legend(c: &mut Canvas, mut y: f64, lang: Lang, delays: Option<Delays>, scale: Scale, omitted: &[u64]) -> f64 {
    let mut lines = vec![
        lang.transit(delays.map(|d| (d.client, d.server, d.from_handshake))),
        match scale {
            Scale::Uniform => lang.uniform_note().to_string(),
            Scale::Time => lang.time_note().to_string(),
        },
    ];
    if !omitted.is_empty() {
        let list: Vec<String> = omitted.iter().map(u64::to_string).collect();
        lines.push(lang.omitted(&list.join(", ")));
    }
    for line in lines {
        let mut t = Text::new(line, pt(MARGIN, y), SMALL, Anchor::Start);
        t.fill = GREY;
        c.width = c.width.max(t.quad().max_x() + MARGIN);
        c.scene.push("legend", Shape::Text(t));
        y += 17.0;
    }
    y += 4.0;
    let mut x = MARGIN;
    let kinds = [ArrowKind::Retransmission, ArrowKind::Reset, ArrowKind::Ghost];
    for (kind, text) in kinds.into_iter().zip(lang.legend_kinds()) {
        let (stroke, color) = arrow_style(kind);
        c.scene.push("legend", Shape::Line { from: pt(x, y - 4.0), to: pt(x + 26.0, y - 4.0), stroke });
        c.scene.push(
            "legend",
            Shape::Polygon { points: arrowhead(pt(x, y - 4.0), pt(x + 30.0, y - 4.0), 8.0, 3.5), fill: color },
        );
        let mut t = Text::new(text, pt(x + 36.0, y), SMALL, Anchor::Start);
        t.fill = GREY;
        x = t.quad().max_x() + 22.0;
        c.scene.push("legend", Shape::Text(t));
    }
    let text = match lang {
        Lang::En => format!("dashed border: {}", lang.inferred()),
        Lang::Zh => format!("虚线框：{}", lang.inferred()),
    };
    let mut t = Text::new(text, pt(x, y), SMALL, Anchor::Start);
    t.fill = GREY;
    c.width = c.width.max(t.quad().max_x() + MARGIN);
    c.scene.push("legend", Shape::Text(t));
    y
}

/// A thin box around a line, as an obstacle for labels.
fn line_quad(a: Pt, b: Pt) -> Quad {
    let l = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt().max(1e-9);
    let (nx, ny) = (-(b.y - a.y) / l, (b.x - a.x) / l);
    Quad([pt(a.x + nx, a.y + ny), pt(b.x + nx, b.y + ny), pt(b.x - nx, b.y - ny), pt(a.x - nx, a.y - ny)])
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
    let (l, r) = if from.x <= to.x { (from, to) } else { (to, from) };
    let angle = (r.y - l.y).atan2(r.x - l.x);
    let (sin, cos) = angle.sin_cos();
    let up = pt(sin, -cos);
    for t in [0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8] {
        // Positions along the arrow from its sender, so crossing arrows label near their own
        // sender.
        let p = pt(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t);
        for off in [4.0, -(4.0 + font::ASCENT * LABEL_SIZE)] {
            let mut label = Text::new(text, pt(p.x + up.x * off, p.y + up.y * off), LABEL_SIZE, Anchor::Middle);
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
