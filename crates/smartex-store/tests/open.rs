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

/// A new database file is private to its owner: it holds order secrets and
/// every order's history (issue 18: it was created 0644).
#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let store = smartex_store::SqliteStore::open(&path, smartex_store::StoreOptions::default())
        .await
        .unwrap();
    drop(store);
    for file in [path.clone(), dir.path().join("orders.db-wal")] {
        if let Ok(meta) = std::fs::metadata(&file) {
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{}",
                file.display()
            );
        }
    }
    assert!(std::fs::metadata(&path).is_ok());
}
