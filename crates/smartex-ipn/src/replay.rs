//! The replay guard: a notification seen once is not acted upon twice.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use smartex_core::checksum::Checksum;
use smartex_core::ipn::VerifiedIpn;

/// What identifies one notification: the order, the status, the signed
/// timestamp and the checksum (which covers the amounts too).
///
/// Its `Debug` shows the order, status and timestamp but not the checksum.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    order_id: String,
    status: String,
    timestamp: String,
    checksum: [u8; 32],
}

impl ReplayKey {
    /// What identifies `ipn`: its order, status, timestamp (as received) and
    /// the checksum that matched. For a guard over a shared, async store
    /// checked by the caller after [`Receiver::verify`](crate::Receiver::verify).
    pub fn of(ipn: &VerifiedIpn<'_>) -> Self {
        Self::new(
            ipn.order_id_raw(),
            ipn.status_raw(),
            ipn.timestamp_raw(),
            &ipn.checksum(),
        )
    }

    fn new(order_id: &str, status: &str, timestamp: &str, checksum: &Checksum) -> Self {
        Self {
            order_id: order_id.to_owned(),
            status: status.to_owned(),
            timestamp: timestamp.to_owned(),
            checksum: *checksum.as_bytes(),
        }
    }

    /// `orderId`, as received.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// `newStatus`, as received.
    pub fn status(&self) -> &str {
        &self.status
    }

    /// `timestamp`, as received.
    pub fn timestamp(&self) -> &str {
        &self.timestamp
    }

    /// A fixed-length (64 hex digits) key for a shared store (Redis `SET NX`,
    /// a unique SQL column): the SHA-256 of the four parts. It reveals neither
    /// the checksum nor the parts.
    pub fn storage_key(&self) -> String {
        let mut bytes = Vec::with_capacity(
            self.order_id.len() + self.status.len() + self.timestamp.len() + 3 + 32,
        );
        for part in [&self.order_id, &self.status, &self.timestamp] {
            // Lengths first: no two different keys give the same bytes.
            bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        bytes.extend_from_slice(&self.checksum);
        smartex_core::checksum::sha256_hex(&bytes)
            .as_str()
            .to_owned()
    }
}

impl core::fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReplayKey")
            .field("order_id", &self.order_id)
            .field("status", &self.status)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Remembers which notifications have been received.
///
/// A key is recorded when verification succeeds, before the merchant's code
/// runs. If that code fails and the notification is to be processed again,
/// call [`Receiver::forget`](crate::Receiver::forget) first.
///
/// The in-memory [`MemoryReplayGuard`] serves one process. A merchant running
/// several servers implements this trait over their shared store (an atomic
/// "insert if absent" on [`ReplayKey::storage_key`]). If the store is async,
/// turn the guard off ([`Receiver::without_replay_guard`](crate::Receiver::without_replay_guard))
/// and call the store after verification with [`ReplayKey::of`] the
/// verified notification.
///
/// ```
/// use smartex_ipn::{ReplayGuard, ReplayKey};
/// struct Shared; // e.g. a Redis client
/// impl ReplayGuard for Shared {
///     fn first_sight(&self, key: &ReplayKey) -> bool {
///         let _k = key.storage_key(); // SET k 1 NX EX 86400 → true if it was set
///         true
///     }
/// }
/// ```
pub trait ReplayGuard: Send + Sync {
    /// Records `key`. Returns `true` if it had not been seen before (the
    /// notification is new), `false` if it had (a replay). Must be atomic:
    /// two concurrent calls with the same key return `true` at most once.
    fn first_sight(&self, key: &ReplayKey) -> bool;

    /// Forgets `key`, so the same notification is accepted once more: for a
    /// merchant whose processing of a verified notification failed and who
    /// wants a retry (by hand, from a log) to go through. The default does
    /// nothing.
    fn forget(&self, key: &ReplayKey) {
        let _ = key;
    }
}

impl<G: ReplayGuard + ?Sized> ReplayGuard for Arc<G> {
    fn first_sight(&self, key: &ReplayKey) -> bool {
        (**self).first_sight(key)
    }

    fn forget(&self, key: &ReplayKey) {
        (**self).forget(key);
    }
}

/// A bounded in-memory [`ReplayGuard`]: remembers the last `capacity` keys
/// and forgets the oldest first.
///
/// Forgetting is safe: an old notification replayed after it was forgotten
/// must still fall inside the timestamp window, and the status tracker then
/// sees a status the order already has (duplicate) or has left (stale).
///
/// ```
/// use smartex_ipn::MemoryReplayGuard;
/// let guard = MemoryReplayGuard::new(2);
/// assert_eq!(guard.capacity(), 2);
/// assert_eq!(guard.len(), 0);
/// ```
#[derive(Debug)]
pub struct MemoryReplayGuard {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashSet<Arc<ReplayKey>>,
    order: VecDeque<Arc<ReplayKey>>,
}

impl MemoryReplayGuard {
    /// The default capacity: 10,000 notifications (about 2 MB).
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A guard remembering at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// The largest number of keys kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of keys kept now.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the set and the queue
        // inconsistent in a way that matters (at worst one key is in one and
        // not the other), so a poisoned lock is used as is.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryReplayGuard {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn first_sight(&self, key: &ReplayKey) -> bool {
        let mut inner = self.lock();
        if inner.seen.contains(key) {
            return false;
        }
        while inner.order.len() >= self.capacity {
            match inner.order.pop_front() {
                Some(old) => {
                    inner.seen.remove(&old);
                }
                None => break,
            }
        }
        let key = Arc::new(key.clone());
        inner.seen.insert(Arc::clone(&key));
        inner.order.push_back(key);
        true
    }

    fn forget(&self, key: &ReplayKey) {
        let mut inner = self.lock();
        if inner.seen.remove(key) {
            inner.order.retain(|k| **k != *key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ts: &str) -> ReplayKey {
        ReplayKey::new(
            "5d8e6002b80b7b4cd75a6424",
            "done",
            ts,
            &Checksum::from_bytes([7; 32]),
        )
    }

    #[test]
    fn remembers_and_forgets_oldest_first() {
        let g = MemoryReplayGuard::new(2);
        assert!(g.first_sight(&key("1")));
        assert!(!g.first_sight(&key("1")));
        assert!(g.first_sight(&key("2")));
        assert!(g.first_sight(&key("3"))); // evicts "1"
        assert_eq!(g.len(), 2);
        assert!(!g.first_sight(&key("2")));
        assert!(!g.first_sight(&key("3")));
        assert!(g.first_sight(&key("1")));
        g.forget(&key("1"));
        assert_eq!(g.len(), 1);
        assert!(g.first_sight(&key("1")));
    }

    #[test]
    fn storage_key_is_unambiguous_and_hides_the_checksum() {
        let a = ReplayKey::new("ab", "c", "1", &Checksum::from_bytes([1; 32]));
        let b = ReplayKey::new("a", "bc", "1", &Checksum::from_bytes([1; 32]));
        assert_ne!(a.storage_key(), b.storage_key());
        assert_eq!(a.storage_key().len(), 64);
        assert!(!a.storage_key().contains(&"01".repeat(32)));
        assert!(!format!("{a:?}").contains("checksum"));
    }
}
