//! The README tells the truth: its two commands, every ```console block
//! (each `$` line run against the real binary and the demo site, its output
//! compared once what legitimately varies is masked), its exit codes and the
//! flags it mentions are checked against the real binary; so is every
//! example in the binary's own `--help`.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Instant;

use crate::support::{self, exchange, run, wirecat, Background, TIMEOUT};

/// wirecat's subcommands, for every check below that walks them.
const SUBCOMMANDS: [&str; 7] = [
    "fetch",
    "headers",
    "serve",
    "greet",
    "talk",
    "chat",
    "completions",
];

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
    let mut all_help = wirecat_help(&[]);
    for sub in SUBCOMMANDS {
        all_help.push_str(&wirecat_help(&[sub, "--help"]));
    }
    for line in text.lines().filter(|l| l.starts_with("$ wirecat ")) {
        let sub = line.split_whitespace().nth(2).unwrap();
        assert!(SUBCOMMANDS.contains(&sub), "unknown subcommand in {line:?}");
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

// ---- Running the README's console blocks ---------------------------------

/// One `$ command` of a console block and the lines shown under it.
struct Shown {
    command: String,
    output: Vec<String>,
}

/// Every ```console block, as its commands with their shown output.
fn console_blocks(text: &str) -> Vec<Vec<Shown>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line != "```console" {
            continue;
        }
        let mut block: Vec<Shown> = Vec::new();
        for line in lines.by_ref().take_while(|l| !l.starts_with("```")) {
            match (line.strip_prefix("$ "), block.last_mut()) {
                (Some(command), _) => block.push(Shown {
                    command: command.to_string(),
                    output: Vec::new(),
                }),
                (None, Some(last)) => last.output.push(line.to_string()),
                (None, None) => panic!("console block starts without `$`: {line:?}"),
            }
        }
        blocks.push(block);
    }
    blocks
}

/// What varies from run to run, masked: dates (header values and the access
/// log's bracket), ETags, and every decimal number (timings, rates and,
/// harmlessly, versions and addresses), with the rate's unit; and trailing
/// blanks, which Markdown does not keep.
fn masked(line: &str) -> String {
    let line = line.trim_end();
    let bare = line.strip_prefix("< ").unwrap_or(line);
    for name in ["Date: ", "Last-Modified: ", "ETag: "] {
        if bare.starts_with(name) {
            return format!("{}{name}*", &line[..line.len() - bare.len()]);
        }
    }
    let mut line = line.to_string();
    if let (Some(open), Some(close)) = (line.find(" - - ["), line.find("] \"")) {
        line.replace_range(open + 6..close, "DATE");
    }
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        let mut number = c.to_string();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || (d == '.' && !number.ends_with('.')) {
                number.push(d);
                chars.next();
            } else {
                break;
            }
        }
        match number.strip_suffix('.') {
            Some(whole) => out.push_str(&format!("{whole}.")),
            None if number.contains('.') => out.push('#'),
            None => out.push_str(&number),
        }
    }
    for unit in [" B/s", " KiB/s", " MiB/s", " GiB/s"] {
        out = out.replace(unit, " _/s");
    }
    out
}

fn masked_all(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| masked(l)).collect()
}

/// A shell command line as a person types it: wirecat on PATH, `ls` laid
/// out in columns as on a terminal, stderr where the terminal shows it,
/// HOME and the working folder a fresh temporary folder.
fn shell(command: &str, home: &Path) -> Command {
    bash(
        &format!("ls() {{ command ls -C \"$@\"; }}\n{{ {command}\n}} 2>&1"),
        home,
    )
}

/// `bash -o pipefail -c SCRIPT` in `home` (also HOME), with wirecat on PATH
/// and the environment every test run has.
fn bash(script: &str, home: &Path) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_wirecat")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut sh = Command::new("bash");
    sh.args(["-o", "pipefail", "-c", script])
        .current_dir(home)
        .env("HOME", home)
        .env("PATH", path)
        .env("COLUMNS", "80")
        .env("NO_COLOR", "1");
    for proxy in [
        "RUST_LOG",
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        sh.env_remove(proxy);
    }
    sh
}

/// The ports the README shows and the ones this run got.
#[derive(Default)]
struct Ports(Vec<(String, String)>);

