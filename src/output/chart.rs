//! State timelines over real time, drawn with plotters: one lane per endpoint (two per
//! connection) coloured by state, and for many connections the aggregate "netstat over time"
//! (how many endpoints were in each state at each instant) above the top-N lanes.
//!
//! [`model`] is the pure layout (testable by numbers); [`render_svg`] and [`render_png`] only
//! draw it. Text is measured with the bundled DejaVu Sans (`assets/`), so the layout is the
//! same on every machine and the PNG needs no system font.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::frame::Timestamp;
use crate::output::time::utc;
use crate::summary::{visits, Summary};
use crate::tcp::state::State;
use crate::timeline::{Connection, Role};
use crate::Report;

/// Connections drawn as lanes before the chart switches to aggregate + top-N.
pub const MAX_LANE_CONNECTIONS: usize = 30;
/// Columns of the aggregate view: time-weighted averages per bin keep short spikes' mass.
const BINS: usize = 600;
const WIDTH: u32 = 1400;
const LANE_PX: u32 = 22;
const LEGEND_PX: u32 = 40;
const AGGREGATE_PX: u32 = 420;
const FONT: &str = "sans-serif";
/// Room for lane labels such as `#12345 server [2001:db8::1]:443`.
const LABEL_PX: u32 = 300;

/// Which connections to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// These connection ids (Wireshark tcp.stream numbers).
    Ids(Vec<u64>),
    /// Every connection: lanes when few, otherwise the aggregate and the top-N lanes.
    All,
}

/// One stay in a state, in seconds since the capture start.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub state: State,
    pub from: f64,
    pub until: f64,
    /// Drawn pale: no captured segment shows the step into this state.
    pub inferred: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    pub connection: u64,
    pub role: Role,
    pub label: String,
    pub spans: Vec<Span>,
}

/// Endpoints per state over time: `counts[state][bin]` is the average number of endpoints in
/// `state` during bin `bin`, which starts at `bin_width * bin` seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    pub bin_width: f64,
    pub counts: BTreeMap<State, Vec<f64>>,
    pub peak: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChartModel {
    pub title: String,
    /// Time zero of the x axis.
    pub origin: Timestamp,
    /// What `origin` is, for the axis title: the capture's start or the first chosen
    /// connection's.
    pub origin_is: &'static str,
    /// Seconds from `origin` to the end of the capture.
    pub span: f64,
    pub lanes: Vec<Lane>,
    pub aggregate: Option<Aggregate>,
    /// Says what is not drawn (top-N of how many, and how they were chosen).
    pub note: Option<String>,
}

