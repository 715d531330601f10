//! Opening one new SQLite database from several instances at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use smartex_store::{SqliteStore, StoreOptions};

/// Instances started together against a new file all open it (the
/// migrations race; the loser of each must not fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_opening_one_new_database_at_once_all_succeed() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(async move { SqliteStore::open(path, StoreOptions::default()).await })
            })
            .collect();
        for open in opens {
            let opened = open.await.unwrap();
            assert!(opened.is_ok(), "round {round}: {:?}", opened.err());
        }
    }
}
