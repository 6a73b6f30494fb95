//! A bounded least-recently-used cache of session records.

use std::collections::{BTreeMap, HashMap};

use wac1::SessionRecord;

/// A bounded least-recently-used cache of session records.
pub(super) struct SessionCache {
    pub(super) capacity: usize,
    pub(super) tick: u64,
    pub(super) entries: HashMap<String, (u64, SessionRecord)>,
    pub(super) order: BTreeMap<u64, String>,
}

impl SessionCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self { capacity, tick: 0, entries: HashMap::new(), order: BTreeMap::new() }
    }

    pub(super) fn take(&mut self, peer: &str) -> Option<SessionRecord> {
        let (tick, record) = self.entries.remove(peer)?;
        self.order.remove(&tick);
        Some(record)
    }

    pub(super) fn put(&mut self, peer: &str, record: SessionRecord) {
        if self.capacity == 0 {
            return;
        }
        self.take(peer);
        self.tick += 1;
        self.entries.insert(peer.to_owned(), (self.tick, record));
        self.order.insert(self.tick, peer.to_owned());
        while self.entries.len() > self.capacity {
            match self.order.pop_first() {
                Some((_, oldest)) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

impl core::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SessionCache({} of {} records)", self.entries.len(), self.capacity)
    }
}
