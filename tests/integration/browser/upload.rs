//! `serve --upload` in a real browser: two files chosen in the listing's
//! upload form (`DOM.setFileInputFiles`, as a person picking them would)
//! and submitted; the browser lands back on the listing (303), which
//! shows both, and their bytes on the server and as downloaded are the
//! originals'. Screenshot: `upload-done.png`.

use serde_json::json;

use super::chromium::Chromium;
use super::fixtures::payload;
use super::server::serve_with;
use super::{assert_same_bytes, Rig, TURN};

#[test]
fn browser_uploads_two_files_through_the_listing_form() {
    let root = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let files = [
        ("photo 1.jpg", payload(300_000, 7)),
        ("notes.txt", b"hello\n".to_vec()),
    ];
    for (name, data) in &files {
        std::fs::write(src.path().join(name), data).unwrap();
    }
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = serve_with(root.path(), &["--upload"]);
    let Rig {
        browser: mut b,
        server: mut s,
        ..
    } = Rig {
        browser: Chromium::launch(),
        server,
        _turn: turn,
    };
    b.navigate(&s.base);
    let doc = b.call("DOM.getDocument", json!({}));
    let input = b.call(
        "DOM.querySelector",
        json!({"nodeId": doc["root"]["nodeId"], "selector": "#upload input[type=file]"}),
    );
    let paths: Vec<String> = files
        .iter()
        .map(|(n, _)| src.path().join(n).display().to_string())
        .collect();
    b.call(
        "DOM.setFileInputFiles",
        json!({"nodeId": input["nodeId"], "files": paths}),
    );
    b.clear_events();
    b.click("document.querySelector('#upload button')");
    let landed = b.wait_loaded();
    assert_eq!(
        landed, s.base,
        "the form's answer leads back to the listing"
    );
    let post = s.wait_logged("the form's POST", |l| l.line.contains("\"POST / "));
    assert_eq!(post.status, 303, "{}", post.line);
    let names = b.eval(
        "[...document.querySelectorAll('tbody tr:not(.up)')].map(r => r.cells[0].textContent)",
    );
    assert_eq!(names, json!(["notes.txt", "photo 1.jpg"]));
    b.screenshot("upload-done");
    for (name, data) in &files {
        let on_disk = std::fs::read(root.path().join(name)).unwrap();
        assert_same_bytes(&on_disk, data, name);
        // As the browser reads it back.
        let got = b.eval(&format!(
            "fetch({}).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)))",
            super::js(&s.url(&name.replace(' ', "%20")))
        ));
        let got: Vec<u8> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect();
        assert_same_bytes(&got, data, name);
    }
}
