//! The listing on a phone-sized screen in a real browser: the filter box
//! appears (its script ran), typing in it hides the rows that do not
//! match, a column head re-sorts, nothing overflows 360 px, and the dark
//! scheme applies. Screenshots: `listing-360.png`, `listing-360-dark.png`.

use serde_json::json;

use super::{js, location, Rig};

/// Rows the browser shows, by their first cell's text.
const VISIBLE_ROWS: &str = "[...document.querySelectorAll('tbody tr:not(.up)')]
    .filter(r => r.offsetParent !== null).map(r => r.cells[0].textContent)";

#[test]
fn browser_listing_filters_sorts_and_fits_a_phone() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "a-very-long-file-name-without-any-spaces-to-break-it-0123456789abcdef.txt";
    for (name, len) in [("notes.txt", 5), ("photo album.png", 3000), (long, 40)] {
        std::fs::write(tmp.path().join(name), vec![b'x'; len]).unwrap();
    }
    std::fs::create_dir(tmp.path().join("Pictures")).unwrap();
    let Rig {
        browser: mut b,
        server: s,
        ..
    } = Rig::new(tmp.path());
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": true}),
    );
    b.navigate(&s.base);

    let shown = b.eval(
        "(() => { const f = document.getElementById('filter');
                  return !f.hidden && f.getBoundingClientRect().width > 0; })()",
    );
    assert_eq!(shown, true, "the filter box did not appear");
    let width = b.eval("document.documentElement.scrollWidth");
    assert!(
        width.as_f64().unwrap() <= 360.0,
        "the listing is {width} px wide on a 360 px screen"
    );
    let all = b.eval(VISIBLE_ROWS);
    assert_eq!(
        all,
        json!(["Pictures/", long, "notes.txt", "photo album.png"])
    );
    b.screenshot("listing-360");

    // Type into the box: rows that do not match hide, case aside.
    b.click("document.getElementById('filter')");
    b.call("Input.insertText", json!({"text": "PHOTO"}));
    assert_eq!(b.eval(VISIBLE_ROWS), json!(["photo album.png"]));
    b.eval(
        "(() => { const f = document.getElementById('filter'); f.value = '';
                     f.dispatchEvent(new Event('input')); })()",
    );
    assert_eq!(b.eval(VISIBLE_ROWS), all);

    // The Size head sorts, largest first, folders still first.
    b.clear_events();
    b.click(&format!(
        "[...document.querySelectorAll('th a')].find(a => a.textContent.startsWith({}))",
        js("Size")
    ));
    b.wait_loaded();
    assert_eq!(location(&mut b)["path"], "/");
    assert_eq!(b.eval("location.search"), json!("?sort=size&order=desc"));
    assert_eq!(
        b.eval(VISIBLE_ROWS),
        json!(["Pictures/", "photo album.png", long, "notes.txt"])
    );

    b.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    let bg = b.eval("getComputedStyle(document.body).backgroundColor");
    assert_eq!(bg, json!("rgb(18, 20, 23)"), "no dark scheme");
    b.screenshot("listing-360-dark");
}
