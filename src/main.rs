//! The `wirecat` binary: parse the command line, set up logging, dispatch,
//! and turn the outcome into an exit code. Everything else lives in the library.

use std::io::{self, Write};

use clap::{CommandFactory, Parser};
use wirecat::cli::{self, Cli, Command};
use wirecat::{client, file_server, greeter, Error};

fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let verbose = cli.verbose;
    let result = match cli.command {
        Command::Fetch(args) => cli::fetch::fetch_run(&args, verbose).and_then(client::run),
        Command::Headers(args) => cli::fetch::headers_run(&args, verbose).and_then(client::run),
        Command::Serve(args) => {
            cli::serve::serve_config(&args).and_then(|c| file_server::serve(&c))
        }
        Command::Greet(args) => cli::greet::greet_config(&args).and_then(|c| greeter::greet(&c)),
        Command::Talk(args) => cli::greet::talk_config(&args).and_then(|c| greeter::talk(&c)),
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

/// Warnings by default; each -v one level more. RUST_LOG, when set, wins.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp(None)
        .format_target(false)
        .init();
}
