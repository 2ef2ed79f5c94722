//! A session that splits its work across calls asks to be driven again at
//! once (`Step::Wait` with a deadline already due). The loop queues it for
//! the next turn; this checks it is driven only once or twice a turn
//! however long it keeps asking. A key queued once per call used to pile
//! up on the backlog, so late turns drove it dozens of times in a row (the
//! very stall the slicing is meant to avoid).

use std::collections::HashMap;

use super::closing::start_with;
use super::*;

const SLICES: usize = 300;

/// Asks for `SLICES` immediate re-drives, counting the drives of each turn
/// (every drive of one turn sees the same `io.now`), then closes.
struct Slicer {
    left: usize,
    per_turn: HashMap<Instant, usize>,
    done: mpsc::Sender<HashMap<Instant, usize>>,
}

impl Session for Slicer {
    fn drive(&mut self, io: &mut Io<'_>) -> Step {
        *self.per_turn.entry(io.now).or_default() += 1;
        if self.left == 0 {
            let _ = self.done.send(std::mem::take(&mut self.per_turn));
            io.output.push(b"done".to_vec());
            return Step::Close;
        }
        self.left -= 1;
        Step::Wait {
            read: false,
            deadline: Some(io.now),
        }
    }
}

#[test]
fn a_session_asking_again_at_once_is_driven_once_or_twice_a_turn() {
    let (tx, rx) = mpsc::channel();
    let (addr, shutdown, _ended, h) = start_with(LoopConfig::default(), move || Slicer {
        left: SLICES,
        per_turn: HashMap::new(),
        done: tx.clone(),
    });
    let mut c = client(addr);
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"done");
    let per_turn = rx.recv_timeout(T).unwrap();
    assert_eq!(per_turn.values().sum::<usize>(), SLICES + 1);
    // A sweep that finds the due deadline may drive it once more.
    let most = per_turn.values().max().copied().unwrap();
    assert!(most <= 2, "driven {most} times in one turn");
    shutdown.request();
    h.join().unwrap().unwrap();
}
