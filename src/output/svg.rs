//! The diagrams' drawing model and its SVG writer, kept apart (STYLE.md, after inferno): layout
//! code returns a [`Scene`] of positioned primitives that tests can check by numbers (no two
//! text boxes overlap, every box inside the canvas); [`Scene::to_svg`] only escapes and emits.
//!
//! A small writer of our own rather than plotters' `SVGBackend`: the diagrams need `<text>`
//! with anchors, rotation and a halo, dash patterns, grouping classes and one element per line
//! for readable golden diffs, none of which plotters' backend offers, and its text measuring
//! depends on system fonts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::font::{self, FONT_STACK};

/// A point in pixels, y down.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Pt {
    pub x: f64,
    pub y: f64,
}

pub const fn pt(x: f64, y: f64) -> Pt {
    Pt { x, y }
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Stroke {
    pub color: &'static str,
    pub width: f64,
    /// An SVG `stroke-dasharray`, e.g. `"6 4"`.
    pub dash: Option<&'static str>,
}

impl Stroke {
    pub const fn solid(color: &'static str, width: f64) -> Stroke {
        Stroke { color, width, dash: None }
    }

    pub const fn dashed(color: &'static str, width: f64, dash: &'static str) -> Stroke {
        Stroke { color, width, dash: Some(dash) }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// One line of text. `at` is the anchor point on the baseline; `rotate` (degrees, clockwise)
/// turns the text about that point.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub at: Pt,
    pub size: f64,
    pub anchor: Anchor,
    pub fill: &'static str,
    pub rotate: f64,
    pub italic: bool,
    /// Paint a background-coloured outline under the glyphs so lines behind stay readable.
    pub halo: bool,
    pub content: String,
}

impl Text {
    pub fn new(content: impl Into<String>, at: Pt, size: f64, anchor: Anchor) -> Text {
        Text { at, size, anchor, fill: INK, rotate: 0.0, italic: false, halo: false, content: content.into() }
    }

    pub fn width(&self) -> f64 {
        font::text_width(&self.content, self.size)
    }

    /// The box the glyphs can occupy (advance width × ascent+descent), rotated like the text.
    pub fn quad(&self) -> Quad {
        let w = self.width();
        let x0 = match self.anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => -w / 2.0,
            Anchor::End => -w,
        };
        let (top, bottom) = (-font::ASCENT * self.size, font::DESCENT * self.size);
        let (s, c) = self.rotate.to_radians().sin_cos();
        let p = |dx: f64, dy: f64| pt(self.at.x + dx * c - dy * s, self.at.y + dx * s + dy * c);
        Quad([p(x0, top), p(x0 + w, top), p(x0 + w, bottom), p(x0, bottom)])
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Line {
        from: Pt,
        to: Pt,
        stroke: Stroke,
    },
    /// A cubic Bézier curve.
    Curve {
        from: Pt,
        c1: Pt,
        c2: Pt,
        to: Pt,
        stroke: Stroke,
    },
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        rx: f64,
        fill: &'static str,
        stroke: Option<Stroke>,
    },
    Circle {
        c: Pt,
        r: f64,
        fill: &'static str,
        stroke: Option<Stroke>,
    },
    /// A filled polygon (arrowheads).
    Polygon {
        points: Vec<Pt>,
        fill: &'static str,
    },
    Text(Text),
}

/// A shape with the class that says what it shows (`segment`, `state`, `label`, ...): for
/// styling by users and for tests that look for one kind of element.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub class: &'static str,
    pub shape: Shape,
}

pub const INK: &str = "#1f2328";
pub const BACKGROUND: &str = "#ffffff";

#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub width: f64,
    pub height: f64,
    pub title: String,
    pub items: Vec<Item>,
}

impl Scene {
    pub fn new(title: impl Into<String>) -> Scene {
        Scene { width: 0.0, height: 0.0, title: title.into(), items: Vec::new() }
    }

    pub fn push(&mut self, class: &'static str, shape: Shape) {
        self.items.push(Item { class, shape });
    }

    pub fn texts(&self) -> impl Iterator<Item = (&'static str, &Text)> {
        self.items.iter().filter_map(|i| match &i.shape {
            Shape::Text(t) => Some((i.class, t)),
            _ => None,
        })
    }

