//! The server the browser talks to, started on 127.0.0.1:0 for one test,
//! and its access log (combined format, one line per response on stdout),
//! which tests read as the server's own account of what it answered.
//! `serve` below picks the server; it is the only line to change to point
//! the browser suite at another one.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Instant;

use crate::support::{self, addr_in, Background, TIMEOUT};

/// `wirecat serve` on an ephemeral loopback port. Its first stdout line is
/// `Serving DIR at http://127.0.0.1:PORT/`, then one access-log line per response.
pub fn wirecat_serve(dir: &Path) -> Command {
    support::serve(dir).args(["-b", "127.0.0.1"]).command()
}

/// A stand-in used while `wirecat serve` was being written: python's
/// http.server with the same announcement and log format, single ranges
/// (206) and breadcrumbs in listings, so the harness could be proven on a
/// server that does these things. Kept so the harness can be re-checked.
#[allow(dead_code)]
pub fn stand_in(dir: &Path) -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", STAND_IN]).arg(dir);
    cmd
}

const STAND_IN: &str = r#"
import html, http.server, io, os, re, sys, threading, time, urllib.parse
root, out = sys.argv[1], threading.Lock()
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".txt": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8"}
    def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
    def log_request(self, code="-", size="-"):
        t = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        line = '%s - - [%s] "%s" %s %s "%s" "%s"\n' % (self.client_address[0], t, self.requestline,
               int(code), size, self.headers.get("Referer", "-"), self.headers.get("User-Agent", "-"))
        with out:
            sys.stdout.write(line); sys.stdout.flush()
    def log_message(self, *a): pass
    def send_head(self):
        path = self.translate_path(self.path)
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if not m or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        a, b = m.groups()
        start, end = (int(a), min(int(b or size - 1), size - 1)) if a else (max(size - int(b), 0), size - 1)
        with open(path, "rb") as f:
            f.seek(start); data = f.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(data)
    def list_directory(self, path):
        url = urllib.parse.urlsplit(self.path).path
        parts = [p for p in url.split("/") if p]
        crumbs = ['<a href="/">root</a>'] + ['<a href="/%s/">%s</a>' % ("/".join(parts[:i + 1]),
                  html.escape(urllib.parse.unquote(p))) for i, p in enumerate(parts)]
        items = []
        for n in sorted(os.listdir(path)):
            d = "/" if os.path.isdir(os.path.join(path, n)) else ""
            items.append('<li><a href="%s%s">%s%s</a></li>' % (urllib.parse.quote(n), d, html.escape(n), d))
        body = ('<!doctype html><meta charset="utf-8"><title>%s</title><nav>%s</nav><ul>%s</ul>'
                % (html.escape(url), " / ".join(crumbs), "".join(items))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, *a): pass  # browsers hang up mid-response; not news
s = S(("127.0.0.1", 0), H)
print("Serving %s at http://127.0.0.1:%d/" % (root, s.server_address[1]), flush=True)
s.serve_forever()
"#;

/// One access-log line: `HOST - - [DATE] "METHOD TARGET VERSION" STATUS SIZE "REF" "UA"`.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The request target exactly as the browser sent it (still percent-encoded).
    pub target: String,
    pub status: u16,
    pub line: String,
}

fn parse_line(line: &str) -> Option<Logged> {
    let request = line.split('"').nth(1)?;
    let mut words = request.split(' ');
    words.next()?; // the method
    let target = words.next()?.to_string();
    let status = line
        .split('"')
        .nth(2)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Logged {
        target,
        status,
        line: line.to_string(),
    })
}

/// A running server for one test; killed on drop.
pub struct Served {
    bg: Background,
    /// `http://127.0.0.1:PORT/`, as announced.
    pub base: String,
    /// Access-log lines read so far.
    pub log: Vec<Logged>,
}

/// Serves `dir` on 127.0.0.1 with a kernel-chosen port and waits for the
/// announcement line.
pub fn serve(dir: &Path) -> Served {
    serve_command(wirecat_serve(dir))
}

/// [`serve`] with more flags (`--upload`).
pub fn serve_with(dir: &Path, flags: &[&str]) -> Served {
    serve_command(
        support::serve(dir)
            .args(["-b", "127.0.0.1"])
            .args(flags)
            .command(),
    )
}

fn serve_command(mut cmd: Command) -> Served {
    let (bg, first) = Background::start(&mut cmd);
    assert!(
        first.starts_with("Serving "),
        "unexpected first line from the server: {first:?}"
    );
    let addr = addr_in(&first);
    assert!(addr.ip().is_loopback(), "server not on loopback: {first}");
    Served {
        bg,
        base: format!("http://{addr}/"),
        log: Vec::new(),
    }
}

impl Served {
    /// Absolute URL of `path` (percent-encoded, relative to the root).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// The request target (`/path?query`) of an absolute URL on this server.
    pub fn target_of(&self, url: &str) -> String {
        let rest = url
            .strip_prefix(self.base.trim_end_matches('/'))
            .unwrap_or_else(|| panic!("{url} is not on {}", self.base));
        rest.split('#').next().unwrap().to_string()
    }

    fn take_available(&mut self) {
        while let Ok(l) = self.bg.lines.try_recv() {
            self.push(l);
        }
    }

    fn push(&mut self, line: String) {
        match parse_line(&line) {
            Some(l) => self.log.push(l),
            // The server may print other lines (more URLs at start-up).
            None => eprintln!("server: {line}"),
        }
    }

    /// Waits until the access log holds a line for which `pred` holds and
    /// returns it. The log is written per response, possibly after the
    /// browser already has the response, hence the wait.
    pub fn wait_logged(&mut self, what: &str, mut pred: impl FnMut(&Logged) -> bool) -> Logged {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            self.take_available();
            if let Some(l) = self.log.iter().find(|l| pred(l)) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.bg.lines.recv_timeout(left) {
                Ok(l) => self.push(l),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the access log shows no {what} within {TIMEOUT:?}; it has:\n{}",
                    self.log_text()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the server exited while waiting for {what} in its access log:\n{}",
                    self.log_text()
                ),
            }
        }
    }

    /// Waits until the log has a line for every target in `targets`
    /// (duplicates counted), so that a check over the whole log does not
    /// miss a response still being logged.
    pub fn wait_logged_all(&mut self, targets: &[String]) {
        let deadline = Instant::now() + TIMEOUT;
        self.take_available();
        loop {
            let missing: Vec<&String> = targets
                .iter()
                .enumerate()
                .filter(|(i, t)| {
                    let need = targets[..=*i].iter().filter(|x| x == t).count();
                    self.log.iter().filter(|l| &&l.target == t).count() < need
                })
                .map(|(_, t)| t)
                .collect();
            if missing.is_empty() {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.bg.lines.recv_timeout(left) {
                Ok(l) => self.push(l),
                Err(_) => panic!(
                    "the access log has no line for {missing:?} within {TIMEOUT:?}; it has:\n{}",
                    self.log_text()
                ),
            }
        }
    }

    /// Forgets the lines read so far (and those already printed).
    pub fn clear_log(&mut self) {
        self.take_available();
        self.log.clear();
    }

    pub fn log_text(&self) -> String {
        self.log
            .iter()
            .map(|l| format!("  {}", l.line))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
