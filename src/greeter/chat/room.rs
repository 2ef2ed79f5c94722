//! The chat room's state, sans I/O: who is in it, by what name, and each
//! member's bounded queue of lines not yet taken. The transport decides
//! what a member key is (a connection's number over TCP, the peer address
//! over UDP) and drains the queues; the room never looks inside a key.
//!
//! Fan-out never waits for anyone: a line is an `Rc` shared by every
//! queue it is in, and a member whose queue is full when a line comes is
//! dropped from the room on the spot (with a notice to the others), so a
//! member that stops reading costs at most `queue_cap` pointers.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::rc::Rc;

use super::words::{check_name, name_key, parse_line, sanitize, Line, NameError};

/// One line of the room's output, shared between the queues it is in.
pub type Shared = Rc<[u8]>;

/// What a member's line did to its own membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    Stay,
    /// `/quit`: the farewell is queued; the transport closes after it.
    Quit,
}

#[derive(Debug)]
struct Member {
    name: Option<String>,
    queue: VecDeque<Shared>,
    /// Dropped for a full queue: the transport ends it.
    dropped: bool,
    /// The transport could not take its whole queue last time (its own
    /// output is full): it is not keeping up.
    behind: bool,
}

/// The limits of one room.
#[derive(Debug, Clone, Copy)]
pub struct RoomLimits {
    pub max_members: usize,
    /// Lines a member may have waiting before it is dropped.
    pub queue_cap: usize,
}

#[derive(Debug)]
pub struct Room<K> {
    limits: RoomLimits,
    members: HashMap<K, Member>,
    /// `name_key(name)` -> member.
    names: HashMap<String, K>,
    /// Members whose queue went from empty to not, or who were dropped,
    /// since the transport last asked.
    woken: Vec<K>,
    /// Lines waiting in all queues together (what the room's memory is).
    queued: usize,
}

/// How far past `queue_cap` the queue of a member that is keeping up may
/// grow while it waits for its turn (many lines relayed in one turn).
const HARD_CAP_FACTOR: usize = 16;

pub const WELCOME: &str = "* Welcome to wirecat chat! Your name? (or /nick NAME)\n";
pub const HELP: &str = "* /who lists members, /me does something, /nick renames, /quit leaves\n";

impl<K: Clone + Eq + Hash> Room<K> {
    pub fn new(limits: RoomLimits) -> Self {
        Room {
            limits,
            members: HashMap::new(),
            names: HashMap::new(),
            woken: Vec::new(),
            queued: 0,
        }
    }

