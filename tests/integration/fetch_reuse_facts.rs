//! What `--json-meta` and `-w` say of downloads served on a kept-alive
//! connection (`fetch -P 1 URL1 URL2 URL3` against `wirecat serve`, plain
//! and TLS): every download reports the connection's TLS facts; the first
//! its own lookup, connect and handshake, the later ones 0 for each (curl's
//! reading), `reused: true` and no new connection. `-w` is compared with
//! `curl -w` over the same three URLs.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::serve_tls::pem;
use crate::support::{assert_code, run, serve, stdout, test_ca, wirecat_in, Server, TIMEOUT};

const FILES: [&str; 3] = ["a.txt", "b.txt", "c.txt"];

/// A site with [`FILES`], and `wirecat serve` on it: plain, or TLS with a
/// certificate for 127.0.0.1 from the test CA, whose file is returned.
struct Site {
    server: Server,
    scheme: &'static str,
    ca: Option<String>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Site {
    fn start(tls: bool) -> Site {
        let root = tempfile::tempdir().unwrap();
        for (i, name) in FILES.iter().enumerate() {
            std::fs::write(root.path().join(name), "x".repeat(100 * (i + 1))).unwrap();
        }
        std::fs::create_dir(root.path().join("d")).unwrap();
        std::fs::write(root.path().join("d/index.html"), "in d\n").unwrap();
        let keys = tempfile::tempdir().unwrap();
        let (args, ca) = match tls {
            false => (vec![], None),
            true => {
                let pki = test_ca();
                let leaf = pki.leaf(&["127.0.0.1"], 4000);
                let (cert, key) = (keys.path().join("cert.pem"), keys.path().join("key.pem"));
                std::fs::write(&cert, pem("CERTIFICATE", &leaf.chain[0])).unwrap();
                std::fs::write(&key, pem("PRIVATE KEY", leaf.key.secret_der())).unwrap();
                let s = |p: &Path| p.to_str().unwrap().to_string();
                let ca = s(&pki.ca_file(keys.path()));
                let args = vec![
                    "--tls-cert".to_string(),
                    s(&cert),
                    "--tls-key".into(),
                    s(&key),
                ];
                (args, Some(ca))
            }
        };
        let server = serve(root.path()).args(["-q"]).args(args).start();
        Site {
            server,
            scheme: if tls { "https" } else { "http" },
            ca,
            _dirs: (root, keys),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.server.addr)
    }

    fn urls(&self) -> Vec<String> {
        FILES.iter().map(|f| self.url(&format!("/{f}"))).collect()
    }

    /// `--cacert CA` for TLS, nothing for plain.
    fn trust(&self) -> Vec<String> {
        self.ca
            .iter()
            .flat_map(|ca| ["--cacert".to_string(), ca.clone()])
            .collect()
    }

    /// `wirecat fetch -P 1 -q EXTRA URLS...` in `dir`: one connection at a
    /// time, so the kept-alive one carries every download in turn.
    fn fetch(&self, dir: &Path, extra: &[&str], urls: &[String]) -> std::process::Output {
        let mut args = vec!["fetch", "-P", "1", "-q"];
        args.extend(extra);
        let trust = self.trust();
        args.extend(trust.iter().map(String::as_str));
        args.extend(urls.iter().map(String::as_str));
        let out = wirecat_in(dir, &args);
        assert_code(&out, 0);
        out
    }
}

fn secs(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{v} is not a number of seconds"))
}

fn json_meta_reports_every_download_on_one_connection(tls: bool) {
    let site = Site::start(tls);
    let dir = tempfile::tempdir().unwrap();
    site.fetch(dir.path(), &["--json-meta", "meta.json"], &site.urls());
    let text = std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let urls = site.urls();
    assert_eq!(docs.len(), 3, "{text}");
    let first_tls = docs[0]["hops"][0]["tls"].clone();
    for (i, doc) in docs.iter().enumerate() {
        let reused = i > 0;
        assert_eq!(doc["url"], urls[i], "{text}");
        assert_eq!(doc["num_connects"], u64::from(!reused), "{doc}");
        let hop = &doc["hops"][0];
        assert_eq!(hop["reused"], reused, "{doc}");
        assert_eq!(hop["remote_ip"], "127.0.0.1", "{doc}");
        assert_eq!(hop["remote_port"], site.server.addr.port(), "{doc}");
        let t = &hop["timings"];
        let (lookup, connect) = (secs(&t["lookup"]), secs(&t["connect"]));
        let handshake = match tls {
            true => secs(&t["tls"]),
            false => {
                assert!(t["tls"].is_null(), "{doc}");
                connect
            }
        };
        if reused {
            assert_eq!([lookup, connect, handshake], [0.0; 3], "{doc}");
        } else {
            assert!(connect > 0.0 && handshake >= connect, "{doc}");
        }
        let (sent, first, total) = (
            secs(&t["request_sent"]),
            secs(&t["first_byte"]),
            secs(&t["total"]),
        );
        let order = [lookup, connect, handshake, sent, first, total];
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{doc}");
        // The connection's facts, the same for every download it carried.
        assert_eq!(hop["tls"], first_tls, "{doc}");
    }
    match tls {
        false => assert!(first_tls.is_null(), "{text}"),
        true => {
            assert_eq!(first_tls["subject"], "CN=127.0.0.1", "{text}");
            assert_eq!(first_tls["issuer"], "CN=wirecat https test CA");
            assert_eq!(first_tls["alpn"], "http/1.1");
            assert!(first_tls["cipher"].as_str().unwrap().starts_with("TLS"));
        }
    }
}

#[test]
fn json_meta_reports_every_download_on_one_connection_plain() {
    json_meta_reports_every_download_on_one_connection(false);
}

#[test]
fn json_meta_reports_every_download_on_one_connection_tls() {
    json_meta_reports_every_download_on_one_connection(true);
}

/// One line per transfer: these, space-separated.
const FORMAT: &str = "%{url_effective} %{http_code} %{size_download} %{num_connects} \
     %{remote_ip} %{remote_port} %{time_namelookup} %{time_connect} %{time_appconnect}\\n";

fn write_out_on_one_connection_agrees_with_curl(tls: bool) {
    let there = Command::new("curl").arg("--version").output().is_ok();
    if !there {
        crate::support::skip("curl is not installed");
        return;
    }
    let site = Site::start(tls);
    let ours_dir = tempfile::tempdir().unwrap();
    let ours = stdout(&site.fetch(ours_dir.path(), &["-w", FORMAT], &site.urls()));
    let curl_dir = tempfile::tempdir().unwrap();
    let curl = run(
        Command::new("curl")
            .current_dir(curl_dir.path())
            .args(["-s", "--remote-name-all", "-w", FORMAT])
            .args(site.trust())
            .args(site.urls()),
        TIMEOUT,
    );
    assert!(curl.status.success(), "curl failed: {curl:?}");
    let theirs = stdout(&curl);
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    assert_eq!((ours.len(), theirs.len()), (3, 3), "{ours:?} {theirs:?}");
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let (a, b): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
        // URL, status, size, connections opened (1, then 0), address.
        assert_eq!(a[..6], b[..6], "transfer {i}: ours {a:?}, curl {b:?}");
        let times =
            |v: &[&str]| -> Vec<f64> { v[6..].iter().map(|t| t.parse().unwrap()).collect() };
        let (ta, tb) = (times(&a), times(&b));
        if i == 0 {
            // Both measured a connect, and a handshake only over TLS.
            assert!(ta[1] > 0.0 && tb[1] > 0.0, "ours {a:?}, curl {b:?}");
            assert_eq!(
                (ta[2] > 0.0, tb[2] > 0.0),
                (tls, tls),
                "ours {a:?}, curl {b:?}"
            );
            continue;
        }
        // Reused: no connect and no handshake, for curl as for us; curl's
        // lookup is the microseconds it took to pick the connection up,
        // ours is 0 (none happened).
        assert_eq!(a[6..], ["0.000000"; 3], "transfer {i}: ours {a:?}");
        assert_eq!(b[7..], ["0.000000"; 2], "transfer {i}: curl {b:?}");
        assert!(tb[0] < 0.1, "curl {b:?}");
    }
    for name in FILES {
        let (a, b) = (ours_dir.path().join(name), curl_dir.path().join(name));
        assert_eq!(
            std::fs::read(a).unwrap(),
            std::fs::read(b).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn write_out_on_one_connection_agrees_with_curl_plain() {
    write_out_on_one_connection_agrees_with_curl(false);
}

#[test]
fn write_out_on_one_connection_agrees_with_curl_tls() {
    write_out_on_one_connection_agrees_with_curl(true);
}

/// A redirect ends its connection; the hop it leads to opens a new one. So
/// a download whose first hop was carried on a kept-alive connection has a
/// reused hop, then a fresh one, and counts one connection.
#[test]
fn a_redirect_after_a_reused_hop_counts_its_own_connection() {
    let site = Site::start(true);
    let dir = tempfile::tempdir().unwrap();
    let urls = [site.url("/a.txt"), site.url("/d")];
    let format = "%{num_connects} %{num_redirects} %{time_connect}\\n";
    let out = site.fetch(
        dir.path(),
        &["--json-meta", "meta.json", "-w", format],
        &urls,
    );
    let text = std::fs::read_to_string(dir.path().join("meta.json")).unwrap();
    let doc: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(doc["url_effective"], site.url("/d/"), "{doc}");
    assert_eq!(doc["num_connects"], 1, "{doc}");
    let hops = doc["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2, "{doc}");
    assert_eq!(
        (&hops[0]["reused"], &hops[1]["reused"]),
        (&Value::from(true), &Value::from(false))
    );
    assert_eq!(secs(&hops[0]["timings"]["connect"]), 0.0, "{doc}");
    let connect = secs(&hops[1]["timings"]["connect"]);
    assert!(connect > 0.0, "{doc}");
    assert_eq!(
        hops[0]["tls"]["version"], hops[1]["tls"]["version"],
        "{doc}"
    );
    assert!(hops[0]["tls"]["version"].is_string(), "{doc}");
    // -w sums the phases over the hops: the new connection's alone here.
    let line = stdout(&out).lines().nth(1).unwrap().to_string();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[..2], ["1", "1"], "{line}");
    // (JSON keeps whole microseconds, -w rounds to them.)
    let summed: f64 = words[2].parse().unwrap();
    assert!((summed - connect).abs() <= 1.5e-6, "{line} vs {connect}");
}
