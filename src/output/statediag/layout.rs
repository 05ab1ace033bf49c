//! Draws the state diagram: arcs (highlighted by the overlay), step numbers or counts, event
//! labels placed where nothing else is, the boxes on top, and the legend.

use std::collections::BTreeMap;

use super::routes::{position, route_of, target, Geometry, Side};
use super::{arcs, Arc, Node, Overlay};
use crate::output::font;
use crate::output::seqdiag::{lang::thousands, Lang};
use crate::output::svg::{arrowhead, pt, Anchor, Occupied, Pt, Quad, Scene, Shape, Stroke, Text, INK};
use crate::tcp::state::{Names, State};
use crate::timeline::Role;

const WIDTH: f64 = 1000.0;
const LABEL_SIZE: f64 = 11.5;
const STATE_SIZE: f64 = 13.0;
const CLIENT: &str = "#0969da";
const CLIENT_LIGHT: &str = "#80ccff";
const SERVER: &str = "#bc4c00";
const BOTH: &str = "#8250df";
const GREY: &str = "#6e7781";
const FAINT: &str = "#afb8c1";

/// An arc as drawn: its curve, and how often the overlay says it was taken (by whom, at
/// which step).
struct Drawn<'a> {
    arc: &'a Arc,
    geometry: Geometry,
    count: u64,
    steps: Vec<(Role, usize)>,
}

struct Layout {
    names: Names,
    lang: Lang,
    sizes: BTreeMap<Node, (f64, f64)>,
    scene: Scene,
    occ: Occupied,
    /// Labels and step numbers that fitted nowhere, said in the legend.
    omitted: usize,
}

impl Layout {
    fn lines(&self, node: Node) -> Vec<String> {
        let s = match node {
            Node::State(s) => s,
            Node::ClosedEnd => State::Closed,
        };
        self.lang.state_lines(s, self.names)
    }

    fn rect(&self, node: Node) -> (f64, f64, f64, f64) {
        let c = position(node);
        let (w, h) = self.sizes.get(&node).copied().unwrap_or((120.0, 34.0));
        (c.x - w / 2.0, c.y - h / 2.0, w, h)
    }

    fn anchor(&self, node: Node, (side, off): (Side, f64)) -> Pt {
        let (x, y, w, h) = self.rect(node);
        match side {
            Side::N => pt(x + w / 2.0 + off, y),
            Side::S => pt(x + w / 2.0 + off, y + h),
            Side::E => pt(x + w, y + h / 2.0 + off),
            Side::W => pt(x, y + h / 2.0 + off),
        }
    }

    fn geometry(&self, arc: &Arc) -> Geometry {
        let from = Node::State(arc.from);
        let to = target(arc);
        match route_of(arc.from, arc.to, arc.abort) {
            Some(r) => {
                let a = self.anchor(from, r.from);
                let b = self.anchor(to, r.to);
                Geometry { from: a, c1: pt(a.x + r.c1.0, a.y + r.c1.1), c2: pt(b.x + r.c2.0, b.y + r.c2.1), to: b }
            }
            // An arc without a route yet: a straight line, so it still shows.
            None => {
                let (a, b) = (position(from), position(to));
                Geometry { from: a, c1: a, c2: b, to: b }
            }
        }
    }

