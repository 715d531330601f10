//! Where an API key's `time` nonces come from, and the key's send lane.
//!
//! The platform refuses a `time` that is not greater than the last one it saw
//! for the key, and it sees them in the order the requests **arrive**, not the
//! order they were issued. Two requests of one key in flight at once may
//! overtake each other (two connections, a scheduler, a proxy), and the later
//! nonce arriving first gets the earlier one refused. So a key's calls go
//! through a **send lane**: a [`NonceSource`] hands out the key's turn
//! ([`NonceLease`]); the client issues the nonce, signs, sends and reads the
//! answer while holding it, and only then lets the next call of that key take
//! its turn. Issue order is then arrival order, by construction.
//!
//! - [`InProcessNonces`] (the default of [`ApiKeyAuth`](crate::ApiKeyAuth)):
//!   one fair (first come, first served) turn per key within the process.
//! - A store-backed source (`smartex::StoreNonces`, in the facade crate, over
//!   `smartex_store::NonceLedger`) for several processes or servers sharing
//!   one key: a PostgreSQL advisory lock per key, or SQLite's write lock, held
//!   for the turn, and the key's last nonce in a table, so it also survives
//!   restarts.
//!
//! The simpler alternative to sharing a key: give each instance an API key of
//! its own (an account may have several); each key then needs only the
//! in-process lane.
//!
//! The trait lives here, next to the client that takes the turns, so that the
//! client stays usable alone; a store implements it without the client
//! knowing about databases.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use smartex_core::ApiKey;
use smartex_core::time::UnixMillis;

use crate::auth::{MAX_SAFE_INTEGER, NonceUnit};

/// A boxed future of a [`NonceSource`] or [`NonceLease`] (object safe, `Send`).
pub type NonceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, NonceError>> + Send + 'a>>;

/// Hands out an API key's turns to send (see the [module docs](self)).
///
/// Implementations must make sure that while a lease of a key is held, no
/// other lease of that key (in any process sharing the source) is, and that
/// every nonce a lease issues is greater than every nonce issued before for
/// the key.
pub trait NonceSource: Send + Sync {
    /// Waits for `key`'s turn and returns it. `unit` is the key's configured
    /// unit: a source that remembers the key's last nonce refuses a unit
    /// other than the one it was stored with ([`NonceError::UnitMismatch`]).
    ///
    /// The wait is cancel safe: dropping the future gives up the place in
    /// the queue (that is how the caller's deadline applies).
    fn acquire<'a>(
        &'a self,
        key: &'a ApiKey,
        unit: NonceUnit,
    ) -> NonceFuture<'a, Box<dyn NonceLease>>;

    /// A name for `Debug` output.
    fn name(&self) -> &'static str;
}

/// One turn of one key: issue a nonce, send, then [`release`](Self::release).
///
/// Dropping a lease without releasing it also ends the turn (a caller's
/// deadline may drop it mid-send); a store-backed lease may then give up its
/// database connection rather than reuse it.
pub trait NonceLease: Send {
    /// Issues the key's next nonce: the greater of `candidate` and the key's
    /// last nonce + 1, recorded as the key's last nonce before it is returned.
    /// `now` is the instant of issue on the client's clock (the one
    /// `candidate` was read from), for a source that records when.
    fn issue(&mut self, candidate: u64, now: UnixMillis) -> NonceFuture<'_, u64>;

    /// Ends the turn, once the request has been written (the client releases
    /// it when the attempt's answer is in, or the attempt failed).
    fn release(self: Box<Self>) -> NonceFuture<'static, ()>;
}

/// Why no nonce could be issued. Nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NonceError {
    /// The key's last nonce was stored in another unit than the one
    /// configured. Once the platform has seen millisecond nonces for a key, a
    /// seconds nonce is smaller forever (and a key that has seen seconds would
    /// jump ahead by a factor of 1000): configure the key with the stored unit,
    /// or use a new key.
    #[error(
        "the key's last nonce is stored in {stored} but the key is configured for {configured}: \
         configure the unit it was used with, or use another API key"
    )]
    UnitMismatch {
        /// The unit the stored last nonce is in.
        stored: NonceUnit,
        /// The unit the key is configured with.
        configured: NonceUnit,
    },
    /// The next nonce would be above 2^53 − 1, which the platform's server
    /// cannot hold exactly.
    #[error(
        "the time nonce would be above 2^53 - 1, which the platform's server cannot hold exactly"
    )]
    Exhausted,
    /// The source's storage failed (the message names no credential).
    #[error("the nonce store failed: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
}

