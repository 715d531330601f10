//! The nonce ledger: a key's turn is exclusive across instances, its last
//! nonce survives them, and its unit never changes.

use std::time::Duration;

use smartex_core::ApiKey;
use smartex_core::auth::NonceUnit;
use smartex_store::{Error, NonceLedger, StoreOptions};

use crate::common::{Fixture, both_backends, ms};

both_backends!(a_keys_turn_is_exclusive_and_its_last_nonce_durable);

fn key(name: &str) -> ApiKey {
    ApiKey::new(name).unwrap()
}

/// Whether `key`'s turn can be taken on `ledger` within a short wait.
async fn turn_is_free(ledger: &NonceLedger, key: &ApiKey) -> bool {
    match tokio::time::timeout(
        Duration::from_millis(200),
        ledger.take_turn(key, NonceUnit::Millis),
    )
    .await
    {
        Ok(turn) => {
            turn.unwrap().end().await.unwrap();
            true
        }
        Err(_elapsed) => false,
    }
}

async fn a_keys_turn_is_exclusive_and_its_last_nonce_durable(f: &Fixture) {
    let (a, b) = (
        key("KEYAAAAAAAAAAAAAAAAAAAA"),
        key("KEYBBBBBBBBBBBBBBBBBBBB"),
    );
    let first = NonceLedger::new(&f.store).await.unwrap();
    let other_store = f.another_instance(StoreOptions::default()).await;
    let second = NonceLedger::new(&other_store).await.unwrap();

    let mut turn = first.take_turn(&a, NonceUnit::Millis).await.unwrap();
    assert_eq!(turn.last(), None);
    turn.commit_nonce(1_000, ms(1_000)).await.unwrap();
    // Nonces never go back, not even by mistake.
    assert!(matches!(
        turn.commit_nonce(1_000, ms(1_000)).await,
        Err(Error::InvalidInput { field: "nonce", .. })
    ));
    // Another instance waits for the key. Another key is free on
    // PostgreSQL (a lock per key); SQLite's write lock is the whole file's.
    assert!(!turn_is_free(&second, &a).await, "two turns of one key");
    assert_eq!(turn_is_free(&second, &b).await, f.sqlite_path().is_none());
    turn.end().await.unwrap();

    // The next turn, from the other instance, starts above the last nonce.
    let mut turn = second.take_turn(&a, NonceUnit::Millis).await.unwrap();
    assert_eq!(turn.last(), Some(1_000));
    turn.commit_nonce(1_001, ms(900)).await.unwrap();
    // Given up mid-turn (the holder's deadline): the key is free again.
    drop(turn);
    assert!(turn_is_free(&first, &a).await, "a dropped turn ended");
    // PostgreSQL committed 1_001 at once; SQLite rolled the turn back.
    let last = first.last_nonce(&a).await.unwrap();
    assert!(
        matches!(last, Some((NonceUnit::Millis, 1_000 | 1_001))),
        "{last:?}"
    );

    // A key stored in milliseconds is refused in seconds, and stays free.
    assert!(matches!(
        first.take_turn(&a, NonceUnit::Seconds).await,
        Err(Error::NonceUnitMismatch {
            stored: NonceUnit::Millis,
            configured: NonceUnit::Seconds
        })
    ));
    assert!(turn_is_free(&second, &a).await);
    other_store.close().await;
}
