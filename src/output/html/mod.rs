//! The HTML report (`tcpstate report`): one self-contained file with the summary, a sortable
//! and filterable table of every connection, and for chosen connections their sequence
//! diagram, state-over-time chart, merged timeline and path through the state diagram.
//!
//! Self-contained and safe to open from a capture of unknown origin:
//! - nothing is fetched: CSS, script and drawings are inline, and a Content-Security-Policy
//!   forbids every remote load;
//! - every string that comes from the capture or the command line (file names, addresses,
//!   warnings) goes through [`escape`]; the drawings escape their own text;
//! - the policy allows only our own script, named by its SHA-256 hash, so even markup that
//!   slipped through could not run a script.
//!
//! The page is a pure function of the analysis: no clock, ordered maps, so the same capture
//! gives a byte-identical file.

mod sections;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::seqdiag::SeqOptions;
use crate::summary::Summary;
use crate::tcp::state::Names;
use crate::timeline::Connection;
use crate::Report;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Default number of connections whose drawings are embedded.
pub const DEFAULT_MAX_DETAILS: usize = 100;

#[derive(Clone, Debug, Default)]
pub struct HtmlOptions {
    /// How the sequence diagrams are drawn (phase, scale, 2·MSL); its state names and
    /// language are the whole page's.
    pub seq: SeqOptions,
}

impl HtmlOptions {
    fn names(&self) -> Names {
        self.seq.names
    }
}

/// Escapes text for HTML element content and for quoted attribute values. The one function
/// every capture-derived string goes through.
pub fn escape(s: &str) -> String {
    super::svg::escape(s)
}

/// The connections whose drawings the page embeds, at most `max`: first those a diagnosis
/// names (taking each diagnosis's findings in turn, worst first, so every kind of problem is
/// shown even when one kind has thousands), then the lowest ids. Every connection stays in
/// the table; the page says which have details. A few kilobytes of markup per connection
/// keeps a capture of 100,000 connections a file a browser opens.
pub fn detail_ids(summary: &Summary, max: usize) -> BTreeSet<u64> {
    let mut chosen = BTreeSet::new();
    let deepest = summary.diagnoses.iter().map(|d| d.findings.len()).max().unwrap_or(0);
    'diagnosed: for rank in 0..deepest {
        for d in &summary.diagnoses {
            if chosen.len() >= max {
                break 'diagnosed;
            }
            if let Some(f) = d.findings.get(rank) {
                chosen.insert(f.connection);
            }
        }
    }
    for line in &summary.per_connection {
        if chosen.len() >= max {
            break;
        }
        chosen.insert(line.id);
    }
    chosen
}

/// The diagnoses' titles per connection, in the summary's order.
fn diagnoses_by_connection(summary: &Summary) -> BTreeMap<u64, Vec<&'static str>> {
    let mut by: BTreeMap<u64, Vec<&'static str>> = BTreeMap::new();
    for d in &summary.diagnoses {
        for f in &d.findings {
            let titles = by.entry(f.connection).or_default();
            if !titles.contains(&d.title) {
                titles.push(d.title);
            }
        }
    }
    by
}

/// What the sections read: the analysis, and what was decided about it.
struct Ctx<'a> {
    report: &'a Report,
    /// As given (the charts and the state-diagram counts take a slice).
    all: &'a [Connection],
    /// In id order.
    conns: Vec<&'a Connection>,
    summary: &'a Summary,
    details: &'a BTreeSet<u64>,
    diagnosed: BTreeMap<u64, Vec<&'static str>>,
    opts: &'a HtmlOptions,
}

impl Ctx<'_> {
    /// A connection id, linked to its details when the page has them.
    fn conn_link(&self, id: u64) -> String {
        if self.details.contains(&id) {
            format!(r##"<a href="#conn-{id}">{id}</a>"##)
        } else {
            id.to_string()
        }
    }
}

/// The report page. `conns` may come in any order; the connections in `details` need their
/// segments logged for their sequence diagrams (a connection without them gets a message in
/// place of the diagram). Errors only when the bundled font cannot be loaded for the charts.
pub fn render(
    report: &Report,
    conns: &[Connection],
    summary: &Summary,
    details: &BTreeSet<u64>,
    opts: &HtmlOptions,
) -> Result<String, String> {
    let mut sorted: Vec<&Connection> = conns.iter().collect();
    sorted.sort_by_key(|c| c.id);
    let ctx =
        Ctx { report, all: conns, conns: sorted, summary, details, diagnosed: diagnoses_by_connection(summary), opts };
    let mut page = String::new();
    let files: Vec<String> = report.files.iter().map(|p| p.display().to_string()).collect();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"tcpstate {}\">\n\
         <title>tcpstate report: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        content_security_policy(),
        env!("CARGO_PKG_VERSION"),
        escape(&files.join(", "))
    );
    sections::header(&mut page, &ctx);
    sections::summary(&mut page, &ctx);
    sections::table(&mut page, &ctx);
    sections::overview(&mut page, &ctx)?;
    sections::details(&mut page, &ctx)?;
    let _ = write!(page, "<pre id=\"selftest-result\"></pre>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    Ok(page)
}

/// No remote loads of any kind; images only as data: URLs; inline styles; and only the
/// page's own script, by hash.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{}'; \
         base-uri 'none'; form-action 'none'",
        base64(&Sha256::digest(SCRIPT.as_bytes()))
    )
}

/// Standard base64 with padding (RFC 4648 §4), as CSP hash sources are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An SVG document as an inline element: without its XML declaration, which HTML does not
/// allow inside the body.
fn inline_svg(svg: &str) -> &str {
    let s = svg.trim_start();
    match s.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(s, |(_, body)| body.trim_start()),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;y&apos;"
        );
    }

    #[test]
    fn the_xml_declaration_is_stripped_for_inlining() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg/>\n"), "<svg/>\n");
        assert_eq!(inline_svg("<svg width=\"1\"/>"), "<svg width=\"1\"/>");
    }

    #[test]
    fn the_script_cannot_end_its_own_element() {
        // The script is inlined verbatim: it must not contain its closing tag.
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    }
}
