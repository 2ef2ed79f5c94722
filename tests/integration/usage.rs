//! Usage errors over the real binary: one `wirecat:` line on stderr plus at
//! most one `hint:` line, exit 2, nothing on stdout; `--help` and
//! `--version` complete on stdout with exit 0; each subcommand's help says
//! what `-v` does there and points to the one exit-code table.

use crate::support::{assert_code, run, stderr, stdout, wirecat, TIMEOUT};

/// Runs `wirecat ARGS` with no network involved (every case is refused
/// before anything is resolved or bound).
fn wirecat_args(args: &[&str]) -> std::process::Output {
    run(wirecat().args(args), TIMEOUT)
}

#[test]
fn usage_errors_are_one_line_and_a_hint_with_exit_2() {
    let cases: [(&[&str], &str, Option<&str>); 9] = [
        (
            &["fetch", "--outptu", "x", "http://127.0.0.1:9/"],
            "wirecat: unexpected argument '--outptu' found",
            Some("hint: a similar argument exists: '--output'"),
        ),
        (
            &["fetch", "-o"],
            "wirecat: a value is required for '--output <FILE>' but none was supplied",
            Some("hint: see 'wirecat fetch --help'"),
        ),
        (
            &["fecth", "http://127.0.0.1:9/"],
            "wirecat: unrecognized subcommand 'fecth'",
            Some("hint: a similar subcommand exists: 'fetch'"),
        ),
        (
            &["serve", "-p", "http"],
            "wirecat: invalid value 'http' for '--port <PORT>': invalid digit found in string",
            Some("hint: see 'wirecat serve --help'"),
        ),
        (
            &["serve", "-p", "99999"],
            "wirecat: invalid value '99999' for '--port <PORT>': 99999 is not in 0..=65535",
            Some("hint: see 'wirecat serve --help'"),
        ),
        (
            &["fetch", "-P", "many", "http://127.0.0.1:9/"],
            "wirecat: invalid value 'many' for '--parallel-max <N>': invalid digit found in string",
            Some("hint: see 'wirecat fetch --help'"),
        ),
        (
            &["headers"],
            "wirecat: the following required arguments were not provided: <URL>",
            Some("hint: see 'wirecat headers --help'"),
        ),
        (
            &["completions", "bsh"],
            "wirecat: invalid value 'bsh' for '<SHELL>' [possible values: bash, elvish, fish, powershell, zsh]",
            Some("hint: a similar value exists: 'bash'"),
        ),
        (
            &[],
            "wirecat: a subcommand is required",
            Some("hint: see 'wirecat --help' (fetch, headers, serve, greet, talk, chat, completions)"),
        ),
    ];
    for (args, line, hint) in cases {
        let out = wirecat_args(args);
        assert_code(&out, 2);
        assert_eq!(stdout(&out), "", "{args:?}");
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        let want: Vec<&str> = std::iter::once(line).chain(hint).collect();
        assert_eq!(lines, want, "{args:?}");
    }
}

#[test]
fn any_unknown_flag_folds_to_at_most_two_lines() {
    for args in [
        &["fetch", "--no-such-flag", "http://127.0.0.1:9/"][..],
        &["headers", "-Z", "http://127.0.0.1:9/"],
        &["serve", "--port"],
        &["greet", "--udp=yes"],
        &["talk"],
        &["-vq", "serve"],
    ] {
        let out = wirecat_args(args);
        assert_code(&out, 2);
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        assert!((1..=2).contains(&lines.len()), "{args:?}:\n{err}");
        assert!(lines[0].starts_with("wirecat: "), "{args:?}:\n{err}");
        assert!(
            lines.iter().skip(1).all(|l| l.starts_with("hint: ")),
            "{err}"
        );
    }
}

#[test]
fn help_and_version_print_in_full_on_stdout() {
    let out = wirecat_args(&["--help"]);
    assert_code(&out, 0);
    let help = stdout(&out);
    for needle in [
        "Usage: wirecat",
        "fetch",
        "completions",
        "--verbose",
        "Exit codes:",
        "130",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    assert_eq!(stderr(&out), "");
    let out = wirecat_args(&["--version"]);
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("wirecat "), "{}", stdout(&out));
    let out = wirecat_args(&["help", "fetch"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("--output"), "{}", stdout(&out));
}

#[test]
fn subcommand_help_says_what_v_does_and_points_to_the_exit_codes() {
    let subs = ["fetch", "headers", "serve", "greet", "talk", "completions"];
    for sub in subs {
        let out = wirecat_args(&[sub, "--help"]);
        assert_code(&out, 0);
        let help = stdout(&out);
        assert!(
            help.contains("Exit codes: see wirecat --help."),
            "{sub}:\n{help}"
        );
        assert!(
            !help.contains("Exit codes:\n"),
            "{sub} repeats the table:\n{help}"
        );
        assert!(!help.contains("redirect heads and info"), "{sub}:\n{help}");
        if sub != "completions" {
            assert!(
                help.contains("\n-v "),
                "{sub} does not say what -v does:\n{help}"
            );
        }
    }
}