/// States drawn, in legend and stacking order. CLOSED is no connection. LISTEN is drawn in
/// lanes (the server before the SYN arrives) but never counted in the aggregate.
pub const DRAWN: [State; 10] = [
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

/// One colour per state: the problem states (CLOSE_WAIT, TIME_WAIT, FIN_WAIT_2) stand out.
pub fn color(state: State) -> RGBColor {
    match state {
        State::Closed => RGBColor(255, 255, 255),
        State::Listen => RGBColor(217, 217, 217),
        State::SynSent => RGBColor(158, 202, 225),
        State::SynRcvd => RGBColor(66, 146, 198),
        State::Established => RGBColor(65, 171, 93),
        State::FinWait1 => RGBColor(253, 174, 107),
        State::FinWait2 => RGBColor(230, 85, 13),
        State::CloseWait => RGBColor(203, 24, 29),
        State::Closing => RGBColor(148, 103, 189),
        State::LastAck => RGBColor(188, 189, 34),
        State::TimeWait => RGBColor(99, 99, 99),
    }
}

/// The colour of a stay that was inferred, not seen: the state's colour, half-way to white.
pub fn pale(state: State) -> RGBColor {
    let RGBColor(r, g, b) = color(state);
    let mix = |c: u8| ((u16::from(c) + 255) / 2) as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// Lays out the chart. Unknown ids are an error naming them.
pub fn model(
    report: &Report,
    conns: &[Connection],
    selection: &Selection,
    summary: &Summary,
) -> Result<ChartModel, String> {
    let capture_start = report.first_ts.or_else(|| conns.iter().map(|c| c.start).min()).unwrap_or_default();
    let capture_end = report.last_ts.or_else(|| conns.iter().map(|c| c.end).max()).unwrap_or(capture_start);
    let chosen: Vec<&Connection> = match selection {
        Selection::All => conns.iter().collect(),
        Selection::Ids(ids) => {
            let wanted: BTreeSet<u64> = ids.iter().copied().collect();
            let present: BTreeSet<u64> = conns.iter().map(|c| c.id).collect();
            let missing: Vec<String> = wanted.difference(&present).map(u64::to_string).collect();
            if !missing.is_empty() {
                return Err(super::no_connection(missing.join(", "), conns.len() as u64));
            }
            conns.iter().filter(|c| wanted.contains(&c.id)).collect()
        }
    };
    let ((origin, end), origin_is) = match selection {
        Selection::All => ((capture_start, capture_end), "capture start"),
        Selection::Ids(_) => (window(&chosen, capture_end), "first connection start"),
    };
    let span = end.since(origin).as_secs_f64().max(1e-6);
    let secs = |t: Timestamp| t.since(origin).as_secs_f64().clamp(0.0, span);
    let many = chosen.len() > MAX_LANE_CONNECTIONS;
    let (laned, note) = if many {
        let top = rank(&chosen, summary);
        let note = format!(
            "{} connections: the aggregate shows all; lanes show the {} most suspicious \
             (by diagnoses), then longest",
            chosen.len(),
            MAX_LANE_CONNECTIONS
        );
        (top, Some(note))
    } else {
        let mut all = chosen.clone();
        all.sort_by_key(|c| c.id);
        (all, None)
    };
    let mut lanes = Vec::with_capacity(laned.len() * 2);
    for c in &laned {
        for role in [Role::Client, Role::Server] {
            let addr = match role {
                Role::Client => c.client,
                Role::Server => c.server,
            };
            let spans = visits(c.endpoints.get(role), end)
                .into_iter()
                .filter(|v| v.state != State::Closed)
                .map(|v| Span { state: v.state, from: secs(v.from), until: secs(v.until), inferred: v.inferred })
                .collect();
            lanes.push(Lane { connection: c.id, role, label: format!("#{} {role} {addr}", c.id), spans });
        }
    }
    let aggregate = many.then(|| aggregate(&chosen, origin, end, span));
    let files: Vec<String> = report.files.iter().map(|p| p.display().to_string()).collect();
    Ok(ChartModel {
        title: format!("{} — TCP endpoint states", files.join(", ")),
        origin,
        origin_is,
        span,
        lanes,
        aggregate,
        note,
    })
}

/// The time window of chosen connections: from the first one's start to its last transition
/// or frame, plus a tenth for the stays that go on (within the capture). A short connection
/// in a long capture then fills the chart instead of being a sliver.
fn window(chosen: &[&Connection], capture_end: Timestamp) -> (Timestamp, Timestamp) {
    let start = chosen.iter().map(|c| c.start).min().unwrap_or_default();
    let last = chosen
        .iter()
        .flat_map(|c| {
            let steps =
                [&c.endpoints.client, &c.endpoints.server].into_iter().flat_map(|t| t.timeline.iter().map(|tr| tr.ts));
            steps.chain(std::iter::once(c.end))
        })
        .max()
        .unwrap_or(start);
    let margin = crate::frame::Duration(last.since(start).0 / 10);
    let end = last.saturating_add(margin).min(capture_end.max(last));
    (start, end)
}

/// The connections to show as lanes: most diagnoses first, then longest, then lowest id.
fn rank<'a>(chosen: &[&'a Connection], summary: &Summary) -> Vec<&'a Connection> {
    let mut weight: BTreeMap<u64, usize> = BTreeMap::new();
    for d in &summary.diagnoses {
        for f in &d.findings {
            *weight.entry(f.connection).or_insert(0) += 1;
        }
    }
    let mut v: Vec<&Connection> = chosen.to_vec();
    v.sort_by(|a, b| {
        let wa = weight.get(&a.id).copied().unwrap_or(0);
        let wb = weight.get(&b.id).copied().unwrap_or(0);
        wb.cmp(&wa).then(b.duration.cmp(&a.duration)).then(a.id.cmp(&b.id))
    });
    v.truncate(MAX_LANE_CONNECTIONS);
    v.sort_by_key(|c| c.id);
    v
}

