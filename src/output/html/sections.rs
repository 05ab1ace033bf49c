//! The sections of the report page, in page order. Each appends to the page; every
//! capture-derived string passes through [`escape`].

use std::fmt::Write as _;

use super::{escape, inline_svg, Ctx};
use crate::frame::Timestamp;
use crate::output::chart::{self, Selection};
use crate::output::plural;
use crate::output::seqdiag;
use crate::output::statediag::{self, Overlay};
use crate::output::summary_text::human;
use crate::output::time::{relative, utc};
use crate::summary::{Finding, IdList, StateTime};
use crate::timeline::{Cause, Connection, Role, RoleBasis, Transition};

/// Ids listed per outcome before "+N more" (the table's outcome filter shows them all).
const SHOWN_IDS: usize = 40;
/// Findings listed per diagnosis (the table's "only with diagnoses" filter shows them all).
const SHOWN_FINDINGS: usize = 20;

impl Ctx<'_> {
    fn origin(&self) -> Timestamp {
        self.report.first_ts.or_else(|| self.conns.first().map(|c| c.start)).unwrap_or_default()
    }

    fn ids(&self, list: &IdList) -> String {
        let mut s: Vec<String> = list.ids.iter().take(SHOWN_IDS).map(|id| self.conn_link(*id)).collect();
        if list.ids.len() > SHOWN_IDS {
            s.push(format!("… (+{} more)", list.ids.len() - SHOWN_IDS));
        }
        s.join(", ")
    }
}

pub(super) fn header(page: &mut String, ctx: &Ctx) {
    let s = ctx.summary;
    let span = match (s.first_ts, s.last_ts) {
        (Some(a), Some(b)) => format!("{} → {} ({})", utc(a), utc(b), human(b.since(a))),
        _ => "no frames".to_string(),
    };
    let skipped: Vec<String> = s.frames.skipped.iter().map(|(why, n)| format!("{n} {why}")).collect();
    let skipped = if skipped.is_empty() { String::new() } else { format!("; skipped: {}", skipped.join(", ")) };
    let _ = write!(
        page,
        "<header>\n<h1>tcpstate report</h1>\n<p class=\"files\">{}</p>\n\
         <p>{} ({} TCP{}), {}, {}</p>\n\
         <nav><a href=\"#summary\">Summary</a><a href=\"#connections\">Connections</a>\
         <a href=\"#overview\">Over time</a><a href=\"#details\">Details</a></nav>\n</header>\n",
        s.files.iter().map(|f| escape(f)).collect::<Vec<_>>().join("<br>"),
        plural(s.frames.total, "frame", "frames"),
        s.frames.tcp,
        escape(&skipped),
        plural(s.connections, "connection", "connections"),
        escape(&span)
    );
    if !ctx.report.warnings.is_empty() {
        page.push_str("<div class=\"warnings\"><strong>Warnings</strong>\n<ul>\n");
        for w in &ctx.report.warnings {
            let _ = writeln!(page, "<li>{}</li>", escape(w));
        }
        page.push_str("</ul></div>\n");
    }
}

