//! The real peers the mirror is judged against: Debian's nginx as an origin
//! (run as the current user from a temp prefix, killed on drop) and
//! Debian's wget as the reference mirror; plus the saved tree as a list.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use crate::support::{run, TIMEOUT};

/// Whether `prog` runs here (`prog -v`/`--version` answers).
pub fn installed(prog: &str, flag: &str) -> bool {
    Command::new(prog)
        .arg(flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A throwaway nginx serving a folder on 127.0.0.1, killed on drop.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    _prefix: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx on `root`, or `None` when nginx is not installed.
    /// nginx cannot report a kernel-chosen port, so the kernel picks a free
    /// one, which is handed to nginx; if someone takes it first nginx exits
    /// and another port is tried.
    pub fn start(root: &Path) -> Option<Nginx> {
        // Debian puts nginx in /usr/sbin, which a user's PATH may lack.
        let nginx = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .find(|p| installed(p, "-v"))?;
        let prefix = tempfile::tempdir().unwrap();
        let mut last = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let conf = config(prefix.path(), root, port);
            std::fs::write(prefix.path().join("nginx.conf"), conf).unwrap();
            let mut child = Command::new(nginx)
                .arg("-p")
                .arg(prefix.path())
                .arg("-e")
                .arg(prefix.path().join("error.log"))
                .arg("-c")
                .arg(prefix.path().join("nginx.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn nginx");
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            if listening(&mut child, addr) {
                return Some(Nginx {
                    child,
                    addr,
                    _prefix: prefix,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(prefix.path().join("error.log")).unwrap_or_default();
        }
        panic!("nginx did not start:\n{last}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until nginx accepts on `addr` (true) or exits (false), within
/// [`TIMEOUT`]; the pause between polls only spaces them.
fn listening(child: &mut Child, addr: SocketAddr) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        if child
            .wait_timeout(Duration::from_millis(20))
            .unwrap()
            .is_some()
        {
            return false;
        }
    }
    false
}

/// One worker, no daemon, everything inside `prefix`; the types the site
/// uses are listed here so the answer does not depend on /etc/nginx.
fn config(prefix: &Path, root: &Path, port: u16) -> String {
    let p = prefix.display();
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\n\
         error_log {p}/error.log warn;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  types {{ text/html html; text/css css; image/png png; }}\n\
         default_type application/octet-stream;\n\
         client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n\
         fastcgi_temp_path {p}/fastcgi;\n  uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n\
         server {{ listen 127.0.0.1:{port}; root {}; }}\n}}\n",
        root.display()
    )
}

/// `wget -r -np -k -E -e robots=off` of `url` (a 127.0.0.1 URL) into `dir`,
/// or `None` when wget is not installed. wget exits 8 when a file 404s.
pub fn wget_mirror(url: &str, dir: &Path) -> Option<Output> {
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "wget gets loopback only"
    );
    if !installed("wget", "--version") {
        return None;
    }
    let mut cmd = Command::new("wget");
    cmd.args([
        "-r",
        "-np",
        "-k",
        "-E",
        "-e",
        "robots=off",
        "--no-proxy",
        "-nv",
    ])
    .args(["--timeout=10", "--tries=1", "-P"])
    .arg(dir)
    .arg(url)
    .env_remove("http_proxy")
    .env_remove("https_proxy");
    Some(run(&mut cmd, TIMEOUT))
}

/// Every file below `dir`, as paths relative to it with `/` separators,
/// sorted. Hidden names are left out: the site has none, so they can only
/// be a crawl's own bookkeeping (stored validators), not the saved site.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p: PathBuf = e.unwrap().path();
            if p.file_name().unwrap().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}
