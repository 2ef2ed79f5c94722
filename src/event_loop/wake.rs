//! Waking one session from inside its own loop: a [`SessionWaker`] handed
//! to each session when it enters the table, which records its key in a
//! list the loop drains every turn. For sessions that share state on one
//! thread (a chat room), so that posting to another member's queue gets
//! that member driven, without waking every connection as the
//! cross-thread [`Notifier`](super::Notifier) does. No socket is touched
//! here; the loop (`tcp::run`) does the draining.

use std::cell::RefCell;
use std::rc::Rc;

/// The keys woken since the loop last looked, shared by one loop's wakers.
#[derive(Debug, Default, Clone)]
pub struct WakeList(Rc<RefCell<Vec<usize>>>);

impl WakeList {
    /// A waker for the connection with table key `key`.
    pub fn waker(&self, key: usize) -> SessionWaker {
        SessionWaker {
            key,
            list: self.clone(),
        }
    }

    /// Takes the keys woken so far, in order, duplicates included.
    pub fn take(&self) -> Vec<usize> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// Gets one session driven on its loop's next turn. Same thread only. A
/// wake that arrives after the session ended may drive whichever session
/// took its key next, which is harmless: `drive` must be idempotent.
#[derive(Debug, Clone)]
pub struct SessionWaker {
    key: usize,
    list: WakeList,
}

impl SessionWaker {
    pub fn wake(&self) {
        self.list.0.borrow_mut().push(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_are_recorded_in_order_and_taken_once() {
        let list = WakeList::default();
        let (a, b) = (list.waker(3), list.waker(7));
        assert!(list.is_empty());
        b.wake();
        a.wake();
        b.clone().wake();
        assert_eq!(list.take(), vec![7, 3, 7]);
        assert!(list.is_empty());
        assert_eq!(list.take(), Vec::<usize>::new());
    }
}
