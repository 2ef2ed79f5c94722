//! `serve` flags resolved into the file server's plain [`Config`]: the
//! thread count checked, seconds turned into durations (0 falling back to
//! the default), `-H` lines checked and rendered, the bind address parsed.
//! The file server never sees a flag; nothing here binds or opens.

use std::time::Duration;

use super::{bind_addr, seconds, ServeArgs};
use crate::error::{Error, Result};
use crate::file_server::auth::parse_spec;
use crate::file_server::upload::plan::Options as UploadOptions;
use crate::file_server::{fallback, Compression, Config, Limits};
use crate::http::is_tchar;
use crate::tls::TlsSource;

/// `serve`'s flags, checked and resolved.
pub fn serve_config(args: &ServeArgs) -> Result<Config> {
    port_given_as_folder(&args.dir)?;
    let threads = match args.threads {
        Some(0) => return Err(Error::Usage("--threads: must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut extra_headers = Vec::new();
    for h in &args.headers {
        extra_headers.extend_from_slice(&header_line(h)?);
    }
    let secs = |v: f64, flag: &str, default: u64| -> Result<Duration> {
        Ok(seconds(v, flag)?.unwrap_or(Duration::from_secs(default)))
    };
    let addr = tcp_addr(args)?;
    Ok(Config {
        dir: args.dir.clone(),
        addr,
        unix: args.unix.clone(),
        threads,
        listing: !args.no_listing,
        hidden: args.hidden,
        follow_symlinks: args.follow_symlinks,
        extra_headers,
        access_log: !args.quiet,
        limits: Limits {
            max_head: 8 * 1024,
            head_timeout: secs(args.head_timeout, "--head-timeout", 10)?,
            idle_timeout: secs(args.idle_timeout, "--idle-timeout", 60)?,
            send_timeout: secs(args.send_timeout, "--send-timeout", 30)?,
        },
        max_connections: args.max_connections.max(1),
        grace: secs(args.grace, "--grace", 5)?,
        cors: args.cors,
        not_found_page: args.not_found_page.as_deref().map(page_flag).transpose()?,
        spa: args.spa,
        cache_control: args
            .cache_control
            .as_deref()
            .map(cache_control)
            .transpose()?,
        qr: args.qr,
        compression: Compression {
            on_the_fly: !args.no_compress,
            max: size(&args.compress_max).ok_or_else(|| {
                Error::Usage(format!(
                    "--compress-max {:?}: expected a size such as 512K or 8M",
                    args.compress_max
                ))
            })?,
        },
        auth: args
            .auth
            .iter()
            .map(|spec| parse_spec(spec).map_err(Error::Usage))
            .collect::<Result<_>>()?,
        tls: tls_source(args),
        upload: upload_options(args, addr.map(|a| a.ip()))?,
    })
}

/// The TCP address: `-b`/`-p` or their defaults, except that `--unix`
/// alone serves only the Unix socket (as nginx listens only where told).
fn tcp_addr(args: &ServeArgs) -> Result<Option<std::net::SocketAddr>> {
    if args.unix.is_some() && args.port.is_none() && args.bind.is_none() {
        return Ok(None);
    }
    let bind = args.bind.as_deref().unwrap_or("127.0.0.1");
    bind_addr(bind, args.port.unwrap_or(8000)).map(Some)
}

/// `--upload` and its options; refused beyond loopback without `--auth`
/// or `--upload-open` (anyone on the network could write otherwise).
fn upload_options(args: &ServeArgs, ip: Option<std::net::IpAddr>) -> Result<Option<UploadOptions>> {
    if !args.upload {
        return Ok(None);
    }
    // A Unix socket alone (no TCP address) is not on the network.
    let ip = ip.filter(|ip| !ip.is_loopback());
    if let (Some(ip), true, false) = (ip, args.auth.is_empty(), args.upload_open) {
        return Err(Error::Usage(format!(
            "--upload on {ip} lets anyone on the network write: add --auth USER:PASSWORD or --upload-open"
        )));
    }
    let max = size(&args.max_upload).ok_or_else(|| {
        Error::Usage(format!(
            "--max-upload {:?}: expected a size such as 512K or 1G",
            args.max_upload
        ))
    })?;
    Ok(Some(UploadOptions {
        max,
        overwrite: args.overwrite,
        mkdir: args.mkdir,
    }))
}

/// `--tls-cert` with `--tls-key` (clap requires both), else `--tls`.
fn tls_source(args: &ServeArgs) -> Option<TlsSource> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ if args.tls => Some(TlsSource::SelfSigned),
        _ => None,
    }
}

/// `--404 FILE`: a plain relative path beneath the folder served.
fn page_flag(v: &str) -> Result<std::path::PathBuf> {
    fallback::page_path(v).ok_or_else(|| {
        Error::Usage(format!(
            "--404 {v:?}: expected a file path beneath the folder served"
        ))
    })
}

/// `--cache-control VALUE`: non-empty, and like `-H`, free of CR, LF and
/// NUL so it cannot split a response.
fn cache_control(v: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::Usage(format!(
            "--cache-control {v:?}: expected one header value, e.g. max-age=3600"
        )));
    }
    Ok(v.to_string())
}

