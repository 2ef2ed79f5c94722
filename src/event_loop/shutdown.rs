//! Shutdown and wake-ups: a flag shared by every loop of a process, the mio
//! wakers that interrupt their polls, and the thread that turns SIGINT and
//! SIGTERM into a shutdown request.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

/// Wakes one loop from another thread (a stdin reader, a signal thread).
#[derive(Clone)]
pub struct Notifier(pub(crate) Arc<Waker>);

impl Notifier {
    pub fn notify(&self) {
        if let Err(e) = self.0.wake() {
            log::warn!("could not wake the event loop: {e}");
        }
    }
}

/// A shutdown request shared by all loops of the process.
#[derive(Clone, Default)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
    wakers: Arc<Mutex<Vec<Notifier>>>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Asks every loop to stop accepting, finish in-flight work and return.
    pub fn request(&self) {
        self.requested.store(true, Ordering::Release);
        for w in self.wakers.lock().expect("wakers lock").iter() {
            w.notify();
        }
    }

    pub(crate) fn add_waker(&self, n: Notifier) {
        self.wakers.lock().expect("wakers lock").push(n);
        // A request that came before this loop existed still counts.
        if self.is_requested() {
            self.request();
        }
    }

    /// Turns SIGINT and SIGTERM into `request()`. A second signal ends the
    /// process at once with status 130, for when the grace period is too long
    /// for the person at the keyboard.
    pub fn on_signals(&self) -> io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let this = self.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if this.is_requested() {
                        std::process::exit(130);
                    }
                    log::info!("signal {sig}: shutting down");
                    this.request();
                }
            })?;
        Ok(())
    }
}
