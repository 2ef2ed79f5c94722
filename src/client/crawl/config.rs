//! What a crawl is asked to do, as plain values resolved by `cli::fetch`;
//! every crawl file reads it, and it reads none of them.

use std::path::PathBuf;

use url::Url;

/// Frames inside frames are saved this deep with `--page`.
pub const FRAME_DEPTH: u32 = 3;

/// `fetch --page`, `fetch -r` and `fetch --mirror`, resolved.
#[derive(Debug, Clone)]
pub struct CrawlConfig {
    pub start: Url,
    /// `--output-dir`: files go under `DIR/HOST[_PORT]/PATH`.
    pub out_dir: PathBuf,
    /// `--page`: save every page's requisites (on any host) and frames.
    pub requisites: bool,
    /// `-r`: follow links within the scope.
    pub recursive: bool,
    /// `-l N`: link depth from the start page; `None` for `-l inf`.
    pub depth: Option<u32>,
    /// `--accept`/`--reject`: globs on file names.
    pub accept: Vec<String>,
    pub reject: Vec<String>,
    /// `--max-files`: at most this many files are fetched.
    pub max_files: usize,
    /// Ask for `/robots.txt` first and honour it (off with `--no-robots`).
    pub robots: bool,
    /// `--mirror`: revalidate what an earlier run saved.
    pub mirror: bool,
    /// `--max-page-size`: a larger page is saved but not parsed.
    pub max_page_size: u64,
    /// `-P`: connections in all; `per_host`: to one origin.
    pub parallel: usize,
    pub per_host: usize,
    /// `-q`: no summary line.
    pub quiet: bool,
}
