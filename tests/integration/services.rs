//! `greet --service` end to end over 127.0.0.1, each against its RFC:
//! echo (RFC 862) byte-exact with binary data and partial writes, daytime
//! (RFC 867) one line then close, time (RFC 868) four bytes near the local
//! clock, clock with good, bad and hostile lines; UDP too, with the
//! per-source rate limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{self, connect, pseudo_random, Background, TIMEOUT};

fn service(name: &str, extra: &[&str]) -> (Background, SocketAddr) {
    let server = support::greet()
        .args(["--service", name, "--threads", "1"])
        .args(extra)
        .start();
    (server.bg, server.addr)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn services_echo_is_byte_exact_with_binary_data_and_partial_writes() {
    let (_server, addr) = service("echo", &[]);
    let data = pseudo_random(3 * 1024 * 1024 + 7, 16);
    let s = connect(addr);
    let mut reader = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut s = s;
        // Uneven pieces, so the server sees partial and coalesced writes.
        for piece in data.chunks(65_521) {
            let (a, b) = piece.split_at(piece.len() / 3);
            s.write_all(a).unwrap();
            s.write_all(b).unwrap();
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
        data
    });
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    let data = writer.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echoed bytes differ");
}

#[test]
fn services_daytime_is_one_line_then_close() {
    let (_server, addr) = service("daytime", &["--utc"]);
    let mut s = connect(addr);
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.ends_with("-UTC\r\n"), "{text:?}");
    assert_eq!(text.lines().count(), 1);
    let year = jiff_free_year(unix_now());
    assert!(text.contains(&format!(", {year} ")), "{text:?}");
}

/// The UTC year of a Unix time, close enough for a test (no leap seconds).
fn jiff_free_year(secs: i64) -> i64 {
    let days = secs.div_euclid(86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

fn rfc868_to_unix(bytes: [u8; 4]) -> i64 {
    i64::from(u32::from_be_bytes(bytes)) - 2_208_988_800
}

#[test]
fn services_time_is_four_bytes_near_the_local_clock_then_close() {
    let (_server, addr) = service("time", &[]);
    let mut s = connect(addr);
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 4, "{got:?}");
    let t = rfc868_to_unix(got.try_into().unwrap());
    assert!((t - unix_now()).abs() <= 2, "{t}");
}

#[test]
fn services_clock_answers_good_bad_and_hostile_lines() {
    let (_server, addr) = service("clock", &["--utc", "--max-line", "100"]);
    let s = connect(addr);
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut ask = |line: &[u8]| {
        w.write_all(line).unwrap();
        w.write_all(b"\n").unwrap();
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        l
    };
    assert_eq!(ask(b"0"), "Thu Jan  1 00:00:00 1970\n");
    assert_eq!(ask(b"1700000000.75"), "Tue Nov 14 22:13:20 2023\n");
    assert_eq!(ask(b"-1"), "Wed Dec 31 23:59:59 1969\n");
    let not_a_number = "Error: send a Unix timestamp in seconds, like 1700000000 or 1700000000.5\n";
    for hostile in [
        &b"__import__('os')"[..],
        b"__import__('os').system('touch /tmp/pwned')",
        b"",
        b"1+1",
        b"\x1b[2J",
        b"\xff\xfe",
    ] {
        assert_eq!(ask(hostile), not_a_number, "{hostile:?}");
    }
    assert!(ask(b"99999999999999999").starts_with("Error: timestamp out of range"));
    // Very long: the line cap, then the connection is closed.
    let mut s = connect(addr);
    s.write_all(&[b'9'; 500]).unwrap();
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "Error: line longer than 100 bytes\n");
}

#[test]
fn services_clock_uses_the_local_zone_unless_utc() {
    let server = support::greet()
        .args(["--service", "clock"])
        .env("TZ", "Asia/Tokyo")
        .start();
    let s = connect(server.addr);
    let mut r = BufReader::new(s.try_clone().unwrap());
    (&s).write_all(b"0\n").unwrap();
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    // Where the zoneinfo database is missing the server falls back to UTC.
    if std::path::Path::new("/usr/share/zoneinfo/Asia/Tokyo").exists() {
        assert_eq!(l, "Thu Jan  1 09:00:00 1970\n");
    } else {
        assert_eq!(l, "Thu Jan  1 00:00:00 1970\n");
    }
}

fn udp_client(server: SocketAddr) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.connect(server).unwrap();
    s
}

#[test]
fn services_over_udp_echo_time_daytime_clock() {
    let mut buf = [0u8; 65_536];
    let (_echo, addr) = service("echo", &["--udp"]);
    let c = udp_client(addr);
    for data in [&b"\x00\x01\xff binary"[..], b"", &pseudo_random(60_000, 3)] {
        c.send(data).unwrap();
        let n = c.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], data, "an echo is exactly the request");
    }
    let (_time, addr) = service("time", &["--udp"]);
    let c = udp_client(addr);
    c.send(b"").unwrap();
    let n = c.recv(&mut buf).unwrap();
    assert_eq!(n, 4);
    let t = rfc868_to_unix(buf[..4].try_into().unwrap());
    assert!((t - unix_now()).abs() <= 2, "{t}");
    let (_daytime, addr) = service("daytime", &["--udp", "--utc"]);
    let c = udp_client(addr);
    c.send(b"x").unwrap();
    let n = c.recv(&mut buf).unwrap();
    assert!(buf[..n].ends_with(b"-UTC\r\n"));
    let (_clock, addr) = service("clock", &["--udp", "--utc"]);
    let c = udp_client(addr);
    c.send(b"0\n").unwrap();
    let n = c.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"Thu Jan  1 00:00:00 1970\n");
}

#[test]
fn services_udp_time_answers_a_source_a_few_times_a_second_only() {
    let (_server, addr) = service("time", &["--udp"]);
    let c = udp_client(addr);
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    for _ in 0..50 {
        c.send(b"").unwrap();
    }
    let mut replies = 0;
    let mut buf = [0u8; 16];
    while c.recv(&mut buf).is_ok() {
        replies += 1;
    }
    // 5 a second: a burst of 50 gets 5, or 10 if it straddles a window.
    assert!(
        (5..=10).contains(&replies),
        "{replies} replies to 50 requests"
    );
}

#[test]
fn services_talk_asks_a_time_server_and_shows_the_offset() {
    for (udp, name) in [
        (false, "time"),
        (true, "time"),
        (false, "daytime"),
        (true, "daytime"),
    ] {
        let mut extra = vec!["--utc"];
        if udp {
            extra.push("--udp");
        }
        let (_server, addr) = service(name, &extra);
        let mut cmd = support::wirecat();
        cmd.args(["talk", "--service", name, &addr.to_string()]);
        if udp {
            cmd.arg("--udp");
        }
        let out = support::run(&mut cmd, TIMEOUT);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let year = jiff_free_year(unix_now()).to_string();
        assert!(lines[0].contains(&year), "{text}");
        assert!(lines[1].starts_with("server clock "), "{text}");
        let secs: f64 = lines[1].split(' ').nth(2).unwrap().parse().unwrap();
        assert!(secs <= 2.0, "{text}");
    }
    // A daytime question to a time server gets no made-up answer.
    let (_server, addr) = service("time", &[]);
    let out = support::run(
        support::wirecat().args(["talk", "--service", "daytime", &addr.to_string()]),
        TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(6), "{out:?}");
}