pub(super) fn summary(page: &mut String, ctx: &Ctx) {
    let s = ctx.summary;
    page.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<h3>How the connections ended</h3>\n");
    page.push_str("<table>\n<tr><th>outcome</th><th class=\"n\">count</th><th>connections</th></tr>\n");
    for g in &s.outcomes {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&g.label),
            g.connections.count,
            ctx.ids(&g.connections)
        );
    }
    if s.picked_up_mid_stream.count > 0 {
        let _ = writeln!(
            page,
            "<tr><td class=\"muted\">(of which picked up mid-stream: roles guessed by port)</td>\
             <td class=\"n\">{}</td><td>{}</td></tr>",
            s.picked_up_mid_stream.count,
            ctx.ids(&s.picked_up_mid_stream)
        );
    }
    page.push_str("</table>\n<h3>Diagnoses</h3>\n");
    if s.diagnoses.is_empty() {
        page.push_str("<p>None: no connection shows a known problem.</p>\n");
    }
    for d in &s.diagnoses {
        let _ = write!(
            page,
            "<div class=\"diagnosis\">\n<h3>{} — {}</h3>\n<p>{}</p>\n<table>\n\
             <tr><th class=\"n\">connection</th><th>endpoint</th><th>frames</th><th>lasted</th></tr>\n",
            escape(d.title),
            plural(d.connections, "connection", "connections"),
            escape(d.explanation)
        );
        for f in d.findings.iter().take(SHOWN_FINDINGS) {
            finding_row(page, ctx, f);
        }
        page.push_str("</table>\n");
        if d.findings.len() > SHOWN_FINDINGS {
            let _ = writeln!(
                page,
                "<p class=\"muted\">… {} more: tick “only with diagnoses” above the connection table.</p>",
                d.findings.len() - SHOWN_FINDINGS
            );
        }
        page.push_str("</div>\n");
    }
    page.push_str(
        "<h3>Time in each state</h3>\n<p class=\"muted\">One sample per visit; the last state of a \
         timeline lasts until the capture ends (“open”: still there, its time a lower bound).</p>\n\
         <div class=\"cards\">\n",
    );
    for (side, times) in [("Client", &s.time_in_state.client), ("Server", &s.time_in_state.server)] {
        let _ = write!(
            page,
            "<table>\n<tr><th colspan=\"7\">{side} endpoints</th></tr>\n<tr><th>state</th><th class=\"n\">visits</th>\
             <th class=\"n\">p50</th><th class=\"n\">p90</th><th class=\"n\">max</th><th class=\"n\">max in</th>\
             <th class=\"n\">open</th></tr>\n"
        );
        for t in times {
            state_row(page, ctx, t);
        }
        page.push_str("</table>\n");
    }
    page.push_str("</div>\n<h3>Zeek conn_state</h3>\n");
    page.push_str("<table>\n<tr><th>conn_state</th><th class=\"n\">conn.log rows</th><th>meaning</th></tr>\n");
    for (k, n) in &s.zeek_conn_states {
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code></td><td class=\"n\">{n}</td><td>{}</td></tr>",
            escape(&k.to_string()),
            escape(k.meaning())
        );
    }
    page.push_str("</table>\n</section>\n");
}

fn finding_row(page: &mut String, ctx: &Ctx, f: &Finding) {
    let frames: Vec<String> = f.frames.iter().map(|x| x.to_string()).collect();
    let _ = writeln!(
        page,
        "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ctx.conn_link(f.connection),
        f.endpoint.map_or("–".to_string(), |r| r.to_string()),
        escape(&frames.join(", ")),
        f.duration.map_or(String::new(), human)
    );
}

fn state_row(page: &mut String, ctx: &Ctx, t: &StateTime) {
    let _ = writeln!(
        page,
        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
        t.state.name(ctx.opts.names()),
        t.visits,
        human(t.p50),
        human(t.p90),
        human(t.max),
        ctx.conn_link(t.max_connection),
        t.open_at_end
    );
}

/// All connections over time (the aggregate when there are many) and the arcs they took.
pub(super) fn overview(page: &mut String, ctx: &Ctx) -> Result<(), String> {
    page.push_str("<section id=\"overview\">\n<h2>Over time</h2>\n");
    if ctx.conns.is_empty() {
        page.push_str("<p>No TCP connection in the capture.</p>\n</section>\n");
        return Ok(());
    }
    let mut m = chart::model(ctx.report, ctx.all, &Selection::All, ctx.summary)?;
    // The files are named in the page header (escaped there).
    m.title = "TCP endpoint states over time".to_string();
    let _ = write!(
        page,
        "<div class=\"figure\">{}</div>\n<h3>Paths through the RFC 9293 state diagram</h3>\n<div class=\"figure\">{}</div>\n</section>\n",
        inline_svg(&chart::render_svg(&m)?),
        inline_svg(&statediag::render(&Overlay::counts(ctx.all), ctx.opts.names(), ctx.opts.seq.lang))
    );
    Ok(())
}

