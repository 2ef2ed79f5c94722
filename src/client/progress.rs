//! The download progress bar: indicatif on stderr, only when stderr is a
//! terminal (decided by the caller) and only once a body is big enough to
//! be worth watching. Never on stdout, which may carry the body.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bodies smaller than this finish before a bar would be readable.
const SHOW_FROM: u64 = 256 * 1024;

#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    total: Option<u64>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `enabled`: stderr is a terminal and neither `-q` nor `--no-progress`.
    pub fn new(enabled: bool, total: Option<u64>) -> Progress {
        Progress {
            enabled,
            total,
            bar: None,
        }
    }

    pub fn disabled() -> Progress {
        Progress::new(false, None)
    }

    pub fn update(&mut self, received: u64) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.total.unwrap_or(received).max(received) >= SHOW_FROM {
            self.bar = Some(make_bar(self.total));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(received);
        }
    }

    /// Removes the bar, leaving the terminal line for the summary.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn make_bar(total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(n) => (
            ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
        ),
    };
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
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
}