impl Ports {
    fn add(&mut self, shown: &str, real: u16) {
        self.0.push((shown.to_string(), real.to_string()));
    }
    /// A README command with this run's ports.
    fn to_real(&self, text: &str) -> String {
        self.0.iter().fold(text.to_string(), |t, (shown, real)| {
            t.replace(&format!(":{shown}"), &format!(":{real}"))
        })
    }
    /// This run's output with the README's ports.
    fn to_shown(&self, text: &str) -> String {
        self.0.iter().fold(text.to_string(), |t, (shown, real)| {
            t.replace(&format!(":{real}"), &format!(":{shown}"))
        })
    }
}

/// The port at the end of an announcement (`...:8000/`, `tcp://...:42225`).
fn port_of(announced: &str) -> &str {
    announced.trim_end_matches('/').rsplit(':').next().unwrap()
}

/// The demo site as the tour ran it: `wirecat serve www -p 0` from the
/// repository's root, its access log kept for the `serve` block.
fn demo_site() -> (Background, String) {
    let mut cmd = support::serve("www").command();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    let (bg, announced) = Background::start(&mut cmd);
    assert!(announced.starts_with("Serving www at "), "{announced}");
    (bg, announced)
}

/// Waits for the access-log line that masks to `want`, taking the lines
/// before it.
fn log_line(lines: &mpsc::Receiver<String>, want: &str, ports: &Ports) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) if masked(&ports.to_shown(&l)) == masked(want) => return,
            Ok(_) => {}
            Err(_) => panic!("the demo site never logged {want:?}"),
        }
    }
}

#[test]
fn readme_console_blocks_are_what_the_binary_prints() {
    let text = readme();
    let (site, announced) = demo_site();
    let mut ports = Ports::default();
    let tour_port = text
        .split("printed\n`Serving www at http://127.0.0.1:")
        .nth(1)
        .and_then(|t| t.split('/').next())
        .expect("the tour names the demo site's port");
    ports.add(tour_port, port_of(&announced).parse().unwrap());
    let mut servers = Vec::new();
    let mut homes = Vec::new();
    for block in console_blocks(&text) {
        let home = tempfile::tempdir().unwrap();
        for shown in &block {
            let command = shown.command.as_str();
            if let Some(args) = command.strip_suffix(" &") {
                servers.push(background(args, &shown.output, &mut ports, home.path()));
            } else if command.starts_with("wirecat serve ")
                && shown
                    .output
                    .first()
                    .is_some_and(|l| l.starts_with("Serving "))
            {
                // The demo site's own block: its announcement and the log
                // lines the blocks before it caused.
                let mut serve_ports = Ports::default();
                serve_ports.add(
                    port_of(&shown.output[0]),
                    port_of(&announced).parse().unwrap(),
                );
                assert_eq!(serve_ports.to_shown(&announced), shown.output[0]);
                for want in &shown.output[1..] {
                    log_line(&site.lines, want, &ports);
                }
            } else {
                let out = run(&mut shell(&ports.to_real(command), home.path()), TIMEOUT);
                let printed: Vec<String> = ports
                    .to_shown(&String::from_utf8_lossy(&out.stdout))
                    .lines()
                    .map(str::to_string)
                    .collect();
                assert_eq!(
                    masked_all(&printed),
                    masked_all(&shown.output),
                    "README's `$ {command}` printed:\n{}",
                    printed.join("\n")
                );
            }
        }
        homes.push(home);
    }
    assert!(servers.len() >= 2, "the greet examples were not found");
    let completions = ".local/share/bash-completion/completions/wirecat";
    let made = homes
        .iter()
        .filter_map(|h| std::fs::read_to_string(h.path().join(completions)).ok())
        .any(|c| c.contains("complete"));
    assert!(made, "no console block installs the bash completions");
}

/// A `$ wirecat ... &` server of a block: started in the block's folder
/// on the port it asks for (0), its announcement compared, the README's
/// port for it remembered (a Unix socket's announcement has none).
fn background(args: &str, output: &[String], ports: &mut Ports, home: &Path) -> Background {
    let args: Vec<&str> = args.split_whitespace().collect();
    assert_eq!(args[0], "wirecat", "{args:?}");
    let (bg, announced) = Background::start(wirecat().args(&args[1..]).current_dir(home));
    let shown = &output[0];
    if !shown.contains(" unix:") {
        ports.add(port_of(shown), port_of(&announced).parse().unwrap());
    }
    assert_eq!(&ports.to_shown(&announced), shown);
    bg
}

// ---- Running the examples in `--help` ------------------------------------