    /// Members in the room, named or not.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, key: &K) -> bool {
        self.members.contains_key(key)
    }

    /// A new member, not named yet; with `prompt`, the welcome is queued
    /// for it. False when the room is full (nothing changes).
    pub fn arrive(&mut self, key: K, prompt: bool) -> bool {
        if self.members.len() >= self.limits.max_members || self.members.contains_key(&key) {
            return false;
        }
        let member = Member {
            name: None,
            queue: VecDeque::new(),
            dropped: false,
            behind: false,
        };
        self.members.insert(key.clone(), member);
        if prompt {
            self.tell(&key, WELCOME);
        }
        true
    }

    pub fn name(&self, key: &K) -> Option<&str> {
        self.members.get(key)?.name.as_deref()
    }

    pub fn is_dropped(&self, key: &K) -> bool {
        self.members.get(key).is_some_and(|m| m.dropped)
    }

    /// One line from `key`, terminator removed.
    pub fn line(&mut self, key: &K, line: &[u8]) -> Said {
        let Some(member) = self.members.get(key) else {
            return Said::Stay;
        };
        if member.dropped {
            return Said::Stay;
        }
        let named = member.name.is_some();
        match parse_line(line) {
            Line::Quit => {
                self.tell(key, "* Bye!\n");
                return Said::Quit;
            }
            Line::Say(name) | Line::Nick(name) if !named => self.take_name(key, name),
            Line::Nick(name) => self.take_name(key, name),
            Line::Unknown(word) => {
                let word = sanitize(word);
                self.tell(
                    key,
                    &format!(
                        "Error: unknown command /{word} ({})\n",
                        HELP.trim_start_matches("* ").trim_end()
                    ),
                );
            }
            _ if !named => self.tell(key, "Error: choose a name first (or /nick NAME)\n"),
            Line::Say(text) => {
                let who = self.name(key).unwrap_or_default();
                let line = format!("<{who}> {}\n", sanitize(text));
                self.broadcast(Some(key), line.as_bytes());
            }
            Line::Me(text) => {
                let who = self.name(key).unwrap_or_default();
                let line = format!("* {who} {}\n", sanitize(text));
                self.broadcast(Some(key), line.as_bytes());
            }
            Line::Who => {
                let list = self.who();
                self.tell(key, &format!("* {} here: {list}\n", self.names.len()));
            }
        }
        Said::Stay
    }

    /// The names in the room, sorted, comma-separated.
    pub fn who(&self) -> String {
        let mut names: Vec<&str> = self
            .members
            .values()
            .filter(|m| !m.dropped)
            .filter_map(|m| m.name.as_deref())
            .collect();
        names.sort_unstable_by_key(|n| name_key(n));
        names.join(", ")
    }

    fn take_name(&mut self, key: &K, name: &[u8]) {
        let name = match check_name(name) {
            Ok(n) => n.to_string(),
            Err(e) => return self.tell(key, &e.message()),
        };
        let nk = name_key(&name);
        if let Some(holder) = self.names.get(&nk) {
            if holder != key {
                return self.tell(key, &NameError::Taken.message());
            }
        }
        let member = self.members.get_mut(key).expect("a member");
        let old = member.name.replace(name.clone());
        self.names.insert(nk, key.clone());
        match old {
            Some(old) => {
                if name_key(&old) != name_key(&name) {
                    self.names.remove(&name_key(&old));
                }
                let line = format!("* {old} is now {name}\n");
                self.tell(key, &line);
                self.broadcast(Some(key), line.as_bytes());
            }
            None => {
                let others = self.names.len() - 1;
                self.tell(
                    key,
                    &format!(
                        "* Hello {name}! {others} other(s) here. {}",
                        HELP.trim_start_matches("* ")
                    ),
                );
                self.broadcast(Some(key), format!("* {name} joined\n").as_bytes());
            }
        }
    }

    /// `key` is gone (closed, quit, dropped or idle): its leave notice
    /// goes to the others.
    pub fn leave(&mut self, key: &K, why: &str) {
        let Some(member) = self.members.remove(key) else {
            return;
        };
        self.queued -= member.queue.len();
        if let Some(name) = member.name {
            if !member.dropped {
                self.names.remove(&name_key(&name));
                self.broadcast(None, format!("* {name} left{why}\n").as_bytes());
            }
        }
    }

    /// Queues a line for one member only.
    fn tell(&mut self, key: &K, text: &str) {
        let line: Shared = Rc::from(text.as_bytes());
        let mut dropped = Vec::new();
        self.deliver(key, &line, &mut dropped);
        self.announce_drops(dropped);
    }

    /// Queues `line` for every named member but `except`.
    fn broadcast(&mut self, except: Option<&K>, line: &[u8]) {
        let line: Shared = Rc::from(line);
        let targets: Vec<K> = self
            .names
            .values()
            .filter(|k| Some(*k) != except)
            .cloned()
            .collect();
        let mut dropped = Vec::new();
        for k in &targets {
            self.deliver(k, &line, &mut dropped);
        }
        self.announce_drops(dropped);
    }

    fn deliver(&mut self, key: &K, line: &Shared, dropped: &mut Vec<String>) {
        let Some(m) = self.members.get_mut(key) else {
            return;
        };
        if m.dropped {
            return;
        }
        // A member not behind is only waiting for its turn of the loop, and
        // may hold more lines than the cap (up to a hard limit); one that
        // is behind is not reading.
        let cap = if m.behind {
            self.limits.queue_cap
        } else {
            self.limits.queue_cap.saturating_mul(HARD_CAP_FACTOR)
        };
        if m.queue.len() >= cap {
            // Not reading: out, rather than hold the room up or buffer for it.
            m.dropped = true;
            self.queued -= m.queue.len();
            m.queue.clear();
            if let Some(name) = &m.name {
                self.names.remove(&name_key(name));
                dropped.push(name.clone());
            }
            self.woken.push(key.clone());
            return;
        }
        if m.queue.is_empty() {
            self.woken.push(key.clone());
        }
        m.queue.push_back(line.clone());
        self.queued += 1;
    }

    fn announce_drops(&mut self, mut dropped: Vec<String>) {
        // Each notice may drop more members; the names shrink every time.
        while let Some(name) = dropped.pop() {
            log::info!("chat: {name} dropped (not reading)");
            let line: Shared = Rc::from(format!("* {name} was dropped (not reading)\n").as_bytes());
            let targets: Vec<K> = self.names.values().cloned().collect();
            for k in &targets {
                self.deliver(k, &line, &mut dropped);
            }
        }
    }

    /// Members to drive (their queue has lines, or they were dropped),
    /// since the last call.
    pub fn take_woken(&mut self) -> Vec<K> {
        std::mem::take(&mut self.woken)
    }

    /// Whether `key`'s transport left lines in its queue for want of room
    /// in its own output (so a full queue means it is not reading).
    pub fn set_behind(&mut self, key: &K, behind: bool) {
        if let Some(m) = self.members.get_mut(key) {
            m.behind = behind;
        }
    }

    /// The next waiting line for `key`.
    pub fn pop(&mut self, key: &K) -> Option<Shared> {
        let queue = &mut self.members.get_mut(key)?.queue;
        let line = queue.pop_front()?;
        if queue.is_empty() && queue.capacity() > 64 {
            // A burst's worth of slots, times every member, adds up.
            queue.shrink_to(16);
        }
        self.queued -= 1;
        Some(line)
    }

    /// Lines waiting in all members' queues together.
    pub fn queued(&self) -> usize {
        self.queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RoomLimits = RoomLimits {
        max_members: 4,
        queue_cap: 8,
    };

    fn drain(room: &mut Room<u32>, key: u32) -> String {
        let mut s = String::new();
        while let Some(l) = room.pop(&key) {
            s.push_str(std::str::from_utf8(&l).unwrap());
        }
        s
    }

    fn room_of(names: &[&str]) -> Room<u32> {
        let mut room = Room::new(LIMITS);
        for (i, n) in names.iter().enumerate() {
            assert!(room.arrive(i as u32, true));
            room.line(&(i as u32), n.as_bytes());
        }
        for i in 0..names.len() {
            drain(&mut room, i as u32);
        }
        room.take_woken();
        room
    }

    #[test]
    fn joining_talking_and_leaving() {
        let mut room = Room::new(LIMITS);
        assert!(room.arrive(1, true));
        assert_eq!(drain(&mut room, 1), WELCOME);
        assert_eq!(
            room.line(&1, b"hi all"),
            Said::Stay,
            "taken as the name? no: a space"
        );
        assert!(drain(&mut room, 1).starts_with("Error: a name is printable"));
        room.line(&1, b"alice");
        assert!(drain(&mut room, 1).starts_with("* Hello alice! 0 other(s) here."));
        room.arrive(2, true);
        room.line(&2, b"/nick bob");
        assert_eq!(drain(&mut room, 1), "* bob joined\n");
        assert!(drain(&mut room, 2).contains("* Hello bob! 1 other(s) here."));
        room.line(&2, b"hi \x1b[2Jthere");
        room.line(&1, b"/me waves");
        assert_eq!(drain(&mut room, 1), "<bob> hi [2Jthere\n");
        assert_eq!(drain(&mut room, 2), "* alice waves\n");
        room.line(&1, b"/who");
        assert_eq!(drain(&mut room, 1), "* 2 here: alice, bob\n");
        assert_eq!(room.line(&2, b"/quit"), Said::Quit);
        assert_eq!(drain(&mut room, 2), "* Bye!\n");
        room.leave(&2, "");
        assert_eq!(drain(&mut room, 1), "* bob left\n");
        assert_eq!(room.who(), "alice");
    }

    #[test]
    fn names_are_unique_whatever_the_case_and_can_change() {
        let mut room = room_of(&["alice", "bob"]);
        room.arrive(3, false);
        room.line(&3, b"ALICE");
        assert_eq!(drain(&mut room, 3), "Error: that name is taken\n");
        assert_eq!(room.name(&3), None);
        room.line(&1, b"/nick alice");
        assert_eq!(drain(&mut room, 1), "Error: that name is taken\n");
        room.line(&1, b"/nick Bobby");
        assert_eq!(drain(&mut room, 0), "* bob is now Bobby\n");
        assert_eq!(drain(&mut room, 1), "* bob is now Bobby\n");
        room.line(&3, b"bob");
        assert_eq!(room.name(&3), Some("bob"), "the old name is free again");
        room.line(&0, b"/nick Alice");
        assert_eq!(
            room.name(&0),
            Some("Alice"),
            "a member may change its own case"
        );
    }

    #[test]
    fn before_a_name_nothing_reaches_the_room() {
        let mut room = room_of(&["alice"]);
        room.arrive(9, false);
        for line in [&b"/me x"[..], b"/who"] {
            room.line(&9, line);
            assert_eq!(
                drain(&mut room, 9),
                "Error: choose a name first (or /nick NAME)\n"
            );
        }
        room.line(&9, b"/bogus");
        assert!(drain(&mut room, 9).starts_with("Error: unknown command /bogus"));
        assert_eq!(drain(&mut room, 0), "");
        room.leave(&9, "");
        assert_eq!(
            drain(&mut room, 0),
            "",
            "no notice for a member never named"
        );
    }

    #[test]
    fn the_room_has_a_size() {
        let mut room = room_of(&["a", "b", "c", "d"]);
        assert!(!room.arrive(7, true));
        room.leave(&0, "");
        assert!(room.arrive(7, true));
    }

    #[test]
    fn a_member_that_does_not_read_is_dropped_and_the_others_carry_on() {
        let mut room = room_of(&["alice", "bob", "carol"]);
        // carol (2) never drains; alice and bob keep reading.
        room.set_behind(&2, true);
        let mut bob = String::new();
        for i in 0..LIMITS.queue_cap + 1 {
            room.line(&0, format!("line {i}").as_bytes());
            bob.push_str(&drain(&mut room, 1));
        }
        assert!(bob.ends_with("<alice> line 8\n* carol was dropped (not reading)\n"));
        assert!(room.is_dropped(&2));
        assert!(room.take_woken().contains(&2));
        assert_eq!(room.pop(&2), None, "its queue is given back");
        assert_eq!(drain(&mut room, 0), "* carol was dropped (not reading)\n");
        assert_eq!(room.who(), "alice, bob");
        room.leave(&2, "");
        assert_eq!(drain(&mut room, 0), "", "no second notice");
        room.line(&0, b"still here");
        assert_eq!(drain(&mut room, 1), "<alice> still here\n");
    }

    #[test]
    fn a_member_waiting_for_its_turn_is_not_dropped_at_the_cap() {
        let mut room = room_of(&["alice", "bob"]);
        for i in 0..LIMITS.queue_cap * 2 {
            room.line(&0, format!("line {i}").as_bytes());
        }
        assert!(!room.is_dropped(&1));
        assert_eq!(drain(&mut room, 1).lines().count(), LIMITS.queue_cap * 2);
        for i in 0..LIMITS.queue_cap * HARD_CAP_FACTOR + 1 {
            room.line(&0, format!("line {i}").as_bytes());
        }
        assert!(room.is_dropped(&1), "but there is a hard limit");
    }

    #[test]
    fn wakes_come_once_per_empty_queue() {
        let mut room = room_of(&["alice", "bob"]);
        room.line(&0, b"one");
        room.line(&0, b"two");
        assert_eq!(room.take_woken(), vec![1]);
        drain(&mut room, 1);
        room.line(&0, b"three");
        assert_eq!(room.take_woken(), vec![1]);
    }

    #[test]
    fn the_room_counts_what_waits() {
        let mut room = room_of(&["alice", "bob", "carol"]);
        room.line(&0, b"one");
        room.line(&0, b"two");
        assert_eq!(room.queued(), 4);
        room.pop(&1);
        assert_eq!(room.queued(), 3);
        room.leave(&2, "");
        // Carol's two lines went with her; alice and bob got a notice.
        assert_eq!(room.queued(), 3);
        drain(&mut room, 1);
        drain(&mut room, 0);
        assert_eq!(room.queued(), 0);
    }
}