    /// Places a block of centred lines near the curve, off everything placed so far.
    fn place(&mut self, lines: &[String], g: &Geometry, obstacles: &Occupied, fill: &'static str, class: &'static str) {
        let w = lines.iter().map(|l| font::text_width(l, LABEL_SIZE)).fold(0.0, f64::max);
        let h = lines.len() as f64 * 14.0;
        let mut best = None;
        // Away from other labels by a margin (so no label reads as part of its neighbour)
        // and off every arc; then without the margin; then crossing arcs if nothing else fits.
        'search: for (margin, off_arcs) in [(6.0, true), (0.0, true), (0.0, false)] {
            for t in [0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85] {
                let p = g.at(t);
                for (dx, dy) in [
                    (w / 2.0 + 8.0, 0.0),
                    (-w / 2.0 - 8.0, 0.0),
                    (0.0, -h / 2.0 - 6.0),
                    (0.0, h / 2.0 + 6.0),
                    (w / 2.0 + 8.0, -h / 2.0 - 4.0),
                    (-w / 2.0 - 8.0, -h / 2.0 - 4.0),
                    (w / 2.0 + 8.0, h / 2.0 + 4.0),
                    (-w / 2.0 - 8.0, h / 2.0 + 4.0),
                    (w / 2.0 + 24.0, 0.0),
                    (-w / 2.0 - 24.0, 0.0),
                ] {
                    let (cx, cy) = (p.x + dx, p.y + dy);
                    let q = Quad::rect(cx - w / 2.0 - 2.0, cy - h / 2.0 - 1.0, w + 4.0, h + 2.0);
                    let inside = q.inside(4.0, 4.0, WIDTH - 4.0, f64::MAX);
                    let free = self.occ.is_free(&q.grow(margin)) && (!off_arcs || obstacles.is_free(&q));
                    if inside && free {
                        best = Some((cx, cy, q));
                        break 'search;
                    }
                }
            }
        }
        let Some((cx, cy, q)) = best else {
            self.omitted += 1;
            return;
        };
        self.occ.take(q);
        for (k, line) in lines.iter().enumerate() {
            let base = cy - h / 2.0 + k as f64 * 14.0 + 10.5;
            let mut t = Text::new(line.clone(), pt(cx, base), LABEL_SIZE, Anchor::Middle);
            t.fill = fill;
            t.halo = true;
            self.scene.push(class, Shape::Text(t));
        }
    }
}

