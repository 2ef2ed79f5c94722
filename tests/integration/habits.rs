//! curl's and wget's habits at `fetch` and `headers` (issue 11): the
//! spellings that mean what wirecat does anyway are accepted, the new ones
//! (-A, -e, -u, --range, -T) send what curl sends, and the ones that mean
//! something else here answer with one line saying what to type. URLs
//! without a scheme, near-misses of http, and messages in the user's words.
//! Every server is on 127.0.0.1; no test makes wirecat look up a name.

use std::path::Path;
use std::process::Output;

use crate::fetch::{send, Scripted};
use crate::support::{
    self, assert_code, assert_stderr_has, files, stderr, stdout, wirecat_in, Server,
};

/// A folder with `a.txt` ("hello\n") and `digits` ("0123456789"), served.
fn site() -> (tempfile::TempDir, Server) {
    let srv = tempfile::tempdir().unwrap();
    std::fs::write(srv.path().join("a.txt"), "hello\n").unwrap();
    std::fs::write(srv.path().join("digits"), "0123456789").unwrap();
    let server = support::serve(srv.path()).start();
    (srv, server)
}

/// `wirecat fetch ARGS...` in `dir`.
fn fetch(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["fetch"];
    all.extend_from_slice(args);
    wirecat_in(dir, &all)
}

/// A usage error: exit 2 and exactly one line on stderr, holding `needle`.
fn assert_one_line_usage(out: &Output, needle: &str) {
    assert_code(out, 2);
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("wirecat: "), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

/// The one request a scripted server read, head and body.
fn only_request(server: &Scripted) -> String {
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    seen[0].clone()
}

fn ok(body: &str) -> Vec<crate::fetch::Act> {
    vec![send(format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))]
}

#[test]
fn curl_spellings_of_the_defaults_are_accepted() {
    let (_srv, server) = site();
    let url = server.url("/a.txt");
    for flags in [
        &["-O", "-L"][..],
        &["-s"],
        &["--silent"],
        &["-OLs"],
        &["--remote-name", "--location"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = flags.to_vec();
        args.push(&url);
        let out = fetch(dir.path(), &args);
        assert_code(&out, 0);
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"hello\n");
        if flags.iter().any(|f| f.contains('s')) {
            assert_eq!((stdout(&out), stderr(&out)), (String::new(), String::new()));
        }
    }
}

/// wget's `-O FILE` would make FILE a URL (and a host to look up): it is
/// pointed at -o instead.
#[test]
fn wget_capital_o_with_a_file_points_at_small_o() {
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["-O", "out.html", "http://127.0.0.1:9/x"]);
    assert_one_line_usage(&out, "to name the file use -o out.html");
}

#[test]
fn parallel_flags_take_several_urls_at_once() {
    let (_srv, server) = site();
    let (a, d) = (server.url("/a.txt"), server.url("/digits"));
    for flags in [
        &["-Z"][..],
        &["--parallel"],
        &["-Z", "-P", "2"],
        &["--parallel-max", "1"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = flags.to_vec();
        args.extend([a.as_str(), d.as_str()]);
        let out = fetch(dir.path(), &args);
        assert_code(&out, 0);
        assert_eq!(files(dir.path()), ["a.txt", "digits"], "{flags:?}");
    }
}

/// curl's `-C -` is `-C`: the "-" is never a URL (and so never a host).
#[test]
fn continue_dash_is_continue() {
    let (_srv, server) = site();
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["-C", "-", &server.url("/a.txt")]);
    assert_code(&out, 0);
    assert_eq!(files(dir.path()), ["a.txt"]);
    assert_one_line_usage(&fetch(dir.path(), &["-C", "-"]), "no URL given");
    // Without -C a "-" is no URL at all.
    assert_one_line_usage(&fetch(dir.path(), &["-"]), "\"-\" is not a URL");
}

#[test]
fn user_agent_referer_and_basic_auth_are_sent() {
    let server = Scripted::canned(ok("ok"));
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(
        dir.path(),
        &[
            "-o",
            "-",
            "-A",
            "ua/1",
            "-e",
            "http://from.test/",
            "-u",
            "me:s3cret",
            &server.url("/x"),
        ],
    );
    assert_code(&out, 0);
    let req = only_request(&server);
    assert!(req.contains("\r\nUser-Agent: ua/1\r\n"), "{req}");
    assert!(!req.contains("wirecat/"), "{req}");
    assert!(req.contains("\r\nReferer: http://from.test/\r\n"), "{req}");
    assert!(
        req.contains("\r\nAuthorization: Basic bWU6czNjcmV0\r\n"),
        "{req}"
    );
    // The long spellings, and -H still has the last word.
    let server = Scripted::canned(ok("ok"));
    let out = fetch(
        dir.path(),
        &[
            "-o",
            "-",
            "--user-agent",
            "ua/2",
            "--referer",
            "r",
            "--user",
            "a:b",
            "-H",
            "User-Agent: mine",
            &server.url("/x"),
        ],
    );
    assert_code(&out, 0);
    let req = only_request(&server);
    assert!(
        req.contains("\r\nUser-Agent: mine\r\n") && !req.contains("ua/2"),
        "{req}"
    );
    assert!(req.contains("\r\nAuthorization: Basic YTpi\r\n"), "{req}");
    // headers sends them too.
    let server = Scripted::canned(ok(""));
    let out = wirecat_in(dir.path(), &["headers", "-A", "ua/3", &server.url("/")]);
    assert_code(&out, 0);
    assert!(only_request(&server).contains("\r\nUser-Agent: ua/3\r\n"));
    // No prompt for a password: say so.
    assert_one_line_usage(
        &fetch(dir.path(), &["-u", "me", &server.url("/")]),
        "USER:PASSWORD",
    );
}