/// A byte count with an optional binary suffix K, M or G (any case).
fn size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, shift) = match v.as_bytes().last()?.to_ascii_uppercase() {
        b'K' => (&v[..v.len() - 1], 10),
        b'M' => (&v[..v.len() - 1], 20),
        b'G' => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    num.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// `serve 8000`, python's `http.server` habit: a number that names no
/// folder was meant as the port. A folder called `8000` is still served.
fn port_given_as_folder(dir: &std::path::Path) -> Result<()> {
    let Some(port) = dir.to_str().filter(|d| d.parse::<u16>().is_ok()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{port} is not a folder; did you mean -p {port}?"
    )))
}

/// Checks a `-H "Name: value"` and renders it as a head line. Names must
/// be tokens and values free of CR, LF and NUL, so no flag can split a
/// response.
fn header_line(h: &str) -> Result<Vec<u8>> {
    let bad = || Error::Usage(format!("-H {h:?}: expected \"Name: value\""));
    let (name, value) = h.split_once(':').ok_or_else(bad)?;
    let value = value.trim();
    if name.is_empty()
        || !name.bytes().all(is_tchar)
        || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
    {
        return Err(bad());
    }
    Ok(format!("{name}: {value}\r\n").into_bytes())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn serve_args(extra: &[&str]) -> ServeArgs {
        let cli = Cli::parse_from(["wirecat", "serve"].iter().chain(extra));
        match cli.command {
            Command::Serve(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn header_flags_cannot_split_responses() {
        assert_eq!(
            header_line("Access-Control-Allow-Origin: *").unwrap(),
            b"Access-Control-Allow-Origin: *\r\n"
        );
        for bad in ["NoColon", ": v", "Bad Name: v", "X: a\r\nY: b", "X: a\nb"] {
            assert!(header_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn option_flags() {
        let cc = [
            ("max-age=3600", Some("max-age=3600")),
            (" no-store ", Some("no-store")),
            ("", None),
            ("max-age=1\r\nX: y", None),
            ("a\nb", None),
            ("a\0b", None),
        ];
        for (v, want) in cc {
            assert_eq!(cache_control(v).ok().as_deref(), want, "{v:?}");
        }
        let c = serve_config(&serve_args(&[
            "--cors",
            "--spa",
            "--404",
            "e/nf.html",
            "--qr",
        ]))
        .unwrap();
        assert!(c.cors && c.spa && c.qr);
        assert_eq!(
            c.not_found_page.as_deref(),
            Some(std::path::Path::new("e/nf.html"))
        );
        for bad in [&["--404", "../x.html"][..], &["--cache-control", "a\rb"]] {
            assert!(matches!(
                serve_config(&serve_args(bad)),
                Err(Error::Usage(_))
            ));
        }
    }

    #[test]
    fn a_number_that_names_no_folder_is_taken_for_a_port() {
        let here = tempfile::tempdir().unwrap();
        std::fs::create_dir(here.path().join("8080")).unwrap();
        let cases = [
            ("8000", Some("8000 is not a folder; did you mean -p 8000?")),
            ("0", Some("0 is not a folder; did you mean -p 0?")),
            ("www-missing", None),
            ("70000", None),
            ("-1", None),
        ];
        for (dir, want) in cases {
            let got = port_given_as_folder(std::path::Path::new(dir)).err();
            assert_eq!(got.map(|e| e.to_string()).as_deref(), want, "{dir}");
        }
        // An existing folder named like a port is served.
        assert!(port_given_as_folder(&here.path().join("8080")).is_ok());
    }

    #[test]
    fn sizes() {
        let cases = [
            ("0", Some(0)),
            ("300", Some(300)),
            ("512K", Some(512 << 10)),
            ("8m", Some(8 << 20)),
            ("1G", Some(1 << 30)),
            ("", None),
            ("M", None),
            ("-1", None),
            ("1.5M", None),
            ("99999999999999999G", None),
        ];
        for (v, want) in cases {
            assert_eq!(size(v), want, "{v:?}");
        }
        let c = serve_config(&serve_args(&["--no-compress", "--compress-max", "1K"])).unwrap();
        assert!(!c.compression.on_the_fly);
        assert_eq!(c.compression.max, 1024);
        assert!(serve_config(&serve_args(&["--compress-max", "x"])).is_err());
    }

    #[test]
    fn unix_alone_replaces_tcp_and_p_or_b_add_it_back() {
        // (flags, TCP address, Unix path)
        let cases: [(&[&str], Option<&str>, Option<&str>); 5] = [
            (&[], Some("127.0.0.1:8000"), None),
            (&["--unix", "/tmp/w.sock"], None, Some("/tmp/w.sock")),
            (
                &["--unix", "/tmp/w.sock", "-p", "0"],
                Some("127.0.0.1:0"),
                Some("/tmp/w.sock"),
            ),
            (
                &["--unix", "/tmp/w.sock", "-b", "::1"],
                Some("[::1]:8000"),
                Some("/tmp/w.sock"),
            ),
            (&["-p", "9000"], Some("127.0.0.1:9000"), None),
        ];
        for (flags, tcp, unix) in cases {
            let c = serve_config(&serve_args(flags)).unwrap();
            assert_eq!(c.addr.map(|a| a.to_string()).as_deref(), tcp, "{flags:?}");
            assert_eq!(
                c.unix.as_deref(),
                unix.map(std::path::Path::new),
                "{flags:?}"
            );
        }
    }

    #[test]
    fn upload_beyond_loopback_needs_auth_or_upload_open() {
        let cases: &[(&[&str], bool)] = &[
            (&["--upload"], true),
            (&["--upload", "-b", "::1"], true),
            (&["--upload", "-b", "0.0.0.0"], false),
            (&["--upload", "-b", "::"], false),
            (&["--upload", "-b", "0.0.0.0", "--upload-open"], true),
            (&["--upload", "-b", "0.0.0.0", "--auth", "a:b"], true),
            (&["-b", "0.0.0.0"], true),
            (&["--upload", "--unix", "/tmp/w.sock"], true),
            (
                &["--upload", "--unix", "/tmp/w.sock", "-b", "0.0.0.0"],
                false,
            ),
        ];
        for (args, ok) in cases {
            let got = serve_config(&serve_args(args));
            assert_eq!(got.is_ok(), *ok, "{args:?}");
            if let Err(e) = got {
                assert!(matches!(e, Error::Usage(_)), "{args:?}");
            }
        }
        let c = serve_config(&serve_args(&["--upload", "--max-upload", "5M", "--mkdir"])).unwrap();
        let u = c.upload.unwrap();
        assert_eq!((u.max, u.mkdir, u.overwrite), (5 << 20, true, false));
        assert_eq!(
            serve_config(&serve_args(&["--upload"]))
                .unwrap()
                .upload
                .unwrap()
                .max,
            1 << 30
        );
        assert!(serve_config(&serve_args(&["--upload", "--max-upload", "x"])).is_err());
        assert!(serve_config(&serve_args(&[])).unwrap().upload.is_none());
    }

    #[test]
    fn serve_flags() {
        let c = serve_config(&serve_args(&["-p", "0", "--threads", "2", "-H", "X-A: b"])).unwrap();
        assert_eq!(c.addr.unwrap().port(), 0);
        assert_eq!(c.threads, 2);
        assert_eq!(c.extra_headers, b"X-A: b\r\n");
        assert_eq!(c.limits.max_head, 8192);
        let c = serve_config(&serve_args(&["--idle-timeout", "0"])).unwrap();
        assert_eq!(
            c.limits.idle_timeout,
            Duration::from_secs(60),
            "0 is the default"
        );
        assert_eq!(
            serve_config(&serve_args(&["--auth", "a:b"]))
                .unwrap()
                .auth
                .len(),
            1
        );
        let bad_auth = ["--auth", "a:$2b$bad"];
        for bad in [&["--threads", "0"][..], &["-H", "X: a\nb"], &bad_auth] {
            assert!(matches!(
                serve_config(&serve_args(bad)),
                Err(Error::Usage(_))
            ));
        }
    }
}
