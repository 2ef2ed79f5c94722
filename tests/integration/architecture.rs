//! The architecture map in `src/lib.rs`, checked: no import cycles between
//! files, mio only in `event_loop`, clap only in `cli` and `main`, a `//!`
//! line atop every file, and the size budget for files and functions.
//!
//! It reads `src/` as text with a small lexer (comments, strings and
//! `#[cfg(test)]` items are skipped), follows `crate::`, `super::`, `self::`
//! and child-module paths, in `use` trees and inline, to the file that
//! defines the item (through `pub use` re-exports), and looks for strongly
//! connected components in the resulting file graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Non-test lines a file may have (the house style's "about 500").
const MAX_FILE_LINES: usize = 500;
/// Lines a function may span, signature to closing brace.
const MAX_FN_LINES: usize = 60;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Punct(&'static str),
    Other,
}

/// One source file: its module path and tokens with their line numbers.
struct File {
    rel: String,
    module: Vec<String>,
    toks: Vec<(Tok, usize)>,
    code_lines: usize,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` -> `[a, b]`; `src/a/mod.rs` -> `[a]`; `src/lib.rs` -> `[]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Tokens of `text`, without comments, string or char literals.
fn lex(text: &str) -> Vec<(Tok, usize)> {
    let b = text.as_bytes();
    let (mut i, mut line) = (0, 1);
    let mut toks = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(b, i) {
            line += b[i..end].iter().filter(|&&c| c == b'\n').count();
            toks.push((Tok::Other, line));
            i = end;
        } else if c == b'"' || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            i += if c == b'b' { 2 } else { 1 };
            while i < b.len() && b[i] != b'"' {
                line += usize::from(b[i] == b'\n');
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            toks.push((Tok::Other, line));
            i += 1;
        } else if c == b'\'' {
            i = skip_char_or_lifetime(b, i);
            toks.push((Tok::Other, line));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push((Tok::Ident(text[start..i].to_string()), line));
        } else {
            let punct = ["::", "{", "}", "(", ")", "[", "]", ",", ";", "*", "#", "!"]
                .into_iter()
                .find(|p| b[i..].starts_with(p.as_bytes()));
            i += punct.map_or(1, str::len);
            toks.push((punct.map_or(Tok::Other, Tok::Punct), line));
        }
    }
    toks
}

/// The end of a raw string literal (`r"..."`, `br#"..."#`) starting at `i`.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
    {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    if b.get(j) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let rest = &b[j + 1..];
    let at = rest.windows(close.len()).position(|w| w == close)?;
    Some(j + 1 + at + close.len())
}

/// Skips `'x'`, `'\n'`, `'\u{1F600}'` or a lifetime `'a`.
fn skip_char_or_lifetime(b: &[u8], i: usize) -> usize {
    if b.get(i + 1) == Some(&b'\\') {
        let mut j = i + 2;
        while j < b.len() && b[j] != b'\'' {
            j += 1;
        }
        return j + 1;
    }
    // A char literal closes after one (possibly multi-byte) character.
    let ch_len = std::str::from_utf8(&b[i + 1..(i + 5).min(b.len())])
        .ok()
        .or_else(|| std::str::from_utf8(&b[i + 1..(i + 2).min(b.len())]).ok())
        .and_then(|s| s.chars().next())
        .map_or(1, char::len_utf8);
    if b.get(i + 1 + ch_len) == Some(&b'\'') {
        return i + 2 + ch_len;
    }
    i + 1
}