/// The nonce a lease issues after `last`: `max(candidate, last + 1)`, or
/// [`NonceError::Exhausted`] past `2^53 − 1`.
///
/// # Errors
/// [`NonceError::Exhausted`].
pub fn next_after(candidate: u64, last: Option<u64>) -> Result<u64, NonceError> {
    let next = smartex_core::auth::next_nonce(candidate, last);
    if next > MAX_SAFE_INTEGER {
        return Err(NonceError::Exhausted);
    }
    Ok(next)
}

/// The in-process send lane: one turn per key at a time, handed out first
/// come, first served (a fair tokio mutex per key), and the key's last nonce
/// kept in memory.
///
/// Shared by the clones of an [`ApiKeyAuth`](crate::ApiKeyAuth); give every
/// `ApiKeyAuth` of one key in the process the same source
/// ([`ApiKeyAuth::nonce_source`](crate::ApiKeyAuth::nonce_source)) or clone
/// one `ApiKeyAuth`.
#[derive(Default)]
pub struct InProcessNonces {
    keys: Mutex<HashMap<String, Arc<tokio::sync::Mutex<u64>>>>,
}

impl std::fmt::Debug for InProcessNonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessNonces").finish_non_exhaustive()
    }
}

impl InProcessNonces {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    fn lane(&self, key: &ApiKey) -> Arc<tokio::sync::Mutex<u64>> {
        // Plain data behind the lock: a panic elsewhere leaves it usable.
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(keys.entry(key.as_str().to_owned()).or_default())
    }
}

struct InProcessLease(tokio::sync::OwnedMutexGuard<u64>);

impl NonceLease for InProcessLease {
    fn issue(&mut self, candidate: u64, _now: UnixMillis) -> NonceFuture<'_, u64> {
        let last = *self.0;
        let result = next_after(candidate, (last != 0).then_some(last)).inspect(|next| {
            *self.0 = *next;
        });
        Box::pin(std::future::ready(result))
    }

    fn release(self: Box<Self>) -> NonceFuture<'static, ()> {
        drop(self);
        Box::pin(std::future::ready(Ok(())))
    }
}

impl NonceSource for InProcessNonces {
    fn acquire<'a>(
        &'a self,
        key: &'a ApiKey,
        _unit: NonceUnit,
    ) -> NonceFuture<'a, Box<dyn NonceLease>> {
        let lane = self.lane(key);
        Box::pin(async move {
            let guard = lane.lock_owned().await;
            Ok(Box::new(InProcessLease(guard)) as Box<dyn NonceLease>)
        })
    }

    fn name(&self) -> &'static str {
        "in-process"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use smartex_core::ApiKey;
    use smartex_core::time::UnixMillis;

    use super::{InProcessNonces, NonceError, NonceSource, next_after};
    use crate::auth::{MAX_SAFE_INTEGER, NonceUnit};

    #[test]
    fn next_is_above_last_and_never_past_the_safe_integers() {
        assert_eq!(next_after(100, None).unwrap(), 100);
        assert_eq!(next_after(100, Some(100)).unwrap(), 101);
        assert_eq!(next_after(100, Some(500)).unwrap(), 501);
        assert!(matches!(
            next_after(0, Some(MAX_SAFE_INTEGER)),
            Err(NonceError::Exhausted)
        ));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_turn_per_key_at_a_time_other_keys_unaffected() {
        let source = InProcessNonces::new();
        let a = ApiKey::new("KEYAAAAAAAAAAAAAAAAAAAA").unwrap();
        let b = ApiKey::new("KEYBBBBBBBBBBBBBBBBBBBB").unwrap();
        let mut first = source.acquire(&a, NonceUnit::Millis).await.unwrap();
        assert_eq!(
            first.issue(10, UnixMillis::from_millis(10)).await.unwrap(),
            10
        );
        // Another key's turn is free.
        let other = source.acquire(&b, NonceUnit::Millis).await.unwrap();
        drop(other);
        // The same key waits for the first turn to end.
        let waiting = tokio::time::timeout(
            Duration::from_millis(20),
            source.acquire(&a, NonceUnit::Millis),
        )
        .await;
        assert!(
            waiting.is_err(),
            "the second turn began while the first was held"
        );
        first.release().await.unwrap();
        let mut second = source.acquire(&a, NonceUnit::Millis).await.unwrap();
        // A clock behind the last nonce still moves forward.
        assert_eq!(
            second.issue(5, UnixMillis::from_millis(5)).await.unwrap(),
            11
        );
    }
}