/// Integrates every visit into the bins it overlaps: exact time-weighted averages.
fn aggregate(chosen: &[&Connection], origin: Timestamp, end: Timestamp, span: f64) -> Aggregate {
    let width = span / BINS as f64;
    let mut counts: BTreeMap<State, Vec<f64>> =
        DRAWN.iter().filter(|s| **s != State::Listen).map(|s| (*s, vec![0.0; BINS])).collect();
    for c in chosen {
        for role in [Role::Client, Role::Server] {
            for v in visits(c.endpoints.get(role), end) {
                let Some(series) = counts.get_mut(&v.state) else {
                    continue;
                };
                let a = v.from.since(origin).as_secs_f64();
                let b = v.until.since(origin).as_secs_f64();
                if b <= a {
                    continue;
                }
                let first = ((a / width).floor() as usize).min(BINS - 1);
                let last = ((b / width).ceil() as usize).clamp(first + 1, BINS);
                for (i, slot) in series.iter_mut().enumerate().take(last).skip(first) {
                    let lo = a.max(i as f64 * width);
                    let hi = b.min((i + 1) as f64 * width);
                    if hi > lo {
                        *slot += (hi - lo) / width;
                    }
                }
            }
        }
    }
    let peak = (0..BINS).map(|i| counts.values().map(|s| s[i]).sum::<f64>()).fold(0.0, f64::max);
    Aggregate { bin_width: width, counts, peak }
}

/// A readable time axis: the unit follows the capture's length.
fn time_unit(span: f64) -> (f64, &'static str) {
    if span >= 2.0 * 86_400.0 {
        (86_400.0, "days")
    } else if span >= 2.0 * 3_600.0 {
        (3_600.0, "hours")
    } else if span >= 120.0 {
        (60.0, "minutes")
    } else if span >= 2.0 {
        (1.0, "seconds")
    } else {
        (0.001, "milliseconds")
    }
}

fn register_font() -> Result<(), String> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, include_bytes!("../../assets/DejaVuSans.ttf")).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("the bundled font could not be loaded".to_string())
    }
}

/// Title, subtitle and the optional note line above the legend.
fn header_px(m: &ChartModel) -> u32 {
    if m.note.is_some() {
        90
    } else {
        70
    }
}

/// Canvas size for a model.
pub fn size(m: &ChartModel) -> (u32, u32) {
    let lanes = m.lanes.len() as u32;
    let header = header_px(m);
    let legend = LEGEND_PX;
    let agg = if m.aggregate.is_some() { AGGREGATE_PX } else { 0 };
    let lanes_px = if lanes > 0 { 90 + lanes * LANE_PX } else { 0 };
    (WIDTH, header + legend + agg + lanes_px)
}

pub fn render_svg(m: &ChartModel) -> Result<String, String> {
    register_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size(m)).into_drawing_area();
        draw(&root, m).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

pub fn render_png(m: &ChartModel) -> Result<Vec<u8>, String> {
    register_font()?;
    let (w, h) = size(m);
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (w, h)).map_err(|e| e.to_string())?;
        let root = backend.into_drawing_area();
        draw(&root, m).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(png)
}