/// Drops every item marked `#[cfg(test)]` (test modules, test helpers);
/// also says how many lines those items spanned.
fn without_tests(toks: Vec<(Tok, usize)>) -> (Vec<(Tok, usize)>, usize) {
    let is = |k: usize, t: &Tok| toks.get(k).map(|x| &x.0) == Some(t);
    let mut out = Vec::new();
    let mut test_lines = 0;
    let mut i = 0;
    while i < toks.len() {
        let cfg_test = is(i, &Tok::Punct("#"))
            && is(i + 1, &Tok::Punct("["))
            && is(i + 2, &Tok::Ident("cfg".into()))
            && is(i + 3, &Tok::Punct("("))
            && is(i + 4, &Tok::Ident("test".into()))
            && is(i + 5, &Tok::Punct(")"));
        if !cfg_test {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        let first = toks[i].1;
        i += 7;
        let mut depth = 0;
        while i < toks.len() {
            match toks[i].0 {
                Tok::Punct("{") => depth += 1,
                Tok::Punct("}") => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                Tok::Punct(";") if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        test_lines += toks.get(i.saturating_sub(1)).map_or(first, |t| t.1) - first + 1;
    }
    (out, test_lines)
}

/// Modules declared `#[cfg(test)] mod name;` in `toks` (test-only files).
fn test_only_children(toks: &[(Tok, usize)]) -> Vec<String> {
    let words: Vec<&Tok> = toks.iter().map(|t| &t.0).collect();
    let cfg_test = [
        Tok::Punct("#"),
        Tok::Punct("["),
        Tok::Ident("cfg".into()),
        Tok::Punct("("),
        Tok::Ident("test".into()),
        Tok::Punct(")"),
        Tok::Punct("]"),
    ];
    let mut out = Vec::new();
    for i in 0..words.len() {
        if words[i..].len() < cfg_test.len()
            || words[i..i + 7].iter().zip(&cfg_test).any(|(a, b)| *a != b)
        {
            continue;
        }
        let mut j = i + 7;
        if ident(toks.get(j)) == Some("pub") {
            j += 1;
        }
        if ident(toks.get(j)) == Some("mod")
            && toks.get(j + 2).map(|t| &t.0) == Some(&Tok::Punct(";"))
        {
            if let Some(name) = ident(toks.get(j + 1)) {
                out.push(name.to_string());
            }
        }
    }
    out
}

fn load() -> Vec<File> {
    let src = src_dir();
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    // Files that only tests compile (`#[cfg(test)] mod tests;`) are test code.
    let mut test_only = BTreeSet::new();
    for p in &paths {
        let rel = p.strip_prefix(&src).unwrap();
        let text = std::fs::read_to_string(p).unwrap();
        for child in test_only_children(&lex(&text)) {
            let mut m = module_of(rel);
            m.push(child);
            test_only.insert(m);
        }
    }
    paths
        .iter()
        .filter(|p| !p.ends_with("main.rs"))
        .filter(|p| {
            // A test-only module's children are test code too.
            let module = module_of(p.strip_prefix(&src).unwrap());
            !(1..=module.len()).any(|n| test_only.contains(&module[..n]))
        })
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap();
            let text = std::fs::read_to_string(p).unwrap();
            let (toks, test_lines) = without_tests(lex(&text));
            let code_lines = text.lines().count() - test_lines;
            File {
                rel: rel.display().to_string(),
                module: module_of(rel),
                toks,
                code_lines,
            }
        })
        .collect()
}

/// What one file defines and re-exports at its top level.
#[derive(Default)]
struct Names {
    defined: BTreeSet<String>,
    reexported: HashMap<String, Vec<String>>,
}

const ITEM_KEYWORDS: [&str; 9] = [
    "fn", "struct", "enum", "trait", "const", "static", "type", "mod", "union",
];

fn ident(t: Option<&(Tok, usize)>) -> Option<&str> {
    match t {
        Some((Tok::Ident(s), _)) => Some(s),
        _ => None,
    }
}

fn names_of(file: &File) -> Names {
    let mut names = Names::default();
    let mut depth = 0;
    for (i, (t, _)) in file.toks.iter().enumerate() {
        match t {
            Tok::Punct("{") => depth += 1,
            Tok::Punct("}") => depth -= 1,
            Tok::Ident(k) if depth == 0 && ITEM_KEYWORDS.contains(&k.as_str()) => {
                if let Some(name) = ident(file.toks.get(i + 1)) {
                    names.defined.insert(name.to_string());
                }
            }
            Tok::Ident(k) if depth == 0 && k == "use" => {
                let public = ident(file.toks.get(i.wrapping_sub(1))) == Some("pub")
                    || matches!(file.toks.get(i.wrapping_sub(1)), Some((Tok::Punct(")"), _)));
                if public {
                    for (path, alias) in use_paths(&file.toks, i + 1) {
                        names.reexported.insert(alias, path);
                    }
                }
            }
            _ => {}
        }
    }
    names
}

/// The paths a `use` tree starting at token `i` names, each with the name
/// it binds.
fn use_paths(toks: &[(Tok, usize)], mut i: usize) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    use_tree(toks, &mut i, Vec::new(), &mut out);
    out
}

