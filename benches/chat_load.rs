//! Load generator for `benches/chat.sh` (run by hand, not a test), on
//! plain threads and blocking std sockets so it measures the servers, not
//! itself in any clever way.
//!
//! ```text
//! chat_load chat ADDR [MEMBERS [LINES]]
//!     MEMBERS members join (each waits for its `* Hello`), then all at once
//!     each sends LINES lines and reads until it has every other member's
//!     lines; checks none is lost and each sender's come in order; prints
//!     deliveries per second.
//! chat_load echo ADDR [MIB]
//!     MIB MiB through one connection to an echo server, every byte
//!     checked; prints MiB per second.
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let num = |i: usize, default: usize| -> usize {
        args.get(i)
            .map(|s| s.parse().expect("a number"))
            .unwrap_or(default)
    };
    let Some(addr) = args.get(1).and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: chat_load chat|echo HOST:PORT [N...]");
        std::process::exit(2);
    };
    match args[0].as_str() {
        "chat" => chat(addr, num(2, 1000), num(3, 10)),
        "echo" => echo(addr, num(2, 1024)),
        m => {
            eprintln!("unknown mode {m}");
            std::process::exit(2);
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s
}

fn chat(addr: SocketAddr, members: usize, lines: usize) {
    // Joined, then all start together; the clock starts when the last is in.
    let joined = Arc::new(Barrier::new(members + 1));
    let go = Arc::new(Barrier::new(members + 1));
    let workers: Vec<_> = (0..members)
        .map(|i| {
            let (joined, go) = (joined.clone(), go.clone());
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || member(addr, i, members, lines, &joined, &go))
                .unwrap()
        })
        .collect();
    joined.wait();
    let start = Instant::now();
    go.wait();
    let mut bad = 0;
    for w in workers {
        if !w.join().unwrap_or(false) {
            bad += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let deliveries = (members * (members - 1) * lines) as f64;
    println!(
        "members={members} lines={lines} deliveries={deliveries} secs={secs:.3} deliveries_per_sec={:.0} members_failed={bad}",
        deliveries / secs
    );
}

/// One member; true when it got every other member's lines, each sender's in order.
fn member(
    addr: SocketAddr,
    me: usize,
    members: usize,
    lines: usize,
    joined: &Barrier,
    go: &Barrier,
) -> bool {
    let mut s = connect(addr);
    let mut r = BufReader::new(s.try_clone().unwrap());
    s.write_all(format!("m{me}\n").as_bytes()).unwrap();
    let mut l = String::new();
    loop {
        l.clear();
        if r.read_line(&mut l).unwrap_or(0) == 0 {
            joined.wait();
            go.wait();
            return false;
        }
        if l.starts_with("* Hello") {
            break;
        }
    }
    joined.wait();
    go.wait();
    let mut batch = String::new();
    for n in 0..lines {
        batch.push_str(&format!("{n}\n"));
    }
    s.write_all(batch.as_bytes()).unwrap();
    let mut next = vec![0usize; members];
    let mut got = 0;
    let want = (members - 1) * lines;
    let mut ok = true;
    while got < want {
        l.clear();
        match r.read_line(&mut l) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        // `<mJ> N`
        let Some(rest) = l.strip_prefix("<m") else {
            continue;
        };
        let Some((who, n)) = rest.trim_end().split_once("> ") else {
            continue;
        };
        let (Ok(who), Ok(n)) = (who.parse::<usize>(), n.parse::<usize>()) else {
            continue;
        };
        if next[who] != n {
            ok = false;
        }
        next[who] = n + 1;
        got += 1;
    }
    let _ = s.write_all(b"/quit\n");
    ok
}

fn echo(addr: SocketAddr, mib: usize) {
    let s = connect(addr);
    let _ = s.set_nodelay(true);
    let mut r = s.try_clone().unwrap();
    let total = mib * 1024 * 1024;
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let mut s = s;
        let mut chunk = vec![0u8; 256 * 1024];
        let mut sent = 0usize;
        let mut x = 0u8;
        while sent < total {
            let n = chunk.len().min(total - sent);
            for b in &mut chunk[..n] {
                *b = x;
                x = x.wrapping_add(1);
            }
            s.write_all(&chunk[..n]).unwrap();
            sent += n;
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0usize;
    let mut x = 0u8;
    let mut ok = true;
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            ok &= b == x;
            x = x.wrapping_add(1);
        }
        got += n;
    }
    writer.join().unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "bytes={got} secs={secs:.3} mib_per_sec={:.0} intact={}",
        got as f64 / 1048576.0 / secs,
        ok && got == total
    );
}