type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, m: &ChartModel) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    root.draw(&Text::new(m.title.clone(), (20, 12), (FONT, 20).into_font().color(&BLACK)))?;
    let grey = (FONT, 14).into_font().color(&RGBColor(80, 80, 80));
    let sub = format!("time since {}  ·  pale: inferred (no captured segment shows that step)", utc(m.origin));
    root.draw(&Text::new(sub, (20, 40), grey.clone()))?;
    if let Some(note) = &m.note {
        root.draw(&Text::new(note.clone(), (20, 60), grey))?;
    }
    let header = header_px(m);
    legend(root, header as i32, w)?;
    let body = root.margin(header + LEGEND_PX, 10, 10, 10);
    let (unit, unit_name) = time_unit(m.span);
    let x_max = m.span / unit;
    let x_label = format!("{unit_name} since {}", m.origin_is);
    match &m.aggregate {
        Some(agg) => {
            let (top, bottom) = body.split_vertically(AGGREGATE_PX);
            draw_aggregate(&top, agg, unit, x_max, &x_label)?;
            if !m.lanes.is_empty() {
                draw_lanes(&bottom, &m.lanes, unit, x_max, &x_label)?;
            }
        }
        None => draw_lanes(&body, &m.lanes, unit, x_max, &x_label)?,
    }
    Ok(())
}

fn legend<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, y: i32, width: u32) -> DrawResult<(), DB> {
    let step = (width as i32 - 40) / DRAWN.len() as i32;
    for (i, s) in DRAWN.iter().enumerate() {
        let x = 20 + i as i32 * step;
        root.draw(&Rectangle::new([(x, y), (x + 18, y + 18)], color(*s).filled()))?;
        root.draw(&Text::new(s.rfc_name(), (x + 24, y + 2), (FONT, 14).into_font().color(&BLACK)))?;
    }
    Ok(())
}

fn draw_aggregate<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    agg: &Aggregate,
    unit: f64,
    x_max: f64,
    x_label: &str,
) -> DrawResult<(), DB> {
    let y_max = (agg.peak * 1.1).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .caption("Endpoints in each state (netstat over time)", (FONT, 16).into_font())
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("endpoints")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let bins = agg.counts.values().next().map_or(0, Vec::len);
    let mut cumulative = vec![0.0; bins];
    let mut layers = Vec::new();
    for s in DRAWN {
        if let Some(series) = agg.counts.get(&s) {
            for (c, v) in cumulative.iter_mut().zip(series) {
                *c += v;
            }
            layers.push((s, cumulative.clone()));
        }
    }
    // Tallest first, so each smaller cumulative layer paints over it: a stacked area.
    for (s, top) in layers.iter().rev() {
        let points = top.iter().enumerate().flat_map(|(i, v)| {
            let x0 = i as f64 * agg.bin_width / unit;
            let x1 = (i + 1) as f64 * agg.bin_width / unit;
            [(x0, *v), (x1, *v)]
        });
        chart.draw_series(AreaSeries::new(points, 0.0, color(*s).filled()))?;
    }
    Ok(())
}

fn draw_lanes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lanes: &[Lane],
    unit: f64,
    x_max: f64,
    x_label: &str,
) -> DrawResult<(), DB> {
    let n = lanes.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption("Per-endpoint timelines", (FONT, 16).into_font())
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(LABEL_PX)
        .build_cartesian_2d(0.0..x_max, 0.0..n)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_labels(0)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .disable_y_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let label_style = TextStyle::from((FONT, 12).into_font()).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, lane) in lanes.iter().enumerate() {
        // Lane 0 at the top (plotters' y grows upwards), with a gap between lanes and a
        // wider one between connections.
        let top = n - i as f64;
        let (hi, lo) = match lane.role {
            Role::Client => (top - 0.12, top - 0.97),
            Role::Server => (top - 0.03, top - 0.88),
        };
        chart.draw_series(lane.spans.iter().map(|s| {
            let x0 = s.from / unit;
            // A zero-length stay still gets a hairline, so every visited state is visible.
            let x1 = (s.until / unit).max(x0 + x_max / 700.0);
            let fill = if s.inferred { pale(s.state) } else { color(s.state) };
            Rectangle::new([(x0, lo), (x1, hi)], fill.filled())
        }))?;
        chart.draw_series(std::iter::once(
            EmptyElement::at((0.0, (hi + lo) / 2.0)) + Text::new(lane.label.clone(), (-8, 0), label_style.clone()),
        ))?;
    }
    Ok(())
}
