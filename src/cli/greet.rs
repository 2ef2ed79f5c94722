//! `greet` and `talk` flags resolved into the greeter's plain configs
//! ([`GreetConfig`], [`TalkConfig`]): counts checked, seconds turned into
//! durations, the talk target parsed and its host name looked up. The
//! greeter never sees a flag; nothing here binds or connects.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::{bind_addr, seconds, ChatArgs, GreetArgs, ServiceArg, TalkArgs, TimeServiceArg};
use crate::error::{Error, Result};
use crate::greeter::chat::ChatLimits;
use crate::greeter::{ChatConfig, GreetConfig, GreetLimits, ServiceName, TalkConfig, TalkTimeouts};

/// `greet`'s flags, checked and resolved.
pub fn greet_config(args: &GreetArgs) -> Result<GreetConfig> {
    let threads = match args.threads {
        Some(0) => return Err(Error::Usage("--threads must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if args.max_line == 0 {
        return Err(Error::Usage("--max-line must be at least 1".into()));
    }
    Ok(GreetConfig {
        addr: bind_addr(&args.bind, args.port)?,
        udp: args.udp,
        service: match args.service {
            ServiceArg::Greet => ServiceName::Greet,
            ServiceArg::Echo => ServiceName::Echo,
            ServiceArg::Daytime => ServiceName::Daytime,
            ServiceArg::Time => ServiceName::Time,
            ServiceArg::Clock => ServiceName::Clock,
        },
        utc: args.utc,
        unix: args.unix.clone(),
        threads,
        limits: GreetLimits {
            max_line: args.max_line,
            idle_timeout: seconds(args.idle_timeout, "--idle-timeout")?,
            stall_timeout: seconds(args.stall_timeout, "--stall-timeout")?,
            ..GreetLimits::default()
        },
    })
}

/// `chat`'s flags, checked and resolved.
pub fn chat_config(args: &ChatArgs) -> Result<ChatConfig> {
    if args.max_line == 0 {
        return Err(Error::Usage("--max-line must be at least 1".into()));
    }
    if args.max_members == 0 {
        return Err(Error::Usage("--max-members must be at least 1".into()));
    }
    Ok(ChatConfig {
        addr: bind_addr(&args.bind, args.port)?,
        udp: args.udp,
        unix: args.unix.clone(),
        limits: ChatLimits {
            max_line: args.max_line,
            max_members: args.max_members,
            idle_timeout: seconds(args.idle_timeout, "--idle-timeout")?,
            ..ChatLimits::default()
        },
    })
}

/// `talk`'s flags, with ADDR parsed and looked up.
pub fn talk_config(args: &TalkArgs) -> Result<TalkConfig> {
    let (target, messages) = match (&args.unix, &args.addr) {
        // No ADDR over a Unix socket: what clap took for one is a MESSAGE.
        (Some(path), first) => {
            let target = Target {
                name: format!("unix:{}", path.display()),
                addrs: Vec::new(),
                udp: false,
            };
            (
                target,
                first.iter().chain(&args.messages).cloned().collect(),
            )
        }
        (None, Some(addr)) => (talk_target(addr, args.udp)?, args.messages.clone()),
        (None, None) => return Err(Error::Usage("talk: ADDR or --unix PATH is needed".into())),
    };
    Ok(TalkConfig {
        target: target.name,
        addrs: target.addrs,
        udp: target.udp,
        unix: args.unix.clone(),
        messages: (!messages.is_empty()).then_some(messages),
        connect_timeout: seconds(args.connect_timeout, "--connect-timeout")?
            .unwrap_or(Duration::from_secs(3600)),
        timeouts: TalkTimeouts {
            reply: seconds(args.reply_timeout, "--reply-timeout")?,
            greeting_wait: seconds(args.greeting_wait, "--greeting-wait")?.unwrap_or_default(),
        },
        chat: args.chat || args.name.is_some(),
        name: args.name.clone(),
        service: match args.service {
            None => ServiceName::Greet,
            Some(TimeServiceArg::Time) => ServiceName::Time,
            Some(TimeServiceArg::Daytime) => ServiceName::Daytime,
        },
    })
}

/// Where `talk` goes, from ADDR and `--udp`.
struct Target {
    /// `tcp://host:port` or `udp://host:port`, for messages.
    name: String,
    addrs: Vec<SocketAddr>,
    udp: bool,
}

/// `HOST:PORT`, or the server's own announcement (`tcp://...`, `udp://...`,
/// whose scheme wins over `--udp`); IPv6 literals in brackets.
fn talk_target(addr: &str, udp_flag: bool) -> Result<Target> {
    let (udp, hostport) = if let Some(rest) = addr.strip_prefix("udp://") {
        (true, rest)
    } else {
        (udp_flag, addr.strip_prefix("tcp://").unwrap_or(addr))
    };
    let hostport = hostport.trim_end_matches('/');
    let Some((host, port)) = hostport.rsplit_once(':') else {
        return Err(Error::Usage(format!("{addr}: expected HOST:PORT")));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| Error::Usage(format!("{addr}: bad port {port:?}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| Error::Resolve {
            host: host.to_string(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Usage(format!("{host}: no address")));
    }
    Ok(Target {
        name: format!("{}://{hostport}", if udp { "udp" } else { "tcp" }),
        addrs,
        udp,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn talk_args(addr: &str) -> TalkArgs {
        let cli = Cli::parse_from(["wirecat", "talk", addr, "hi"]);
        match cli.command {
            Command::Talk(a) => a,
            _ => unreachable!(),
        }
    }

    fn greet_args(extra: &[&str]) -> GreetArgs {
        let cli = Cli::parse_from(["wirecat", "greet"].iter().chain(extra));
        match cli.command {
            Command::Greet(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn talk_targets() {
        for (addr, udp, first) in [
            ("127.0.0.1:9", false, "127.0.0.1:9"),
            ("tcp://127.0.0.1:9", false, "127.0.0.1:9"),
            ("udp://127.0.0.1:9", true, "127.0.0.1:9"),
            ("[::1]:9", false, "[::1]:9"),
        ] {
            let c = talk_config(&talk_args(addr)).unwrap();
            assert_eq!(c.udp, udp, "{addr}");
            assert_eq!(c.addrs[0].to_string(), first, "{addr}");
        }
        for bad in ["127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"] {
            assert!(matches!(talk_config(&talk_args(bad)), Err(Error::Usage(_))));
        }
        let c = talk_config(&talk_args("127.0.0.1:9")).unwrap();
        assert_eq!(
            c.message_lines().unwrap(),
            vec![b"hi".to_vec(), b"exit".to_vec()]
        );
    }

    #[test]
    fn talk_over_a_unix_socket_takes_every_argument_as_a_message() {
        // Nothing is looked up: "localhost:9" here is a line to send.
        for (args, messages) in [
            (&["--unix", "/tmp/g.sock"][..], None),
            (
                &["--unix", "/tmp/g.sock", "localhost:9"],
                Some(vec!["localhost:9"]),
            ),
            (
                &["localhost:9", "hi", "--unix", "/tmp/g.sock"],
                Some(vec!["localhost:9", "hi"]),
            ),
        ] {
            let cli = Cli::parse_from(["wirecat", "talk"].iter().chain(args));
            let Command::Talk(a) = cli.command else {
                unreachable!()
            };
            let c = talk_config(&a).unwrap();
            assert_eq!(c.target, "unix:/tmp/g.sock", "{args:?}");
            assert!(c.addrs.is_empty() && !c.udp);
            let want = messages.map(|m| m.iter().map(|s| s.to_string()).collect());
            assert_eq!(c.messages, want, "{args:?}");
        }
        assert!(
            Cli::try_parse_from(["wirecat", "talk"]).is_err(),
            "ADDR or --unix"
        );
    }

    #[test]
    fn talk_timeouts() {
        let c = talk_config(&talk_args("127.0.0.1:9")).unwrap();
        assert_eq!(c.target, "tcp://127.0.0.1:9");
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.timeouts.reply, Some(Duration::from_secs(5)));
        assert_eq!(c.timeouts.greeting_wait, Duration::from_millis(300));
    }

    #[test]
    fn greet_flags() {
        let c = greet_config(&greet_args(&["-p", "0", "--threads", "2", "--udp"])).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:0");
        assert!(c.udp);
        assert_eq!(c.threads, 2);
        assert_eq!(c.limits.max_line, 8192);
        assert_eq!(c.limits.idle_timeout, Some(Duration::from_secs(300)));
        let c = greet_config(&greet_args(&["--stall-timeout", "0"])).unwrap();
        assert_eq!(c.limits.stall_timeout, None, "0 is no limit");
        for bad in [&["--threads", "0"][..], &["--max-line", "0"]] {
            assert!(matches!(
                greet_config(&greet_args(bad)),
                Err(Error::Usage(_))
            ));
        }
    }
}