/// The state diagram as a scene.
pub fn layout(overlay: &Overlay, names: Names, lang: Lang) -> Scene {
    let title = match (overlay, lang) {
        (Overlay::None, Lang::En) => "RFC 9293 TCP connection states".to_string(),
        (Overlay::None, Lang::Zh) => "RFC 9293 TCP 连接状态".to_string(),
        (Overlay::Paths { id, .. }, Lang::En) => {
            format!("TCP connection {id}: the states each endpoint went through")
        }
        (Overlay::Paths { id, .. }, Lang::Zh) => format!("TCP 连接 {id}：两端经历的状态"),
        (Overlay::Counts { connections, .. }, Lang::En) => {
            format!("{connections} TCP connections: how many took each arc")
        }
        (Overlay::Counts { connections, .. }, Lang::Zh) => {
            format!("{connections} 个 TCP 连接：经过每条转换的连接数")
        }
    };
    let mut l = Layout {
        names,
        lang,
        sizes: BTreeMap::new(),
        scene: Scene::new(title.clone()),
        occ: Occupied::default(),
        omitted: 0,
    };
    let nodes: Vec<Node> = State::ALL.into_iter().map(Node::State).chain([Node::ClosedEnd]).collect();
    for &n in &nodes {
        let lines = l.lines(n);
        let w = lines.iter().map(|s| font::text_width(s, STATE_SIZE)).fold(0.0, f64::max);
        l.sizes.insert(n, ((w + 28.0).max(120.0), lines.len() as f64 * 17.0 + 18.0));
    }
    let mut t = Text::new(title, pt(20.0, 30.0), 16.0, Anchor::Start);
    t.fill = INK;
    l.occ.take(t.quad());
    l.scene.push("title", Shape::Text(t));

    let taken = |from: State, to: State| -> (u64, Vec<(Role, usize)>) {
        match overlay {
            Overlay::None => (0, Vec::new()),
            Overlay::Paths { client, server, .. } => {
                let mut v = Vec::new();
                for (role, path) in [(Role::Client, client), (Role::Server, server)] {
                    for (i, s) in path.iter().enumerate() {
                        if *s == (from, to) {
                            v.push((role, i + 1));
                        }
                    }
                }
                (v.len() as u64, v)
            }
            Overlay::Counts { counts, .. } => (counts.get(&(from, to)).copied().unwrap_or(0), Vec::new()),
        }
    };
    let max_count = match overlay {
        Overlay::Counts { counts, .. } => counts.values().copied().max().unwrap_or(1).max(1),
        _ => 1,
    };

    // Boxes first: everything else keeps off them.
    for &n in &nodes {
        let (x, y, w, h) = l.rect(n);
        l.occ.take(Quad::rect(x, y, w, h).grow(2.0));
    }

    // Arcs: which are drawn, their curves, and their labels' obstacles.
    let all = arcs();
    let drawn: Vec<Drawn> = all
        .iter()
        .filter_map(|a| {
            let (count, steps) = taken(a.from, a.to);
            // LAST_ACK's and TIME_WAIT's aborts share their (from, to) with a normal arc,
            // which carries the highlight.
            let merged_with_normal = a.abort && all.iter().any(|b| !b.abort && b.from == a.from && b.to == a.to);
            if a.abort && (count == 0 || merged_with_normal) {
                return None;
            }
            Some(Drawn { arc: a, geometry: l.geometry(a), count, steps })
        })
        .collect();
    let mut lines = Occupied::default();
    for Drawn { geometry: g, .. } in &drawn {
        g.quads().into_iter().for_each(|q| lines.take(q));
    }
    let highlighting = !matches!(overlay, Overlay::None);
    for Drawn { arc, geometry: g, count, steps } in &drawn {
        let base = if highlighting && *count == 0 {
            Stroke::solid(FAINT, 1.3)
        } else if arc.abort {
            Stroke::dashed("#cf222e", 1.5, "6 3")
        } else {
            Stroke::solid(INK, 1.5)
        };
        let width = match overlay {
            Overlay::Counts { .. } if *count > 0 => 1.5 + 4.0 * ((*count as f64).ln_1p() / (max_count as f64).ln_1p()),
            _ => base.width,
        };
        let mut stroke = base;
        stroke.width = width;
        let roles: Vec<Role> = steps.iter().map(|s| s.0).collect();
        if roles.contains(&Role::Client) {
            curve(&mut l.scene, "path-client", g, Stroke::solid(CLIENT_LIGHT, 7.0));
        }
        curve(&mut l.scene, "arc", g, stroke);
        if roles.contains(&Role::Server) {
            curve(&mut l.scene, "path-server", g, Stroke::solid(SERVER, 2.5));
        }
        let head = if roles.contains(&Role::Server) { SERVER } else { stroke.color };
        l.scene.push("arc", Shape::Polygon { points: arrowhead(g.c2, g.to, 11.0, 5.0), fill: head });
    }

    // Not an arc of the machine, which starts servers in LISTEN: the application's passive
    // open, before anything reaches the wire. Drawn dashed so the figure reads like the RFC's.
    let open = Geometry {
        from: l.anchor(Node::State(State::Closed), (Side::S, 0.0)),
        c1: l.anchor(Node::State(State::Closed), (Side::S, 0.0)),
        c2: l.anchor(Node::State(State::Listen), (Side::N, 0.0)),
        to: l.anchor(Node::State(State::Listen), (Side::N, 0.0)),
    };
    curve(&mut l.scene, "open", &open, Stroke::dashed(GREY, 1.3, "5 4"));
    l.scene.push("open", Shape::Polygon { points: arrowhead(open.from, open.to, 10.0, 4.5), fill: GREY });
    open.quads().into_iter().for_each(|q| lines.take(q));
    let passive = match lang {
        Lang::En => "passive OPEN (listen)",
        Lang::Zh => "被动打开（listen）",
    };
    l.place(&[passive.to_string()], &open, &lines, GREY, "open");

    // Step numbers (or counts) first, then the event labels around them.
    for Drawn { geometry: g, count, steps, .. } in &drawn {
        let mut badges: Vec<(String, &'static str)> = steps
            .iter()
            .map(|(role, n)| (n.to_string(), if *role == Role::Client { CLIENT } else { SERVER }))
            .collect();
        if let Overlay::Counts { .. } = overlay {
            if *count > 0 {
                badges.push((thousands(*count), "#1a7f37"));
            }
        }
        for (k, (text, color)) in badges.into_iter().enumerate() {
            let r = (font::text_width(&text, 11.0) / 2.0 + 5.0).max(9.0);
            let mut spot = None;
            for t in [0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85, 0.45, 0.55] {
                let t = (t + 0.07 * k as f64).min(0.9);
                let p = g.at(t);
                let q = Quad::rect(p.x - r - 1.0, p.y - 9.0, 2.0 * r + 2.0, 18.0);
                if l.occ.is_free(&q) {
                    spot = Some((p, q));
                    break;
                }
            }
            let Some((p, q)) = spot else {
                l.omitted += 1;
                continue;
            };
            l.occ.take(q);
            l.scene.push(
                "step",
                Shape::Rect {
                    x: p.x - r,
                    y: p.y - 8.5,
                    w: 2.0 * r,
                    h: 17.0,
                    rx: 8.5,
                    fill: color,
                    stroke: Some(Stroke::solid("#ffffff", 1.5)),
                },
            );
            let mut t = Text::new(text, pt(p.x, p.y + 4.0), 11.0, Anchor::Middle);
            t.fill = "#ffffff";
            l.scene.push("step", Shape::Text(t));
        }
    }
    // Short arcs have the fewest places for a label: they choose first.
    let mut by_length: Vec<&Drawn> = drawn.iter().collect();
    by_length.sort_by(|a, b| chord(&a.geometry).total_cmp(&chord(&b.geometry)));
    for Drawn { arc, geometry: g, count, .. } in by_length {
        let mut labels: Vec<String> = Vec::new();
        for ev in &arc.events {
            let s = ev.to_string();
            if !labels.contains(&s) {
                labels.push(s);
            }
        }
        if arc.abort {
            labels = vec!["snd RST / rcv RST".to_string()];
        }
        let fill = if highlighting && *count == 0 { GREY } else { INK };
        l.place(&labels, g, &lines, fill, "event");
    }

    // Boxes on top of the arcs.
    for &n in &nodes {
        let (x, y, w, h) = l.rect(n);
        let visited = match overlay {
            Overlay::Paths { client, server, starts, .. } => {
                (visits(client, starts[0], n), visits(server, starts[1], n))
            }
            _ => (false, false),
        };
        let stroke = match visited {
            (true, true) => Stroke::solid(BOTH, 2.2),
            (true, false) => Stroke::solid(CLIENT, 2.2),
            (false, true) => Stroke::solid(SERVER, 2.2),
            (false, false) => Stroke::solid("#57606a", 1.3),
        };
        l.scene.push("state", Shape::Rect { x, y, w, h, rx: 8.0, fill: "#f6f8fa", stroke: Some(stroke) });
        let lines = l.lines(n);
        let c = position(n);
        let k = lines.len() as f64;
        for (i, line) in lines.into_iter().enumerate() {
            let base = c.y - k * 8.5 + i as f64 * 17.0 + 13.0;
            let mut t = Text::new(line, pt(c.x, base), STATE_SIZE, Anchor::Middle);
            if i > 0 {
                t.fill = GREY;
            }
            l.scene.push("state", Shape::Text(t));
        }
    }

    // Legend and the note about aborts, below the figure.
    let aborts: Vec<&str> = all.iter().filter(|a| a.abort).map(|a| a.from.name(names)).collect();
    let mut y = 892.0;
    let mut legend: Vec<(String, Option<&'static str>)> = Vec::new();
    if l.omitted > 0 {
        legend.push((
            match lang {
                Lang::En => format!("{} labels left out: no room beside their arcs.", l.omitted),
                Lang::Zh => format!("{} 个标签因空间不足而省略。", l.omitted),
            },
            None,
        ));
    }
    let unlisted = off_the_diagram(overlay, &all, names);
    if !unlisted.is_empty() {
        legend.push((
            match lang {
                Lang::En => format!("Also taken, not an arc of the machine: {unlisted}."),
                Lang::Zh => format!("另经过（不在状态机中）：{unlisted}。"),
            },
            Some("#cf222e"),
        ));
    }
    legend.extend(match lang {
        Lang::En => vec![
            ("Aborts (snd RST or rcv RST → CLOSED), drawn only when taken, leave from".to_string(), None),
            (format!("{}.", aborts.join(", ")), None),
        ],
        Lang::Zh => vec![
            ("异常终止（发送或收到 RST → CLOSED）仅在实际经过时画出，可发生于".to_string(), None),
            (format!("{}。", aborts.join("、")), None),
        ],
    });
    match overlay {
        Overlay::None => {}
        Overlay::Paths { .. } => {
            legend.push((
                match lang {
                    Lang::En => "client path, steps numbered in order".to_string(),
                    Lang::Zh => "客户端路径，按顺序编号".to_string(),
                },
                Some(CLIENT),
            ));
            legend.push((
                match lang {
                    Lang::En => "server path, steps numbered in order".to_string(),
                    Lang::Zh => "服务器路径，按顺序编号".to_string(),
                },
                Some(SERVER),
            ));
            legend.push((
                match lang {
                    Lang::En => "state both endpoints passed through".to_string(),
                    Lang::Zh => "两端都经历过的状态".to_string(),
                },
                Some(BOTH),
            ));
        }
        Overlay::Counts { .. } => legend.push((
            match lang {
                Lang::En => "connections that took the arc (client or server)".to_string(),
                Lang::Zh => "经过该转换的连接数（客户端或服务器）".to_string(),
            },
            Some("#1a7f37"),
        )),
    }
    for (text, swatch) in legend {
        let x = match swatch {
            Some(color) => {
                l.scene.push(
                    "legend",
                    Shape::Rect { x: 20.0, y: y - 11.0, w: 24.0, h: 14.0, rx: 7.0, fill: color, stroke: None },
                );
                52.0
            }
            None => 20.0,
        };
        let mut t = Text::new(text, pt(x, y), 12.0, Anchor::Start);
        t.fill = GREY;
        l.scene.push("legend", Shape::Text(t));
        y += 20.0;
    }
    l.scene.width = WIDTH;
    l.scene.height = y + 4.0;
    l.scene
}

/// Steps the overlay counts that no arc of the machine draws (`A → B ×n`), so that nothing
/// taken goes unmentioned.
fn off_the_diagram(overlay: &Overlay, all: &[Arc], names: Names) -> String {
    let mut counts: BTreeMap<(State, State), u64> = BTreeMap::new();
    match overlay {
        Overlay::None => {}
        Overlay::Paths { client, server, .. } => {
            for step in client.iter().chain(server) {
                *counts.entry(*step).or_insert(0) += 1;
            }
        }
        Overlay::Counts { counts: c, .. } => counts.clone_from(c),
    }
    let parts: Vec<String> = counts
        .into_iter()
        .filter(|((from, to), _)| !all.iter().any(|a| a.from == *from && a.to == *to))
        .map(|((from, to), n)| format!("{} → {} ×{n}", from.name(names), to.name(names)))
        .collect();
    parts.join(", ")
}

/// Whether a path starting in `start` and taking `steps` passes through box `node`.
fn visits(steps: &[(State, State)], start: State, node: Node) -> bool {
    let arc = |from, to| Arc { from, to, events: Vec::new(), abort: false };
    Node::State(start) == node
        || steps.iter().any(|&(from, to)| Node::State(from) == node || target(&arc(from, to)) == node)
}

/// The straight distance between an arc's ends.
fn chord(g: &Geometry) -> f64 {
    ((g.to.x - g.from.x).powi(2) + (g.to.y - g.from.y).powi(2)).sqrt()
}

fn curve(scene: &mut Scene, class: &'static str, g: &Geometry, stroke: Stroke) {
    scene.push(class, Shape::Curve { from: g.from, c1: g.c1, c2: g.c2, to: g.to, stroke });
}