    /// The SVG document: self-contained, one element per line, numbers with at most one
    /// decimal, so equal scenes give byte-identical files.
    pub fn to_svg(&self) -> String {
        let mut s = String::new();
        let (w, h) = (num(self.width), num(self.height));
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{}">"#,
            escape(FONT_STACK)
        );
        let _ = writeln!(s, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(s, r#"<rect class="background" width="{w}" height="{h}" fill="{BACKGROUND}"/>"#);
        for item in &self.items {
            write_item(&mut s, item);
        }
        s.push_str("</svg>\n");
        s
    }
}

fn write_item(s: &mut String, item: &Item) {
    let class = item.class;
    let _ = match &item.shape {
        Shape::Line { from, to, stroke } => writeln!(
            s,
            r#"<line class="{class}" x1="{}" y1="{}" x2="{}" y2="{}"{}/>"#,
            num(from.x),
            num(from.y),
            num(to.x),
            num(to.y),
            stroke_attrs(stroke)
        ),
        Shape::Curve { from, c1, c2, to, stroke } => writeln!(
            s,
            r#"<path class="{class}" d="M{},{} C{},{} {},{} {},{}" fill="none"{}/>"#,
            num(from.x),
            num(from.y),
            num(c1.x),
            num(c1.y),
            num(c2.x),
            num(c2.y),
            num(to.x),
            num(to.y),
            stroke_attrs(stroke)
        ),
        Shape::Rect { x, y, w, h, rx, fill, stroke } => writeln!(
            s,
            r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{fill}"{}/>"#,
            num(*x),
            num(*y),
            num(*w),
            num(*h),
            num(*rx),
            stroke.as_ref().map(stroke_attrs).unwrap_or_default()
        ),
        Shape::Circle { c, r, fill, stroke } => writeln!(
            s,
            r#"<circle class="{class}" cx="{}" cy="{}" r="{}" fill="{fill}"{}/>"#,
            num(c.x),
            num(c.y),
            num(*r),
            stroke.as_ref().map(stroke_attrs).unwrap_or_default()
        ),
        Shape::Polygon { points, fill } => {
            let pts: Vec<String> = points.iter().map(|p| format!("{},{}", num(p.x), num(p.y))).collect();
            writeln!(s, r#"<polygon class="{class}" points="{}" fill="{fill}"/>"#, pts.join(" "))
        }
        Shape::Text(t) => {
            let anchor = match t.anchor {
                Anchor::Start => "",
                Anchor::Middle => r#" text-anchor="middle""#,
                Anchor::End => r#" text-anchor="end""#,
            };
            let rotate = if t.rotate == 0.0 {
                String::new()
            } else {
                format!(r#" transform="rotate({} {} {})""#, num(t.rotate), num(t.at.x), num(t.at.y))
            };
            let italic = if t.italic { r#" font-style="italic""# } else { "" };
            let halo = if t.halo {
                format!(r#" stroke="{BACKGROUND}" stroke-width="4" stroke-linejoin="round" paint-order="stroke""#)
            } else {
                String::new()
            };
            writeln!(
                s,
                r#"<text class="{class}" x="{}" y="{}" font-size="{}" fill="{}"{anchor}{italic}{halo}{rotate}>{}</text>"#,
                num(t.at.x),
                num(t.at.y),
                num(t.size),
                t.fill,
                escape(&t.content)
            )
        }
    };
}

fn stroke_attrs(st: &Stroke) -> String {
    let mut a = format!(r#" stroke="{}" stroke-width="{}""#, st.color, num(st.width));
    if let Some(d) = st.dash {
        let _ = write!(a, r#" stroke-dasharray="{d}""#);
    }
    a
}

/// One decimal, no trailing `.0`, no `-0`: stable text for stable goldens.
pub fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    let r = if r == 0.0 { 0.0 } else { r };
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A convex quadrilateral: a text box, possibly rotated.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Quad(pub [Pt; 4]);

impl Quad {
    pub fn rect(x: f64, y: f64, w: f64, h: f64) -> Quad {
        Quad([pt(x, y), pt(x + w, y), pt(x + w, y + h), pt(x, y + h)])
    }

    /// Grown by `m` on every side (for rotated boxes: along its own axes).
    pub fn grow(&self, m: f64) -> Quad {
        let [a, b, _, d] = self.0;
        let unit = |p: Pt, q: Pt| {
            let l = ((q.x - p.x).powi(2) + (q.y - p.y).powi(2)).sqrt().max(1e-9);
            pt((q.x - p.x) / l * m, (q.y - p.y) / l * m)
        };
        let u = unit(a, b);
        let v = unit(a, d);
        let [p0, p1, p2, p3] = self.0;
        Quad([
            pt(p0.x - u.x - v.x, p0.y - u.y - v.y),
            pt(p1.x + u.x - v.x, p1.y + u.y - v.y),
            pt(p2.x + u.x + v.x, p2.y + u.y + v.y),
            pt(p3.x - u.x + v.x, p3.y - u.y + v.y),
        ])
    }

    /// Whether the interiors intersect (separating axis theorem; touching is not overlap).
    pub fn overlaps(&self, other: &Quad) -> bool {
        for q in [self, other] {
            for i in 0..4 {
                let (p, r) = (q.0[i], q.0[(i + 1) % 4]);
                let axis = pt(-(r.y - p.y), r.x - p.x);
                let proj = |quad: &Quad| {
                    quad.0.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
                        let d = c.x * axis.x + c.y * axis.y;
                        (lo.min(d), hi.max(d))
                    })
                };
                let (a0, a1) = proj(self);
                let (b0, b1) = proj(other);
                if a1 <= b0 + 1e-6 || b1 <= a0 + 1e-6 {
                    return false;
                }
            }
        }
        true
    }

    pub fn inside(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
        self.0.iter().all(|p| p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1)
    }

    pub fn min_x(&self) -> f64 {
        self.0.iter().map(|p| p.x).fold(f64::MAX, f64::min)
    }
    pub fn max_x(&self) -> f64 {
        self.0.iter().map(|p| p.x).fold(f64::MIN, f64::max)
    }
    pub fn min_y(&self) -> f64 {
        self.0.iter().map(|p| p.y).fold(f64::MAX, f64::min)
    }
    pub fn max_y(&self) -> f64 {
        self.0.iter().map(|p| p.y).fold(f64::MIN, f64::max)
    }
}

/// Boxes already taken, for placing labels greedily where nothing else is.
///
/// Boxes are bucketed by height, so a check looks only at its neighbours: a diagram of
/// thousands of segments places its labels in linear time. A box may carry a tag (the arrow
/// it belongs to) so that a label can ignore its own arrow.
#[derive(Clone, Debug, Default)]
pub struct Occupied {
    buckets: BTreeMap<i64, Vec<(Quad, Option<usize>)>>,
    /// Boxes too tall to bucket, checked every time.
    tall: Vec<(Quad, Option<usize>)>,
}

/// Bucket height in pixels, and the most buckets one box is entered in.
const BUCKET: f64 = 64.0;
const MAX_SPAN: i64 = 64;

impl Occupied {
    fn span(q: &Quad) -> (i64, i64) {
        ((q.min_y() / BUCKET).floor() as i64, (q.max_y() / BUCKET).floor() as i64)
    }

    pub fn is_free(&self, q: &Quad) -> bool {
        self.is_free_except(q, None)
    }

    /// Free of every box but those tagged `except`.
    pub fn is_free_except(&self, q: &Quad, except: Option<usize>) -> bool {
        let clear = |(o, tag): &(Quad, Option<usize>)| (tag.is_some() && *tag == except) || !o.overlaps(q);
        let (lo, hi) = Self::span(q);
        self.tall.iter().all(clear) && self.buckets.range(lo..=hi).all(|(_, boxes)| boxes.iter().all(clear))
    }

    pub fn take(&mut self, q: Quad) {
        self.take_tagged(q, None);
    }

    pub fn take_tagged(&mut self, q: Quad, tag: Option<usize>) {
        let (lo, hi) = Self::span(&q);
        if hi - lo > MAX_SPAN {
            self.tall.push((q, tag));
            return;
        }
        for b in lo..=hi {
            self.buckets.entry(b).or_default().push((q, tag));
        }
    }
}

/// A filled arrowhead with its tip at `tip`, pointing away from `from`.
pub fn arrowhead(from: Pt, tip: Pt, len: f64, half: f64) -> Vec<Pt> {
    let (dx, dy) = (tip.x - from.x, tip.y - from.y);
    let l = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / l, dy / l);
    let base = pt(tip.x - ux * len, tip.y - uy * len);
    vec![tip, pt(base.x - uy * half, base.y + ux * half), pt(base.x + uy * half, base.y - ux * half)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(0.05), "0.1");
    }

    #[test]
    fn rotated_boxes_overlap_only_when_they_do() {
        let a = Quad::rect(0.0, 0.0, 10.0, 10.0);
        assert!(a.overlaps(&Quad::rect(5.0, 5.0, 10.0, 10.0)));
        assert!(!a.overlaps(&Quad::rect(10.0, 0.0, 10.0, 10.0)));
        // A diamond beside the square's corner: their bounding boxes overlap, they do not.
        let d = Quad([pt(15.0, 8.0), pt(20.0, 13.0), pt(15.0, 18.0), pt(10.0, 13.0)]);
        assert!(!a.overlaps(&d));
    }

    #[test]
    fn occupied_boxes_are_found_across_buckets_and_tags_are_ignored_on_request() {
        let mut occ = Occupied::default();
        occ.take(Quad::rect(0.0, 60.0, 10.0, 10.0));
        occ.take_tagged(Quad::rect(100.0, 0.0, 2.0, 10_000.0), Some(7));
        assert!(!occ.is_free(&Quad::rect(5.0, 50.0, 10.0, 12.0)));
        assert!(occ.is_free(&Quad::rect(20.0, 50.0, 10.0, 12.0)));
        assert!(!occ.is_free(&Quad::rect(95.0, 5000.0, 10.0, 10.0)));
        assert!(occ.is_free_except(&Quad::rect(95.0, 5000.0, 10.0, 10.0), Some(7)));
    }

    #[test]
    fn text_is_escaped() {
        let mut s = Scene::new("a<b");
        s.width = 10.0;
        s.height = 10.0;
        s.push("label", Shape::Text(Text::new("x & y", pt(1.0, 2.0), 12.0, Anchor::Start)));
        let svg = s.to_svg();
        assert!(svg.contains("<title>a&lt;b</title>"));
        assert!(svg.contains(">x &amp; y</text>"));
    }
}
