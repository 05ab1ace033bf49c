//! The left margin: frame numbers where arrows cross the capture point (uniform scale), or a
//! time axis (time scale).

use super::layout::{Canvas, Columns, GREY, LIGHT, MARGIN, SMALL};
use super::model::{Arrow, Block};
use crate::output::svg::{pt, Anchor, Shape, Stroke, Text};

/// `#12  +0.070034`: the frame and its capture time since the connection's first frame.
pub(super) fn frame_text(a: &Arrow) -> String {
    format!("#{}  +{:.6}", a.frame, a.seen)
}

/// Each captured arrow's frame number at the height where it crosses the capture point,
/// pushed down where two would collide.
pub(super) fn frame_numbers(c: &mut Canvas, cols: &Columns, arrows: &[Arrow], ys: &[Option<(f64, f64)>]) {
    let mut rows: Vec<(f64, String)> = arrows
        .iter()
        .zip(ys)
        .filter(|(a, _)| !a.is_ghost())
        .filter_map(|(a, y)| {
            let (s, e) = (*y)?;
            Some((cols.capture_y(a, s, e), frame_text(a)))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut next_free = f64::MIN;
    for (yc, text) in rows {
        let base = (yc + 4.0).max(next_free + 13.0);
        next_free = base;
        let mut t = Text::new(text, pt(MARGIN, base), SMALL, Anchor::Start);
        t.fill = GREY;
        c.scene.push("frame", Shape::Text(t));
    }
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
pub(super) fn time_axis(c: &mut Canvas, arrows: &[Arrow], ys: &[Option<(f64, f64)>], blocks: &[Block], x: f64) {
    for b in blocks {
        let Block::Shown(r) = b else { continue };
        let pts: Vec<(f64, f64)> = r
            .clone()
            .filter_map(|i| ys[i].map(|(s, e)| ((arrows[i].send, s), (arrows[i].arrive, e))))
            .flat_map(|(a, b)| [a, b])
            .collect();
        let (Some(lo), Some(hi)) =
            (pts.iter().min_by(|a, b| a.1.total_cmp(&b.1)), pts.iter().max_by(|a, b| a.1.total_cmp(&b.1)))
        else {
            continue;
        };
        c.scene.push("axis", Shape::Line { from: pt(x, lo.1), to: pt(x, hi.1), stroke: Stroke::solid(LIGHT, 1.0) });
        let (t0, t1) = (lo.0, hi.0);
        let span = (t1 - t0).max(1e-9);
        let pps = (hi.1 - lo.1) / span;
        let raw = 60.0 / pps.max(1e-9);
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
        let mut k = (t0 / step).ceil();
        while k * step <= t1 + 1e-12 {
            let t = k * step;
            let y = lo.1 + (t - t0) * pps;
            c.scene.push("axis", Shape::Line { from: pt(x - 4.0, y), to: pt(x, y), stroke: Stroke::solid(LIGHT, 1.0) });
            let text = if step < 1.0 {
                let decimals = (-(step * 1e3).log10().floor()).max(0.0) as usize;
                signed(t * 1e3, decimals) + " ms"
            } else {
                let decimals = (-step.log10().floor()).max(0.0) as usize;
                signed(t, decimals) + " s"
            };
            let mut label = Text::new(text, pt(x - 7.0, y + 4.0), SMALL, Anchor::End);
            label.fill = GREY;
            c.scene.push("axis", Shape::Text(label));
            k += 1.0;
        }
    }
}
