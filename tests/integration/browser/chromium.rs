//! Headless Chromium driven over the Chrome DevTools Protocol (CDP), with
//! no async runtime: one process per test, one tab, one synchronous
//! WebSocket on loopback. It owns the process (killed on drop), the CDP
//! message loop, and the network log the tab builds from `Network.*`
//! events. It knows nothing about wirecat; every wait is bounded.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tempfile::TempDir;
use tungstenite::{Message, WebSocket};
use wait_timeout::ChildExt;

use crate::support::TIMEOUT;

/// The browser binary; `WIRECAT_CHROMIUM` overrides it.
fn binary() -> String {
    std::env::var("WIRECAT_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// The flags that keep Chromium quiet and local: a fresh profile, no
/// background traffic (the machine has no internet, and Chromium would
/// otherwise keep retrying Google's hosts), a debugging port chosen by the
/// kernel, and media allowed to play without a user gesture.
fn args(profile: &Path) -> Vec<String> {
    let mut v: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        // Containers often have a tiny /dev/shm; Chromium then crashes tabs.
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-breakpad",
        "--no-proxy-server",
        "--password-store=basic",
        "--use-mock-keychain",
        // Back/forward must go through the HTTP cache and the server, not
        // restore a frozen page: that is what these tests look at.
        "--disable-back-forward-cache",
        "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,InterestFeedContentSuggestions,CertificateTransparencyComponentUpdater,HttpsUpgrades",
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
        "--window-size=1280,900",
        "--remote-debugging-port=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("--user-data-dir={}", profile.display()));
    v.push("about:blank".into());
    v
}

/// One request as the tab saw it, folded from `Network.*` events.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub id: String,
    pub url: String,
    pub method: String,
    /// The `Range` request header, when the page (e.g. a media element) sent one.
    pub range: Option<String>,
    /// Status of the response the page got; after a revalidation this is
    /// the cached response's (200), not the server's 304.
    pub status: Option<u64>,
    /// Status line the network stack read from the server
    /// (`Network.responseReceivedExtraInfo`): 304 for a revalidation.
    pub wire_status: Option<u64>,
    /// Served by the browser's own cache, without asking the server.
    pub from_cache: bool,
    /// `Network.loadingFailed`'s error text.
    pub failed: Option<String>,
    pub finished: bool,
}

/// A running headless Chromium with one attached tab.
pub struct Chromium {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
    /// Events not yet consumed by a wait, in arrival order.
    events: VecDeque<Value>,
    /// Every request the tab made since the last `clear_network`.
    pub network: Vec<Request>,
    stderr: Arc<Mutex<Vec<String>>>,
    _profile: TempDir,
}

impl Chromium {
    /// Starts Chromium, connects to its DevTools endpoint, opens a tab and
    /// enables the Page, Network and Runtime domains on it. A missing
    /// browser fails the test: CI installs it, so absence is a broken setup.
    pub fn launch() -> Chromium {
        Chromium::launch_with(&[])
    }

    /// [`Chromium::launch`] with `extra` flags (before the start page).
    pub fn launch_with(extra: &[String]) -> Chromium {
        let profile = tempfile::tempdir().expect("profile dir");
        let bin = binary();
        let mut cmd = Command::new(&bin);
        let mut flags = args(profile.path());
        let start_page = flags.pop();
        flags.extend(extra.iter().cloned());
        flags.extend(start_page);
        cmd.args(flags)
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("all_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "`{bin}` not found: the browser tests need Debian's chromium \
                 (apt-get install chromium, or run scripts/deps); set \
                 WIRECAT_CHROMIUM to use another binary. Failing, not skipping."
            ),
            Err(e) => panic!("cannot start `{bin}`: {e}"),
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let ws_url = devtools_url(child.stderr.take().unwrap(), Arc::clone(&stderr));
        let ws_url = match ws_url.recv_timeout(TIMEOUT) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium did not announce its DevTools endpoint within {TIMEOUT:?}; stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
        };
        let ws = connect_ws(&ws_url);
        let mut browser = Chromium {
            child,
            ws,
            next_id: 0,
            session: String::new(),
            events: VecDeque::new(),
            network: Vec::new(),
            stderr,
            _profile: profile,
        };
        let target = browser.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = browser.call_browser(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        browser.call("Page.enable", json!({}));
        browser.call("Page.setLifecycleEventsEnabled", json!({"enabled": true}));
        browser.call("Network.enable", json!({}));
        browser.call("Runtime.enable", json!({}));
        browser
    }

    /// Sends a command to the browser itself (no tab session) and waits for its result.
    pub fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.call_in(None, method, params)
    }

    /// Sends a command to the tab and waits for its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call_in(Some(session), method, params)
    }

    fn call_in(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session.filter(|s| !s.is_empty()) {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .unwrap_or_else(|e| panic!("CDP send {method}: {e}"));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let m = self.read_message(deadline, method);
            if m["id"].as_u64() == Some(id) {
                if let Some(err) = m.get("error") {
                    panic!("CDP {method} failed: {err}");
                }
                return m["result"].clone();
            }
        }
    }

    /// Reads one message; events are recorded (network log) and queued.
    fn read_message(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "timed out after {TIMEOUT:?} waiting for {waiting_for}; requests so far:\n{}",
                    self.network_summary()
                );
            }
            self.ws
                .get_mut()
                .set_read_timeout(Some(left))
                .expect("set_read_timeout");
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("CDP sent bad JSON");
                    if v.get("method").is_some() {
                        self.record(&v);
                        self.events.push_back(v.clone());
                    }
                    return v;
                }
                Ok(_) => continue,
                // tungstenite keeps its state across a timed-out read.
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue
                }
                Err(e) => panic!(
                    "CDP connection lost while waiting for {waiting_for}: {e}; chromium stderr:\n{}",
                    self.stderr.lock().unwrap().join("\n")
                ),
            }
        }
    }

    /// Forgets queued events, so that a following wait only sees what the
    /// next action causes.
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    /// Forgets the network log.
    pub fn clear_network(&mut self) {
        self.network.clear();
    }

    /// Waits for (and consumes) the first event named `method` whose params
    /// satisfy `pred`, looking at queued events first.
    pub fn wait_event(&mut self, method: &str, mut pred: impl FnMut(&Value) -> bool) -> Value {
        let hit = |e: &Value, pred: &mut dyn FnMut(&Value) -> bool| {
            e["method"] == method && pred(&e["params"])
        };
        if let Some(i) = self.events.iter().position(|e| hit(e, &mut pred)) {
            return self.events.remove(i).unwrap()["params"].clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let m = self.read_message(deadline, method);
            if hit(&m, &mut pred) {
                self.events.pop_back();
                return m["params"].clone();
            }
        }
    }

    fn record(&mut self, ev: &Value) {
        let p = &ev["params"];
        let id = p["requestId"].as_str().unwrap_or_default();
        match ev["method"].as_str().unwrap_or_default() {
            "Network.requestWillBeSent" => {
                // A redirect reuses the request id: close the previous hop.
                if let Some(redirect) = p.get("redirectResponse") {
                    if let Some(r) = self.last_request(id) {
                        r.status = redirect["status"].as_u64();
                        r.finished = true;
                    }
                }
                let headers = &p["request"]["headers"];
                let range = headers
                    .as_object()
                    .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("range")))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_string);
                self.network.push(Request {
                    id: id.to_string(),
                    url: p["request"]["url"].as_str().unwrap_or_default().to_string(),
                    method: p["request"]["method"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    range,
                    ..Request::default()
                });
            }
            "Network.responseReceived" => {
                if let Some(r) = self.last_request(id) {
                    r.status = p["response"]["status"].as_u64();
                    r.from_cache |= p["response"]["fromDiskCache"].as_bool() == Some(true);
                }
            }
            "Network.responseReceivedExtraInfo" => {
                if let Some(r) = self.last_request(id) {
                    r.wire_status = p["statusCode"].as_u64();
                }
            }
            "Network.requestServedFromCache" => {
                if let Some(r) = self.last_request(id) {
                    r.from_cache = true;
                }
            }
            "Network.loadingFinished" => {
                if let Some(r) = self.last_request(id) {
                    r.finished = true;
                }
            }
            "Network.loadingFailed" => {
                if let Some(r) = self.last_request(id) {
                    r.failed = p["errorText"].as_str().map(str::to_string);
                    r.finished = true;
                }
            }
            _ => {}
        }
    }

    fn last_request(&mut self, id: &str) -> Option<&mut Request> {
        self.network.iter_mut().rev().find(|r| r.id == id)
    }

    /// The network log, one request a line, for failure messages.
    pub fn network_summary(&self) -> String {
        self.network
            .iter()
            .map(|r| {
                format!(
                    "  {} {} range={:?} status={:?} wire={:?} cache={} failed={:?}",
                    r.method, r.url, r.range, r.status, r.wire_status, r.from_cache, r.failed
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Navigates the tab and waits for the new document's load event;
    /// returns the navigation's loader id (for its later lifecycle events).
    pub fn navigate(&mut self, url: &str) -> String {
        self.clear_events();
        let r = self.call("Page.navigate", json!({"url": url}));
        if let Some(err) = r.get("errorText") {
            panic!("navigating to {url} failed: {err}");
        }
        let loader = r["loaderId"].as_str().unwrap_or_default().to_string();
        self.wait_event("Page.lifecycleEvent", |p| {
            p["name"] == "load" && p["loaderId"] == loader.as_str()
        });
        loader
    }

    /// Waits for the main frame to commit a new document, then for its load
    /// event; returns the new URL. Call `clear_events` before the action.
    pub fn wait_loaded(&mut self) -> String {
        let nav = self.wait_event("Page.frameNavigated", |p| {
            p["frame"].get("parentId").is_none()
        });
        let loader = nav["frame"]["loaderId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.wait_event("Page.lifecycleEvent", |p| {
            p["name"] == "load" && p["loaderId"] == loader.as_str()
        });
        nav["frame"]["url"].as_str().unwrap_or_default().to_string()
    }

    /// Evaluates `expr` in the page (awaiting a promise) and returns its
    /// value as JSON; a thrown exception fails the test.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true, "userGesture": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!(
                "page script failed: {}\nscript: {expr}",
                ex["exception"]["description"]
                    .as_str()
                    .unwrap_or(&ex.to_string())
            );
        }
        r["result"]["value"].clone()
    }

    /// The page's URL.
    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .into()
    }

    /// A real mouse click (move, press, release) at the centre of the element
    /// that `element_expr` (a JS expression) evaluates to, after scrolling it
    /// into view. Fails if the element is missing or has no box.
    pub fn click(&mut self, element_expr: &str) {
        let rect = self.eval(&format!(
            "(() => {{ const e = {element_expr}; if (!e) return null;
               e.scrollIntoView({{block: 'center', inline: 'nearest'}});
               const r = e.getBoundingClientRect();
               return {{x: r.left + Math.min(r.width / 2, 20), y: r.top + r.height / 2, w: r.width, h: r.height}}; }})()"
        ));
        if rect.is_null() {
            panic!("nothing to click: {element_expr} is null on {}", self.url());
        }
        let (x, y) = (rect["x"].as_f64().unwrap(), rect["y"].as_f64().unwrap());
        assert!(
            rect["w"].as_f64().unwrap() > 0.0 && rect["h"].as_f64().unwrap() > 0.0,
            "{element_expr} has an empty box: {rect}"
        );
        for (kind, buttons) in [("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 0)] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1}),
            );
        }
    }

    /// Goes back (-1) or forward (+1) in the tab's history and waits for the
    /// document to load; returns the new URL.
    pub fn go(&mut self, delta: i64) -> String {
        let h = self.call("Page.getNavigationHistory", json!({}));
        let index = h["currentIndex"].as_i64().unwrap() + delta;
        let entry = h["entries"]
            .get(index as usize)
            .unwrap_or_else(|| panic!("no history entry {index}: {h}"));
        let id = entry["id"].clone();
        self.clear_events();
        self.call("Page.navigateToHistoryEntry", json!({"entryId": id}));
        self.wait_loaded()
    }

    /// Reloads the page (a normal reload: cached entries are revalidated).
    pub fn reload(&mut self) -> String {
        self.clear_events();
        self.call("Page.reload", json!({"ignoreCache": false}));
        self.wait_loaded()
    }

    /// Saves a PNG of the viewport (full page) to `target/browser-shots/NAME.png`.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
        let dir = shots_dir();
        std::fs::create_dir_all(&dir).expect("create browser-shots dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Ask politely so Chromium's helpers exit with it; then make sure.
        self.next_id += 1;
        let close = json!({"id": self.next_id, "method": "Browser.close"});
        let _ = self.ws.send(Message::text(close.to_string()));
        if !matches!(self.child.wait_timeout(Duration::from_secs(5)), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `target/browser-shots/`, beside cargo's test temp dir.
pub fn shots_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("browser-shots")
}

/// Reads Chromium's stderr on a thread; sends the `ws://` URL from its
/// `DevTools listening on ws://...` line and keeps every line for diagnostics.
fn devtools_url(
    stderr: std::process::ChildStderr,
    lines: Arc<Mutex<Vec<String>>>,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(i) = line.find("DevTools listening on ") {
                let _ = tx.send(
                    line[i + "DevTools listening on ".len()..]
                        .trim()
                        .to_string(),
                );
            }
            lines.lock().unwrap().push(line);
        }
    });
    rx
}

/// Opens the CDP WebSocket (`ws://127.0.0.1:PORT/devtools/browser/ID`) over a
/// std TcpStream with timeouts; only loopback endpoints are accepted.
fn connect_ws(url: &str) -> WebSocket<TcpStream> {
    let hostport = url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("unexpected DevTools URL {url:?}"));
    let addr: SocketAddr = hostport
        .parse()
        .unwrap_or_else(|e| panic!("DevTools URL {url:?}: {e}"));
    assert!(addr.ip().is_loopback(), "DevTools not on loopback: {url}");
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect to DevTools");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    let (ws, _) = tungstenite::client(url, stream)
        .unwrap_or_else(|e| panic!("DevTools WebSocket handshake with {url}: {e}"));
    ws
}