/// `-u` goes where the URL's credentials go: on to the same origin, never
/// to another one a redirect points at.
#[test]
fn user_credentials_stay_with_their_origin() {
    let other = Scripted::canned(ok("there"));
    let elsewhere = other.url("/end");
    let first = Scripted::start(move |req| {
        if req.starts_with("GET /same ") {
            ok("here")
        } else if req.starts_with("GET /to-same ") {
            vec![send(
                "HTTP/1.1 302 Found\r\nLocation: /same\r\nContent-Length: 0\r\n\r\n",
            )]
        } else {
            vec![send(format!(
                "HTTP/1.1 302 Found\r\nLocation: {elsewhere}\r\nContent-Length: 0\r\n\r\n"
            ))]
        }
    });
    let dir = tempfile::tempdir().unwrap();
    for path in ["/to-same", "/to-other"] {
        let out = fetch(dir.path(), &["-o", "-", "-u", "me:pw", &first.url(path)]);
        assert_code(&out, 0);
    }
    let auth = "\r\nAuthorization: Basic bWU6cHc=\r\n";
    let seen = first.requests();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|r| r.contains(auth)), "{seen:?}");
    let there = only_request(&other);
    assert!(
        !there.to_ascii_lowercase().contains("authorization"),
        "{there}"
    );
}

#[test]
fn range_asks_for_bytes_and_saves_the_206() {
    let (_srv, server) = site();
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/digits");
    let out = fetch(dir.path(), &["--range", "2-5", &url]);
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("HTTP/1.1 206"), "{}", stdout(&out));
    assert_eq!(std::fs::read(dir.path().join("digits")).unwrap(), b"2345");
    let out = fetch(dir.path(), &["--range", "-3", "-o", "-", &url]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), "789".into()));
    assert_one_line_usage(
        &fetch(dir.path(), &["--range", "0-1", "-C", &url]),
        "--range and -C",
    );
    assert_one_line_usage(
        &fetch(dir.path(), &["--range", "5-2", &url]),
        "A-B, A- or -N",
    );
}

/// `-r` is wget's recursive download: curl's `-r 0-99` is pointed at
/// --range, and "0-99" is never taken for a host.
#[test]
fn r_is_refused_with_a_hint_naming_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["-r", "0-99", "http://127.0.0.1:9/x"]);
    assert_one_line_usage(&out, "use --range 0-99");
    let out = fetch(dir.path(), &["-r", "0-99"]);
    assert_one_line_usage(&out, "use --range 0-99");
}

/// `fetch -I` points at `headers`; `headers -I` is what headers does.
#[test]
fn capital_i_means_headers() {
    let (_srv, server) = site();
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["-I", &server.url("/a.txt")]);
    assert_one_line_usage(&out, "`wirecat headers URL`");
    assert!(files(dir.path()).is_empty());
    for flag in ["-I", "--head"] {
        let out = wirecat_in(dir.path(), &["headers", flag, &server.url("/a.txt")]);
        assert_code(&out, 0);
        assert!(
            stdout(&out).starts_with("HTTP/1.1 200 OK\n"),
            "{}",
            stdout(&out)
        );
    }
}

/// `-i` is wget's input file; curl's `-i URL` gets a hint, not "No such
/// file or directory". A real missing file still says so.
#[test]
fn curl_i_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["-i", "http://127.0.0.1:9/x"]);
    assert_one_line_usage(&out, "-i reads URLs from a FILE (wget's -i)");
    assert!(!stderr(&out).contains("No such file"), "{}", stderr(&out));
    let out = fetch(dir.path(), &["-i", "urls.txt"]);
    assert_code(&out, 8);
    assert_stderr_has(&out, "urls.txt: No such file or directory");
}