pub(super) fn table(page: &mut String, ctx: &Ctx) {
    let origin = ctx.origin();
    let n = ctx.conns.len();
    let _ = write!(
        page,
        "<section id=\"connections\">\n<h2>Connections</h2>\n\
         <p class=\"muted\">Ids are Wireshark's <code>tcp.stream</code>. Click a column to sort; \
         click a row with a linked id to see its diagrams.</p>\n\
         <div class=\"controls\"><input type=\"search\" id=\"filter\" \
         placeholder=\"filter: address, port, state, outcome, diagnosis…\" aria-label=\"filter\">\
         <select id=\"outcome\" aria-label=\"outcome\"><option value=\"\">every outcome</option>"
    );
    for g in &ctx.summary.outcomes {
        let label = escape(&g.label);
        let _ = write!(page, "<option value=\"{label}\">{label} ({})</option>", g.connections.count);
    }
    let _ = write!(
        page,
        "</select><label><input type=\"checkbox\" id=\"diagnosed\"> only with diagnoses</label>\
         <span id=\"shown\" class=\"muted\">{n} of {n} connections shown</span></div>\n\
         <table id=\"conns\">\n<thead><tr>\
         <th data-key=\"id\" data-type=\"num\" class=\"n\">id</th><th data-key=\"client\">client</th>\
         <th data-key=\"server\">server</th><th data-key=\"start\" data-type=\"num\" class=\"n\" title=\"seconds since the capture's first frame\">start (s)</th>\
         <th data-key=\"duration\" data-type=\"num\" class=\"n\">duration</th>\
         <th data-key=\"packets\" data-type=\"num\" class=\"n\">packets c→s / s→c</th>\
         <th data-key=\"bytes\" data-type=\"num\" class=\"n\">bytes c→s / s→c</th>\
         <th data-key=\"ending\">ending</th><th data-key=\"client_final\">client end</th>\
         <th data-key=\"server_final\">server end</th><th data-key=\"diagnoses\">diagnoses</th>\
         <th data-key=\"zeek\">Zeek conn_state history</th></tr></thead>\n<tbody>\n"
    );
    // Rows carry no classes (a capture may have 100,000 of them): the style sheet aligns the
    // columns by position.
    for c in &ctx.conns {
        let detailed = ctx.details.contains(&c.id);
        let zeek: Vec<String> = c.peers.zeek.iter().map(|z| format!("{} {}", z.conn_state, z.history)).collect();
        let diag = ctx.diagnosed.get(&c.id).map(|t| t.join(", ")).unwrap_or_default();
        let [up, down] = c.traffic;
        let _ = writeln!(
            page,
            "<tr data-id=\"{id}\"{class}><td>{link}</td><td>{client}</td><td>{server}</td><td>{start}</td>\
             <td data-v=\"{dur_ns}\">{dur}</td><td data-v=\"{pk}\">{up_p} / {down_p}</td>\
             <td data-v=\"{by}\">{up_b} / {down_b}</td><td>{ending}</td><td>{cf}</td><td>{sf}</td><td>{diag}</td>\
             <td>{zeek}</td></tr>",
            id = c.id,
            class = if detailed { " class=\"detailed\"" } else { "" },
            link = ctx.conn_link(c.id),
            client = escape(&c.client.to_string()),
            server = escape(&c.server.to_string()),
            start = relative(c.start, origin),
            dur_ns = c.duration.0,
            dur = human(c.duration),
            pk = up.packets + down.packets,
            up_p = up.packets,
            down_p = down.packets,
            by = up.bytes + down.bytes,
            up_b = up.bytes,
            down_b = down.bytes,
            ending = escape(&c.ending.to_string()),
            cf = c.endpoints.client.final_state.name(ctx.opts.names()),
            sf = c.endpoints.server.final_state.name(ctx.opts.names()),
            diag = escape(&diag),
            zeek = escape(&zeek.join(" | ")),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}

pub(super) fn details(page: &mut String, ctx: &Ctx) -> Result<(), String> {
    let total = ctx.conns.len();
    let shown = ctx.details.len();
    let named = ctx.diagnosed.keys().filter(|id| ctx.details.contains(id)).count();
    let _ = write!(page, "<section id=\"details\">\n<h2>Connection details</h2>\n<p>");
    if total == 0 {
        page.push_str("No connection to draw.</p>\n</section>\n");
        return Ok(());
    }
    if shown == total {
        let _ = write!(page, "Every connection has its diagrams here. ");
    } else {
        let _ = write!(
            page,
            "Diagrams are embedded for {shown} of {total} connections, to keep this file small: {}the lowest \
             ids (<code>--max-details</code> sets how many). For any other: \
             <code>tcpstate diagram CAPTURE --conn ID</code>. ",
            if named == 0 {
                String::new()
            } else {
                format!(
                    "{} named in a diagnosis (each diagnosis's worst first), then ",
                    plural(named, "connection", "connections")
                )
            },
        );
    }
    page.push_str("Click a linked id in the table or the summary to open one; Esc closes it.</p>\n");
    for c in ctx.conns.iter().filter(|c| ctx.details.contains(&c.id)) {
        detail(page, ctx, c)?;
    }
    page.push_str("</section>\n");
    Ok(())
}

fn detail(page: &mut String, ctx: &Ctx, c: &Connection) -> Result<(), String> {
    let packets = c.traffic[0].packets + c.traffic[1].packets;
    let _ = write!(
        page,
        "<article class=\"detail\" id=\"conn-{id}\">\n\
         <a class=\"close\" href=\"#connections\" title=\"close (Esc)\">×</a>\n<h3>Connection {id}: client {} → server {}</h3>\n\
         <p>{}; {} (frames {}–{}), duration {}.</p>\n",
        escape(&c.client.to_string()),
        escape(&c.server.to_string()),
        escape(&c.ending.to_string()),
        plural(packets, "frame", "frames"),
        c.first_frame,
        c.last_frame,
        human(c.duration),
        id = c.id,
    );
    if c.roles == RoleBasis::Port {
        page.push_str("<p class=\"muted\">No handshake seen: roles guessed from the ports.</p>\n");
    }
    if let Some(titles) = ctx.diagnosed.get(&c.id) {
        let _ = writeln!(page, "<p class=\"diag\">Diagnoses: {}.</p>", escape(&titles.join(", ")));
    }
    if !c.notes.is_empty() {
        page.push_str("<ul>\n");
        for n in &c.notes {
            let _ = writeln!(page, "<li>frame {}: {}: {}</li>", n.frame, n.by, escape(&n.kind.to_string()));
        }
        page.push_str("</ul>\n");
    }
    timeline_table(page, ctx, c);
    let seq = match seqdiag::render(c, &ctx.opts.seq) {
        Ok(svg) => inline_svg(&svg).to_string(),
        Err(e) => format!("<p class=\"muted\">{}</p>", escape(&e.to_string())),
    };
    let path = statediag::render(&Overlay::path(c), ctx.opts.names(), ctx.opts.seq.lang);
    let one = std::slice::from_ref(c);
    let mut m = chart::model(ctx.report, one, &Selection::Ids(vec![c.id]), ctx.summary)?;
    m.title = format!("Connection {}: states over time", c.id);
    let _ = write!(
        page,
        "<div class=\"figures\">\n<div class=\"figure\"><h4>Sequence diagram</h4>{seq}</div>\n\
         <div class=\"figure\"><h4>Path through the state diagram</h4>{}</div>\n</div>\n\
         <div class=\"figure\"><h4>States over time</h4>{}</div>\n\
         </article>\n",
        inline_svg(&path),
        inline_svg(&chart::render_svg(&m)?)
    );
    Ok(())
}

/// Both endpoints' transitions in time order, as `tcpstate analyze --conn` prints them, in
/// seconds since the connection's first frame (a capture can span years).
fn timeline_table(page: &mut String, ctx: &Ctx, c: &Connection) {
    let origin = c.start;
    let mut entries: Vec<(usize, Role, &Transition)> = Vec::new();
    for role in [Role::Client, Role::Server] {
        entries.extend(c.endpoints.get(role).timeline.iter().enumerate().map(|(i, t)| (i, role, t)));
    }
    // Within one frame the sender's step comes before the receiver's.
    entries.sort_by_key(|(i, role, t)| (t.ts, t.frame, matches!(t.cause, Cause::Received(_)), *role, *i));
    let _ = write!(
        page,
        "<h4>Timeline</h4>\n<p class=\"muted\">Seconds since the connection's first frame ({}); italic: \
         inferred (no captured segment shows that step).</p>\n<table class=\"timeline\">\n\
         <tr><th class=\"n\">time</th><th class=\"n\">frame</th><th>client</th><th>server</th><th>cause</th></tr>\n",
        utc(origin)
    );
    for (_, role, t) in entries {
        let state = t.state.name(ctx.opts.names());
        let (client, server) = match role {
            Role::Client => (state, ""),
            Role::Server => ("", state),
        };
        let inferred = if t.inferred { " class=\"inferred\"" } else { "" };
        let _ = writeln!(
            page,
            "<tr{inferred}><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{client}</td><td>{server}</td><td>{}{}</td></tr>",
            relative(t.ts, origin),
            t.frame.map_or("–".to_string(), |f| f.to_string()),
            escape(&format!("{role} {}", t.cause)),
            if t.inferred { " (inferred)" } else { "" }
        );
    }
    page.push_str("</table>\n");
}