fn use_tree(
    toks: &[(Tok, usize)],
    i: &mut usize,
    mut prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) {
    if matches!(toks.get(*i), Some((Tok::Punct("::"), _))) {
        prefix.push("::".into());
        *i += 1;
    }
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Ident(s)) if s == "as" => {
                let alias = ident(toks.get(*i + 1)).unwrap_or("_").to_string();
                *i += 2;
                out.push((prefix, alias));
                return;
            }
            Some(Tok::Ident(s)) => {
                prefix.push(s.clone());
                *i += 1;
                if !matches!(toks.get(*i), Some((Tok::Punct("::"), _))) {
                    if !matches!(toks.get(*i).map(|t| &t.0), Some(Tok::Ident(a)) if a == "as") {
                        let name = prefix.last().cloned().unwrap();
                        out.push((prefix, name));
                        return;
                    }
                } else {
                    *i += 1;
                }
            }
            Some(Tok::Punct("*")) => {
                *i += 1;
                prefix.push("*".into());
                out.push((prefix, "*".into()));
                return;
            }
            Some(Tok::Punct("{")) => {
                *i += 1;
                while !matches!(toks.get(*i), None | Some((Tok::Punct("}"), _))) {
                    use_tree(toks, i, prefix.clone(), out);
                    if matches!(toks.get(*i), Some((Tok::Punct(","), _))) {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            _ => return,
        }
    }
}

struct Crate {
    files: Vec<File>,
    by_module: HashMap<Vec<String>, usize>,
    names: Vec<Names>,
}

impl Crate {
    fn load() -> Crate {
        let files = load();
        let by_module = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let names = files.iter().map(names_of).collect();
        Crate {
            files,
            by_module,
            names,
        }
    }

    /// The file `path` (as written in module `from`) refers to, if it is
    /// in this crate.
    fn resolve(&self, from: &[String], path: &[String], hops: usize) -> Option<usize> {
        let (mut cur, rest) = self.base(from, path)?;
        for (k, seg) in rest.iter().enumerate() {
            let mut child = cur.clone();
            child.push(seg.clone());
            if self.by_module.contains_key(&child) {
                cur = child;
                continue;
            }
            let file = self.by_module[&cur];
            let names = &self.names[file];
            if names.defined.contains(seg) || hops > 8 {
                return Some(file);
            }
            return match names.reexported.get(seg) {
                Some(target) => {
                    let mut target = target.clone();
                    target.extend(rest[k + 1..].iter().cloned());
                    self.resolve(&cur, &target, hops + 1).or(Some(file))
                }
                None => Some(file),
            };
        }
        self.by_module.get(&cur).copied()
    }

