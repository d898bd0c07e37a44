//! The pool's turn-taking: a request waits for its turn as a future (`PERMITS_PER_CONNECTION`
//! permits per pooled connection) before any blocking thread is given its work, so that a
//! request abandoned while it waits never does its database work later, and a wait ends at the
//! pool's acquire timeout.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shebao_infra::db::{Db, PoolOptions, StoreError, PERMITS_PER_CONNECTION};

fn db(dir: &tempfile::TempDir, max_size: u32, acquire_timeout: Duration) -> Db {
    let url = format!("sqlite://{}", dir.path().join("pool.db").display());
    Db::connect(
        &url,
        &PoolOptions {
            max_size,
            acquire_timeout,
        },
    )
    .unwrap()
}

/// Holds one connection for `hold` on a blocking thread.
async fn hold(db: &Db, hold: Duration) {
    db.run(move |_| {
        std::thread::sleep(hold);
        Ok(())
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_abandoned_while_it_waits_for_a_connection_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir, 1, Duration::from_secs(5));
    // Every turn the pool's one connection gives is taken: one holding it, the others queued
    // for it on blocking threads.
    let busy: Vec<_> = (0..PERMITS_PER_CONNECTION)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { hold(&db, Duration::from_millis(200)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // This request waits for a turn, and is given up after 100 ms (a client that went away, a
    // handler's own timeout).
    let ran = Arc::new(AtomicBool::new(false));
    let waited = tokio::time::timeout(Duration::from_millis(100), {
        let ran = ran.clone();
        db.run(move |_| {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        })
    })
    .await;
    assert!(waited.is_err(), "it could not have had the connection");
    for b in busy {
        b.await.unwrap();
    }
    // Had it been handed to a blocking thread, that thread would have run it once the
    // connection came back.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!ran.load(Ordering::SeqCst));
    // The connection is free for the next request.
    db.run(|_| Ok(())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_connection_ends_at_the_acquire_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir, 1, Duration::from_millis(200));
    let busy = tokio::spawn({
        let db = db.clone();
        async move { hold(&db, Duration::from_millis(1_200)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    // Whether it waits for a turn or, having one, for the connection itself: as long as the
    // pool's acquire timeout.
    let err = db.run(|_| Ok(())).await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("timed out")),
        "{err:?}"
    );
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_millis(1_000),
        "{waited:?}"
    );
    busy.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_share_few_connections_and_all_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(&dir, 3, Duration::from_secs(10));
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let (db, running, most) = (db.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                db.run(move |_| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let most = most.load(Ordering::SeqCst);
    assert!((1..=3).contains(&most), "{most} at once on 3 connections");
}
