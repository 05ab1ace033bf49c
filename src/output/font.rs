//! Text measuring for the diagrams, identical on every machine.
//!
//! Widths come from a table of DejaVu Sans advance widths (the font bundled under
//! `assets/fonts/`, first in [`FONT_STACK`]; a test checks every entry against the font file),
//! so layout never depends on the fonts installed where it runs. DejaVu Sans is among the
//! widest common sans-serif faces; measured widths add a few percent so that a viewer falling
//! back to Verdana, Arial or Helvetica still draws text no wider than we measured. CJK ideographs and full-width punctuation are one em
//! wide in every CJK font, which is how we measure them; other characters not in the table
//! are measured as one em (an overestimate: safe for overlap checks).

/// The `font-family` of every diagram: fonts that need no network, DejaVu first because the
/// layout is measured with its metrics; CJK faces for `--lang zh` labels.
pub const FONT_STACK: &str = "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, Arial, \
Helvetica, 'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";

/// DejaVu Sans's units per em.
const UNITS_PER_EM: f64 = 2048.0;

/// Ascent and descent of DejaVu Sans as fractions of the font size (1901 and 483 units).
pub const ASCENT: f64 = 1901.0 / UNITS_PER_EM;
pub const DESCENT: f64 = 483.0 / UNITS_PER_EM;

/// Advance widths of U+0020..=U+007E in DejaVu Sans, in font units.
const ASCII_ADVANCES: [u16; 95] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, //
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, //
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, //
    1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, //
    1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, //
    1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
];

/// The few non-ASCII characters the diagrams use, with their DejaVu Sans advances.
const EXTRA_ADVANCES: [(char, u16); 10] = [
    ('·', 651),
    ('…', 2048),
    ('–', 1024),
    ('—', 2048),
    ('→', 1716),
    ('×', 1716),
    ('✕', 1716),
    ('µ', 1303),
    ('−', 1716),
    ('↔', 1716),
];

/// Advance of one character, in ems.
fn advance(c: char) -> f64 {
    let units = match c {
        ' '..='~' => ASCII_ADVANCES[c as usize - 0x20],
        _ => EXTRA_ADVANCES.iter().find(|(e, _)| *e == c).map_or(2048, |(_, a)| *a),
    };
    f64::from(units) / UNITS_PER_EM
}

/// Room for the fallback faces: Verdana and Arial set some capitals (`S`, `C`, `Y`) up to 7%
/// wider than DejaVu Sans, and state names are all capitals.
const FALLBACK_SLACK: f64 = 1.07;

/// The width `text` set at `size` pixels may take, in DejaVu Sans or a fallback face.
pub fn text_width(text: &str, size: f64) -> f64 {
    dejavu_width(text, size) * FALLBACK_SLACK
}

/// The width of `text` set at `size` pixels in DejaVu Sans.
fn dejavu_width(text: &str, size: f64) -> f64 {
    text.chars().map(advance).sum::<f64>() * size
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::{Font, FontRef};

    /// The table is DejaVu Sans: every entry equals the bundled font file's advance.
    #[test]
    fn table_matches_the_bundled_font() {
        let data = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        let font = FontRef::try_from_slice(data).expect("bundled font parses");
        assert_eq!(font.units_per_em(), Some(UNITS_PER_EM as f32));
        let chars = (' '..='~').chain(EXTRA_ADVANCES.iter().map(|(c, _)| *c));
        for c in chars {
            let id = font.glyph_id(c);
            assert_ne!(id.0, 0, "{c:?} missing from the font");
            let want = font.h_advance_unscaled(id) as f64 / UNITS_PER_EM;
            assert_eq!(advance(c), want, "advance of {c:?}");
        }
        assert_eq!(font.ascent_unscaled() as f64 / UNITS_PER_EM, ASCENT);
        assert_eq!(-font.descent_unscaled() as f64 / UNITS_PER_EM, DESCENT);
    }

    #[test]
    fn widths_add_up_per_character() {
        // "SYN" = 1300 + 1251 + 1532 units.
        assert!((dejavu_width("SYN", 2048.0) - 4083.0).abs() < 1e-9);
        // Ideographs are one em.
        assert!((dejavu_width("已建立连接", 10.0) - 50.0).abs() < 1e-9);
        assert!((dejavu_width("…", 12.0) - 12.0).abs() < 1e-9);
        assert!((text_width("…", 12.0) - 12.84).abs() < 1e-9);
    }
}