    /// Where a path starts: `crate`, `super`, `self` or a child module.
    fn base(&self, from: &[String], path: &[String]) -> Option<(Vec<String>, Vec<String>)> {
        let first = path.first()?;
        let mut cur = from.to_vec();
        match first.as_str() {
            "crate" => return Some((Vec::new(), path[1..].to_vec())),
            "self" => return Some((cur, path[1..].to_vec())),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                cur.truncate(cur.len().checked_sub(ups)?);
                return Some((cur, path[ups..].to_vec()));
            }
            _ => {}
        }
        cur.push(first.clone());
        self.by_module
            .contains_key(&cur)
            .then(|| (from.to_vec(), path.to_vec()))
    }

    /// Every file `file` uses, through `use` and through inline paths.
    fn edges(&self, file: usize) -> BTreeMap<usize, Vec<String>> {
        let f = &self.files[file];
        let mut out: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut add = |path: Vec<String>| {
            if path.first().is_some_and(|s| s == "::") {
                return;
            }
            if let Some(to) = self.resolve(&f.module, &path, 0) {
                if to != file {
                    out.entry(to).or_default().push(path.join("::"));
                }
            }
        };
        let toks = &f.toks;
        let mut i = 0;
        while i < toks.len() {
            let after_colons = i > 0 && toks[i - 1].0 == Tok::Punct("::");
            match ident(toks.get(i)) {
                Some("use") => {
                    for (path, _) in use_paths(toks, i + 1) {
                        add(path);
                    }
                    while i < toks.len() && toks[i].0 != Tok::Punct(";") {
                        i += 1;
                    }
                }
                Some(first)
                    if !after_colons
                        && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Punct("::")) =>
                {
                    let mut path = vec![first.to_string()];
                    let mut j = i + 2;
                    while let Some(seg) = ident(toks.get(j)) {
                        path.push(seg.to_string());
                        if toks.get(j + 1).map(|t| &t.0) != Some(&Tok::Punct("::")) {
                            break;
                        }
                        j += 2;
                    }
                    add(path);
                    i = j;
                }
                _ => {}
            }
            i += 1;
        }
        out
    }
}

