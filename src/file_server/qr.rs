//! `serve --qr`: a URL drawn as a QR code for a terminal, two modules per
//! character cell with Unicode half blocks. Light modules are drawn as
//! ink, so on the usual light-on-dark terminal the code is dark on a light
//! quiet zone; on a light theme it comes out inverted, which phone readers
//! also accept. A leaf over the `qrcode` crate's module matrix.

use qrcode::{Color, EcLevel, QrCode};

/// The lines that draw `url`, or `None` when it is too long for a code.
pub fn lines(url: &str) -> Option<Vec<String>> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    // A quiet zone of two modules around the code (the standard asks four;
    // two keeps it small and phones read it).
    let quiet = 2;
    let side = width + 2 * quiet;
    let dark = |x: usize, y: usize| -> bool {
        x >= quiet
            && y >= quiet
            && x < quiet + width
            && y < quiet + width
            && colors[(y - quiet) * width + (x - quiet)] == Color::Dark
    };
    let mut out = Vec::with_capacity(side.div_ceil(2));
    for y in (0..side).step_by(2) {
        let line = (0..side)
            .map(|x| cell(dark(x, y), y + 1 < side && dark(x, y + 1)))
            .collect();
        out.push(line);
    }
    Some(out)
}

/// One character cell: the upper and lower module, light drawn as a block
/// so the code is dark-on-light whatever the terminal's background.
fn cell(top_dark: bool, bottom_dark: bool) -> char {
    match (top_dark, bottom_dark) {
        (false, false) => '█',
        (false, true) => '▀',
        (true, false) => '▄',
        (true, true) => ' ',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_draw_light_as_ink() {
        let cases = [
            ((false, false), '█'),
            ((false, true), '▀'),
            ((true, false), '▄'),
            ((true, true), ' '),
        ];
        for ((t, b), want) in cases {
            assert_eq!(cell(t, b), want, "{t} {b}");
        }
    }

    #[test]
    fn a_url_draws_a_square_with_a_light_border() {
        let lines = lines("http://127.0.0.1:8000/").unwrap();
        // Version 2 (25 modules) at level L, plus 2 quiet modules a side.
        let side: usize = 25 + 4;
        assert_eq!(lines.len(), side.div_ceil(2));
        for l in &lines {
            assert_eq!(l.chars().count(), side, "{l}");
        }
        assert!(lines[0].chars().all(|c| c == '█'), "quiet zone on top");
        // The finder pattern starts dark at module (2, 2), after the quiet zone.
        assert_eq!(lines[1].chars().nth(1), Some('█'));
        assert_eq!(lines[1].chars().nth(2), Some(' '));
    }
}