/// The example command lines at the end of `wirecat [SUB] --help`: the
/// indented lines under `Example...:`, each without its comment (set off by
/// two spaces or more).
fn help_examples(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Example"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().split("  ").next().unwrap().to_string())
        .collect()
}

/// A server example on a kernel-chosen port, on loopback only: `-p N`
/// becomes `-p 0` (added where the default port was meant), and an
/// all-interfaces bind (`-b 0.0.0.0`, `-b [::]`) becomes `127.0.0.1`, so
/// no test listens beyond this machine.
fn on_port_zero(command: &str) -> String {
    let mut words: Vec<&str> = command.split(' ').collect();
    match words.iter().position(|w| *w == "-p") {
        Some(i) => words[i + 1] = "0",
        None => words.extend(["-p", "0"]),
    }
    if let Some(i) = words.iter().position(|w| *w == "-b") {
        if matches!(words.get(i + 1), Some(&"0.0.0.0" | &"[::]" | &"::")) {
            words[i + 1] = "127.0.0.1";
        }
    }
    words.join(" ")
}

/// The subcommand an example runs (none for a plain shell command such as
/// the `mkdir` before `completions`).
/// Whether a background server still runs, and what it logged (`-v`).
fn server_state(name: &str, s: &mut support::Server) -> String {
    let status = s.bg.child.try_wait();
    let log: Vec<String> =
        s.bg.stderr
            .as_ref()
            .map_or(Vec::new(), |l| l.try_iter().collect());
    format!(
        "{name} at {}: exit {status:?}; stderr:\n  {}",
        s.addr,
        log.join("\n  ")
    )
}

fn subcommand_of(command: &str) -> Option<&str> {
    let after = command.split("wirecat ").nth(1)?;
    after.split(' ').find(|w| SUBCOMMANDS.contains(w))
}

#[test]
fn help_examples_run_against_the_demo_site() {
    let (site, announced) = demo_site();
    let _site = site;
    let demo = format!("127.0.0.1:{}", port_of(&announced));
    let mut tcp = support::greet().args(["-v"]).stderr_lines().start();
    let mut udp = support::greet()
        .args(["--udp", "-v"])
        .stderr_lines()
        .start();
    let mut chat = support::chat().args(["-v"]).stderr_lines().start();
    let home = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    std::os::unix::fs::symlink(format!("{root}/www"), home.path().join("www")).unwrap();
    std::fs::create_dir(home.path().join("dist")).unwrap();
    std::fs::create_dir(home.path().join("share")).unwrap();
    let mut ran = 0;
    let helps = std::iter::once(wirecat_help(&[]))
        .chain(SUBCOMMANDS.iter().map(|s| wirecat_help(&[s, "--help"])));
    for command in helps.flat_map(|h| help_examples(&h)) {
        let greeter = if command.contains("udp") { &udp } else { &tcp };
        let real = command
            .replace("127.0.0.1:8000", &demo)
            .replace("127.0.0.1:9999", &greeter.addr.to_string())
            .replace("127.0.0.1:7777", &chat.addr.to_string());
        match subcommand_of(&command) {
            Some("serve" | "greet" | "chat") => {
                let script = format!("exec {}", on_port_zero(&real));
                let (_bg, first) = Background::start(&mut bash(&script, home.path()));
                assert!(
                    first.starts_with("Serving ")
                        || first.starts_with("Greeting on ")
                        || first.starts_with("Chatting on "),
                    "help example `{command}` announced {first:?}"
                );
            }
            _ => {
                let out = run(&mut shell(&real, home.path()), TIMEOUT);
                let printed = String::from_utf8_lossy(&out.stdout);
                if !out.status.success() || printed.contains("wirecat: ") {
                    // A refused connection to a server started above was
                    // seen once under load: say how the servers are.
                    let servers = [
                        ("greet", &mut tcp),
                        ("greet --udp", &mut udp),
                        ("chat", &mut chat),
                    ]
                    .map(|(name, s)| server_state(name, s))
                    .join("\n");
                    panic!("help example `{command}` failed:\n{printed}\n{servers}");
                }
                if command.contains(" -v -L ") {
                    assert!(printed.contains("< HTTP/1.1 301"), "{printed}");
                    assert!(printed.contains("\nHTTP/1.1 200 OK"), "{printed}");
                }
            }
        }
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} help examples found");
    let completions = home
        .path()
        .join(".local/share/bash-completion/completions/wirecat");
    assert!(completions.exists(), "the completions example made nothing");
}