/// Strongly connected components of more than one file (Tarjan).
fn cycles(graph: &[BTreeMap<usize, Vec<String>>]) -> Vec<Vec<usize>> {
    struct T<'a> {
        g: &'a [BTreeMap<usize, Vec<String>>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T<'_>, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in t.g[v].keys() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.out.push(comp);
            }
        }
    }
    let n = graph.len();
    let mut t = T {
        g: graph,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

/// Functions longer than the budget: `(file:line, name, lines)`.
fn long_functions(file: &File) -> Vec<(String, String, usize)> {
    let toks = &file.toks;
    let mut out = Vec::new();
    for (i, (t, line)) in toks.iter().enumerate() {
        if *t != Tok::Ident("fn".into()) {
            continue;
        }
        let Some(name) = ident(toks.get(i + 1)) else {
            continue;
        };
        // The body opens at the first `{` before any `;` (a trait method
        // without a body has none). Generic bounds have no braces.
        let Some(open) = toks[i..]
            .iter()
            .position(|t| matches!(t.0, Tok::Punct("{") | Tok::Punct(";")))
            .map(|k| i + k)
            .filter(|&k| toks[k].0 == Tok::Punct("{"))
        else {
            continue;
        };
        let mut depth = 0;
        for (tok, end) in &toks[open..] {
            match tok {
                Tok::Punct("{") => depth += 1,
                Tok::Punct("}") => {
                    depth -= 1;
                    if depth == 0 {
                        let span = end - line + 1;
                        if span > MAX_FN_LINES {
                            out.push((format!("{}:{line}", file.rel), name.to_string(), span));
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn uses_crate(file: &File, krate: &str) -> bool {
    file.toks.iter().enumerate().any(|(i, (t, _))| {
        *t == Tok::Ident(krate.into())
            && file.toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Punct("::"))
            && (i == 0
                || file.toks[i - 1].0 != Tok::Punct("::")
                || ident(file.toks.get(i.wrapping_sub(2))).is_none())
    })
}

#[test]
fn no_import_cycles_between_files() {
    let krate = Crate::load();
    let graph: Vec<_> = (0..krate.files.len()).map(|f| krate.edges(f)).collect();
    let found = cycles(&graph);
    let report: Vec<String> = found
        .iter()
        .map(|comp| {
            let members: BTreeSet<usize> = comp.iter().copied().collect();
            let mut lines = Vec::new();
            for &v in comp {
                for (w, via) in &graph[v] {
                    if members.contains(w) {
                        lines.push(format!(
                            "  {} -> {} (via {})",
                            krate.files[v].rel, krate.files[*w].rel, via[0]
                        ));
                    }
                }
            }
            lines.join("\n")
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles between files:\n{}",
        report.join("\n\n")
    );
}

#[test]
fn the_checker_sees_edges_and_cycles() {
    let krate = Crate::load();
    let file = |rel: &str| krate.files.iter().position(|f| f.rel == rel).unwrap();
    // A `use` through a re-export lands on the defining file.
    let edges = krate.edges(file("client/session.rs"));
    // (`Io`, `Session` and friends live in event_loop/session.rs, the
    // buffers in event_loop/buffer.rs; event_loop/mod.rs only re-exports.)
    assert!(
        edges.contains_key(&file("event_loop/buffer.rs"))
            || edges.contains_key(&file("event_loop/session.rs")),
        "{edges:?}"
    );
    assert!(edges.contains_key(&file("http/response.rs")), "{edges:?}");
    // A made-up cycle is found.
    let mut g = vec![BTreeMap::new(); 3];
    g[0].insert(1, vec!["a".into()]);
    g[1].insert(2, vec!["b".into()]);
    g[2].insert(0, vec!["c".into()]);
    assert_eq!(cycles(&g).len(), 1);
}

#[test]
fn mio_only_in_the_event_loop_and_clap_only_in_cli() {
    let krate = Crate::load();
    let in_cli = |f: &File| f.rel == "cli.rs" || f.rel.starts_with("cli/");
    let cli: BTreeSet<usize> = (0..krate.files.len())
        .filter(|&i| in_cli(&krate.files[i]))
        .collect();
    assert!(!cli.is_empty(), "no cli module found");
    for (i, f) in krate.files.iter().enumerate() {
        if !f.rel.starts_with("event_loop/") {
            assert!(!uses_crate(f, "mio"), "{} uses mio", f.rel);
        }
        if in_cli(f) {
            continue;
        }
        // Feature modules take plain configs that `cli` resolves; they
        // never see its clap types.
        let imported: Vec<&str> = krate
            .edges(i)
            .keys()
            .filter(|to| cli.contains(to))
            .map(|&to| krate.files[to].rel.as_str())
            .collect();
        assert!(
            imported.is_empty(),
            "{} imports {imported:?} (feature modules take plain configs)",
            f.rel
        );
        for c in ["clap", "clap_complete"] {
            assert!(!uses_crate(f, c), "{} uses {c}", f.rel);
        }
    }
}

#[test]
fn every_file_opens_with_a_module_doc() {
    let mut paths = Vec::new();
    rust_files(&src_dir(), &mut paths);
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("//!"), "{} has no //! line", p.display());
    }
}

#[test]
fn files_and_functions_stay_within_budget() {
    let krate = Crate::load();
    let big: Vec<String> = krate
        .files
        .iter()
        .filter(|f| f.code_lines > MAX_FILE_LINES)
        .map(|f| format!("{} ({} lines)", f.rel, f.code_lines))
        .collect();
    let long: Vec<String> = krate
        .files
        .iter()
        .flat_map(long_functions)
        .map(|(at, name, n)| format!("{at} {name} ({n} lines)"))
        .collect();
    assert!(
        big.is_empty() && long.is_empty(),
        "over {MAX_FILE_LINES} non-test lines:\n  {}\nfunctions over {MAX_FN_LINES} lines:\n  {}",
        big.join("\n  "),
        long.join("\n  ")
    );
}
