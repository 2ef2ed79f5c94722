//! The `wirecat` binary: parse the command line (a usage error folded to
//! one line and a hint), set up logging, dispatch, and turn the outcome into
//! an exit code. Everything else lives in the library.

use std::io::{self, Write};

use clap::{CommandFactory, Parser};
use wirecat::cli::{self, Cli, Command};
use wirecat::{client, file_server, greeter, Error};

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| usage_exit(&e));
    init_logging(cli.verbose);
    let verbose = cli.verbose;
    let result = match cli.command {
        Command::Fetch(args) => cli::fetch::fetch(&args, verbose),
        Command::Headers(args) => cli::fetch::headers_run(&args, verbose).and_then(client::run),
        Command::Serve(args) => {
            cli::serve::serve_config(&args).and_then(|c| file_server::serve(&c))
        }
        Command::Greet(args) => cli::greet::greet_config(&args).and_then(|c| greeter::greet(&c)),
        Command::Talk(args) => cli::greet::talk_config(&args).and_then(|c| greeter::talk(&c)),
        Command::Chat(args) => cli::greet::chat_config(&args).and_then(|c| greeter::chat(&c)),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "wirecat",
                &mut io::stdout(),
            );
            Ok(())
        }
    };
    let code = match result {
        Ok(()) => 0,
        // Like ripgrep: a reader that went away (`| head`) is not an error.
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = io::stdout().flush();
            eprintln!("wirecat: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// Exits for a command line clap refused. `--help` and `--version` print in
/// full on stdout (exit 0); anything else is folded, like every other
/// failure, to one `wirecat:` line on stderr plus at most one `hint:` line,
/// exit 2, instead of clap's multi-line block.
fn usage_exit(e: &clap::Error) -> ! {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        _ => {
            let (message, hint) = folded(e, &std::env::args().collect::<Vec<_>>());
            eprintln!("wirecat: {message}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            std::process::exit(2)
        }
    }
}

/// The one line and the hint for a refused command line `args`.
fn folded(e: &clap::Error, args: &[String]) -> (String, Option<String>) {
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // `wirecat` alone: clap would print the whole help as the error.
        let hint = "see 'wirecat --help' (fetch, headers, serve, greet, talk, chat, completions)";
        return (
            "a subcommand is required".to_string(),
            Some(hint.to_string()),
        );
    }
    let subcommands = Cli::command();
    let sub = args
        .iter()
        .skip(1)
        .find(|a| subcommands.find_subcommand(a.as_str()).is_some());
    let command = match sub {
        Some(sub) => format!("wirecat {sub}"),
        None => "wirecat".to_string(),
    };
    fold_usage(&e.render().to_string(), &command)
}

/// clap's message as one line, and one hint: clap's own `tip:` when it has
/// one (a similar flag, `--` for a value that looks like a flag), else
/// `command`'s help. A message whose paragraph runs over several lines (missing
/// arguments, possible values) is joined into one.
fn fold_usage(rendered: &str, command: &str) -> (String, Option<String>) {
    let mut paragraphs = rendered
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let first = paragraphs.next().unwrap_or("bad command line");
    let mut message = first.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    if let Some(rest) = message.strip_prefix("error: ") {
        message = rest.to_string();
    }
    let tip = paragraphs
        .clone()
        .flat_map(str::lines)
        .find_map(|l| l.trim().strip_prefix("tip: ").map(str::to_string));
    let hint = tip.or_else(|| Some(format!("see '{command} --help'")));
    (message, hint)
}

/// Warnings by default; each -v one level more; rustls's own warnings only
/// from -vv on. RUST_LOG, when set, wins.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // rustls warns once per handshake about a peer's quirks (wrk sends an
    // IP address as SNI): for a server that is a debug matter, and wirecat
    // reports real TLS failures itself.
    let filter = if verbose < 2 {
        format!("{level},rustls=error")
    } else {
        level.to_string()
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(filter))
        .format_timestamp(None)
        .format_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// What a refused command line folds to: (message, hint).
    fn folded_args(args: &[&str]) -> (String, Option<String>) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        folded(&Cli::try_parse_from(&args).unwrap_err(), &args)
    }

    #[test]
    fn clap_errors_fold_to_one_line_and_a_hint() {
        let cases: [(&[&str], &str, Option<&str>); 6] = [
            (
                &["wirecat", "fetch", "--outptu", "x", "http://127.0.0.1/"],
                "unexpected argument '--outptu' found",
                Some("a similar argument exists: '--output'"),
            ),
            (
                &["wirecat", "fetch", "-o"],
                "a value is required for '--output <FILE>' but none was supplied",
                Some("see 'wirecat fetch --help'"),
            ),
            (
                &["wirecat", "fecth"],
                "unrecognized subcommand 'fecth'",
                Some("a similar subcommand exists: 'fetch'"),
            ),
            (
                &["wirecat", "serve", "-p", "http"],
                "invalid value 'http' for '--port <PORT>': invalid digit found in string",
                Some("see 'wirecat serve --help'"),
            ),
            (
                &["wirecat", "headers"],
                "the following required arguments were not provided: <URL>",
                Some("see 'wirecat headers --help'"),
            ),
            (
                &["wirecat"],
                "a subcommand is required",
                Some(
                    "see 'wirecat --help' (fetch, headers, serve, greet, talk, chat, completions)",
                ),
            ),
        ];
        for (args, message, hint) in cases {
            let (m, h) = folded_args(args);
            assert_eq!(m, message, "{args:?}");
            assert_eq!(h.as_deref(), hint, "{args:?}");
            assert!(!m.contains('\n'), "{args:?}");
        }
    }
}
