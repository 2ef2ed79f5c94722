//! The README tells the truth: its two commands, its examples' output, its
//! exit codes and the flags it mentions are checked against the real binary.

use crate::support::{self, exchange, run, wirecat, TIMEOUT};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The lines of the first fenced block.
fn first_block(text: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("```"));
    lines.next();
    lines
        .take_while(|l| !l.starts_with("```"))
        .map(str::to_string)
        .collect()
}

/// The output the README shows under `$ {command}` in a console block.
fn shown_output(text: &str, command: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| *l != format!("$ {command}"));
    assert!(lines.next().is_some(), "README has no `$ {command}`");
    lines
        .take_while(|l| !l.starts_with('$') && !l.starts_with("```"))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_opens_with_the_two_commands_and_ci_runs_the_second() {
    let block = first_block(&readme());
    let commands: Vec<&str> = block
        .iter()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(
        commands,
        ["cargo run --release -- serve www", "scripts/test"]
    );
    let root = env!("CARGO_MANIFEST_DIR");
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "scripts/test"), "{ci}");
    let script = std::fs::read_to_string(format!("{root}/scripts/test")).unwrap();
    assert!(script.contains("cargo test"), "{script}");
}

#[test]
fn readme_main_command_serves_the_demo_site() {
    // The README's `serve www` on port 8000, here on a kernel-chosen port.
    let www = concat!(env!("CARGO_MANIFEST_DIR"), "/www");
    let server = support::serve(www).start();
    let page = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let page = String::from_utf8(page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("<h1>Welcome!</h1>"), "{page}");
}

#[test]
fn readme_greeting_dialogue_is_what_talk_prints() {
    let text = readme();
    let server = support::greet().start();
    let addr = server.addr.to_string();
    let out = run(
        wirecat().args(["talk", &addr, "Michael", "Tracy", "Sarah"]),
        TIMEOUT,
    );
    assert!(out.status.success(), "{out:?}");
    let printed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        printed,
        shown_output(&text, "wirecat talk 127.0.0.1:42225 Michael Tracy Sarah")
    );
}

#[test]
fn readme_exit_code_table_matches_the_binary() {
    let text = readme();
    let table: Vec<(String, String)> = text
        .lines()
        .skip_while(|l| *l != "## Exit codes")
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() == 4 && cells[1].parse::<u32>().is_ok())
                .then(|| (cells[1].to_string(), cells[2].replace('`', "")))
        })
        .collect();
    let help = wirecat_help(&[]);
    let listed: Vec<(String, String)> = help
        .lines()
        .skip_while(|l| *l != "Exit codes:")
        .skip(1)
        .filter_map(|l| {
            let l = l.trim();
            let (code, meaning) = l.split_once(char::is_whitespace)?;
            Some((code.to_string(), meaning.trim().to_string()))
        })
        .collect();
    assert!(listed.len() >= 10, "{help}");
    assert_eq!(table, listed);
}

#[test]
fn readme_mentions_only_real_subcommands_and_flags() {
    let text = readme();
    let subcommands = ["fetch", "headers", "serve", "greet", "talk", "completions"];
    let mut all_help = wirecat_help(&[]);
    for sub in subcommands {
        all_help.push_str(&wirecat_help(&[sub, "--help"]));
    }
    for line in text.lines().filter(|l| l.starts_with("$ wirecat ")) {
        let sub = line.split_whitespace().nth(2).unwrap();
        assert!(subcommands.contains(&sub), "unknown subcommand in {line:?}");
    }
    // Flags in prose and examples (not the comparison table, which names
    // other tools' flags, and not cargo's).
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('|')) {
        for span in line
            .split('`')
            .skip(1)
            .step_by(2)
            .chain(line.strip_prefix("$ wirecat "))
        {
            if span.starts_with("cargo") {
                continue;
            }
            for flag in span.split_whitespace().filter(|w| w.starts_with("--")) {
                let flag: String = flag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                assert!(
                    all_help.contains(&flag),
                    "README mentions {flag}, no --help lists it"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} flags found: is the README parsed right?"
    );
}

fn wirecat_help(args: &[&str]) -> String {
    let args: Vec<&str> = if args.is_empty() {
        vec!["--help"]
    } else {
        args.to_vec()
    };
    let out = run(wirecat().args(&args), TIMEOUT);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}