#[test]
fn upload_file_puts_the_file() {
    let server = Scripted::canned(vec![send(
        "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
    )]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("up.bin"), b"\x00payload\xff").unwrap();
    let out = fetch(dir.path(), &["-T", "up.bin", "-o", "-", &server.url("/in")]);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), "done".into()));
    let req = only_request(&server);
    assert!(req.starts_with("PUT /in HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("\r\nContent-Length: 9\r\n"), "{req}");
    assert!(!req.to_ascii_lowercase().contains("content-type"), "{req}");
    assert!(req.ends_with("\r\n\r\n\u{0}payload\u{fffd}"), "{req:?}");
    // -X still decides the method; a missing file is named.
    let server = Scripted::canned(ok(""));
    let out = fetch(
        dir.path(),
        &[
            "--upload-file",
            "up.bin",
            "-X",
            "POST",
            "-o",
            "-",
            &server.url("/p"),
        ],
    );
    assert_code(&out, 0);
    assert!(only_request(&server).starts_with("POST /p "));
    // As in curl, a URL ending in "/" gets the file's name.
    let server = Scripted::canned(ok(""));
    let out = fetch(
        dir.path(),
        &["-T", "up.bin", "-o", "-", &server.url("/dir/")],
    );
    assert_code(&out, 0);
    assert!(only_request(&server).starts_with("PUT /dir/up.bin "));
    let out = fetch(dir.path(), &["-T", "nothing.bin", &server.url("/p")]);
    assert_code(&out, 8);
    assert_stderr_has(&out, "nothing.bin: No such file or directory");
}

/// Like curl: what has no "://" is http.
#[test]
fn urls_without_a_scheme_are_http() {
    let (_srv, server) = site();
    let port = server.addr.port();
    for url in [
        format!("127.0.0.1:{port}/a.txt"),
        format!("localhost:{port}/a.txt"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = fetch(dir.path(), &[&url]);
        assert_code(&out, 0);
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"hello\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(dir.path(), &["headers", &format!("127.0.0.1:{port}/a.txt")]);
    assert_code(&out, 0);
}

/// Near-misses of http are refused with the URL that was meant; the unit
/// tests of `parse_url` show this is decided before any lookup.
#[test]
fn near_misses_say_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("http//host/", "did you mean http://host/?"),
        ("http:/host/", "did you mean http://host/?"),
        ("htp://host/", "did you mean http://host/?"),
        ("http:host", "did you mean http://host?"),
        ("https//host/x", "did you mean https://host/x?"),
    ];
    for (typed, hint) in cases {
        for cmd in ["fetch", "headers"] {
            let out = wirecat_in(dir.path(), &[cmd, typed]);
            assert_one_line_usage(&out, hint);
        }
    }
    for typed in ["", "not a url"] {
        assert_one_line_usage(&fetch(dir.path(), &[typed]), "is not a URL");
    }
}

/// With several URLs an error status is a failure like any other, and
/// its page is not saved.
#[test]
fn error_statuses_count_as_failures_among_many() {
    let (_srv, server) = site();
    let dir = tempfile::tempdir().unwrap();
    let (a, bad) = (server.url("/a.txt"), server.url("/missing"));
    let out = fetch(dir.path(), &[&a, &bad]);
    assert_code(&out, 11);
    assert_stderr_has(&out, &format!("wirecat: {bad} answered 404 Not Found\n"));
    assert_eq!(files(dir.path()), ["a.txt"]);
    let dir = tempfile::tempdir().unwrap();
    let out = fetch(dir.path(), &["--save-errors", &a, &bad]);
    assert_code(&out, 0);
    assert_eq!(files(dir.path()), ["a.txt", "missing"]);
}

/// `headers` shows the head of any status and exits 0.
#[test]
fn headers_shows_error_statuses() {
    let (_srv, server) = site();
    let dir = tempfile::tempdir().unwrap();
    let out = wirecat_in(dir.path(), &["headers", &server.url("/missing")]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).starts_with("HTTP/1.1 404 Not Found\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn https_to_a_plain_http_port_says_try_http() {
    let (_srv, server) = site();
    let dir = tempfile::tempdir().unwrap();
    let port = server.addr.port();
    let out = fetch(dir.path(), &[&format!("https://127.0.0.1:{port}/a.txt")]);
    assert_code(&out, 10);
    assert_stderr_has(
        &out,
        &format!("the server answered in plain HTTP; try http://127.0.0.1:{port}/a.txt\n"),
    );
    assert!(files(dir.path()).is_empty());
}

/// The file named with -o is the one the message names, never the
/// temporary file beside it.
#[test]
fn file_errors_name_the_users_file() {
    let (_srv, server) = site();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing-dir").join("x");
    let target = target.to_str().unwrap();
    let out = fetch(dir.path(), &["-o", target, &server.url("/a.txt")]);
    assert_code(&out, 8);
    assert_eq!(
        stderr(&out),
        format!("wirecat: {target}: No such file or directory (os error 2)\n")
    );
    std::fs::write(dir.path().join("plain"), "").unwrap();
    let out = fetch(dir.path(), &["-o", "plain/x", &server.url("/a.txt")]);
    assert_code(&out, 8);
    assert!(
        stderr(&out).starts_with("wirecat: plain/x: "),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(".part"), "{}", stderr(&out));
}
