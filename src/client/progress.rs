//! The download progress bar: indicatif on stderr, only when stderr is a
//! terminal (decided by the caller) and only once a body is big enough to
//! be worth watching. Never on stdout, which may carry the body. With
//! several downloads a [`Board`] (indicatif's `MultiProgress`) holds one
//! line per active download and a total line under them.

use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bodies smaller than this finish before a bar would be readable.
const SHOW_FROM: u64 = 256 * 1024;

#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    total: Option<u64>,
    bar: Option<ProgressBar>,
    /// With several downloads: the shared board, this line's name, and the
    /// bytes already counted in the board's total.
    board: Option<(Board, String, u64)>,
}

/// The lines of a run with several downloads: one per active download,
/// and the total (files done, bytes, rate) below them.
#[derive(Debug, Clone)]
pub struct Board {
    multi: MultiProgress,
    total: ProgressBar,
    files: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
}

impl Board {
    pub fn new(files: usize) -> Board {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::no_length());
        total.set_style(
            ProgressStyle::with_template("total: {msg} {bytes} {binary_bytes_per_sec} {elapsed}")
                .expect("valid template"),
        );
        total.enable_steady_tick(Duration::from_millis(200));
        let board = Board {
            multi,
            total,
            files: Arc::new(AtomicUsize::new(files)),
            done: Arc::default(),
            failed: Arc::default(),
        };
        board.show_counts();
        board
    }

    /// More downloads joined the run (a crawl finds them as it goes).
    pub fn add_files(&self, n: usize) {
        self.files.fetch_add(n, Ordering::Relaxed);
        self.show_counts();
    }

    /// A download ended (well or not).
    pub fn file_done(&self, ok: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.show_counts();
    }

    /// Prints a line above the bars without tearing them.
    pub fn println(&self, line: &str) {
        self.multi.suspend(|| eprintln!("{line}"));
    }

    pub fn finish(&self) {
        self.total.finish_and_clear();
    }

    fn show_counts(&self) {
        let failed = self.failed.load(Ordering::Relaxed);
        let failed = if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        };
        self.total.set_message(format!(
            "{}/{} files{failed}",
            self.done.load(Ordering::Relaxed),
            self.files.load(Ordering::Relaxed)
        ));
    }
}

impl Progress {
    /// `enabled`: stderr is a terminal and neither `-q` nor `--no-progress`.
    pub fn new(enabled: bool, total: Option<u64>) -> Progress {
        Progress {
            enabled,
            total,
            bar: None,
            board: None,
        }
    }

    /// A line on the board for the download saved as `name`, shown from
    /// the first byte: with many downloads, seeing which are active matters
    /// more than hiding short ones.
    pub fn on_board(board: &Board, name: &str, total: Option<u64>) -> Progress {
        let bar = board
            .multi
            .insert_before(&board.total, make_bar(total, name));
        Progress {
            enabled: true,
            total,
            bar: Some(bar),
            board: Some((board.clone(), name.to_string(), 0)),
        }
    }

    pub fn disabled() -> Progress {
        Progress::new(false, None)
    }

    pub fn update(&mut self, received: u64) {
        if !self.enabled {
            return;
        }
        if let Some((board, _, counted)) = &mut self.board {
            board.total.inc(received.saturating_sub(*counted));
            *counted = received;
        }
        if self.bar.is_none() && self.total.unwrap_or(received).max(received) >= SHOW_FROM {
            self.bar = Some(make_bar(self.total, ""));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(received);
        }
    }

    /// Removes the bar, leaving the terminal line for the summary.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Some((board, _, _)) = &self.board {
                board.multi.remove(&bar);
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn make_bar(total: Option<u64>, name: &str) -> ProgressBar {
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            "{prefix}{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{prefix}{spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
        ),
    };
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    if !name.is_empty() {
        bar.set_prefix(format!("{name:.24} "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_for_big_bodies_and_only_when_enabled() {
        // (enabled, declared total, bytes received, bar shown)
        let cases = [
            (false, Some(1 << 30), 1 << 20, false),
            (true, Some(1000), 1000, false),
            (true, Some(1 << 30), 10, true),
            (true, None, SHOW_FROM - 1, false),
            (true, None, SHOW_FROM, true),
        ];
        for (enabled, total, received, shown) in cases {
            let mut p = Progress::new(enabled, total);
            p.update(received);
            assert_eq!(p.bar.is_some(), shown, "{enabled} {total:?} {received}");
            p.finish();
            assert!(p.bar.is_none());
        }
    }

    #[test]
    fn the_board_totals_bytes_and_files_across_downloads() {
        let board = Board::new(3);
        let mut a = Progress::on_board(&board, "a", Some(100));
        let mut b = Progress::on_board(&board, "b", None);
        a.update(40);
        b.update(10);
        a.update(100);
        assert_eq!(board.total.position(), 110);
        a.finish();
        board.file_done(true);
        board.file_done(false);
        assert!(a.bar.is_none() && b.bar.is_some());
        assert_eq!(board.total.message(), "2/3 files, 1 failed");
        board.finish();
    }
}
