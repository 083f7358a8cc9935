//! Change notifications between the nodes of a cluster, over PostgreSQL `LISTEN/NOTIFY`.
//!
//! A node announces a change with [`PgRecordStore::notify`] (`pg_notify` on one channel, after
//! the change is committed); every node listening on the same database receives it within
//! milliseconds through [`PgRecordStore::listen`]. `NOTIFY` is not durable: a node whose
//! listening connection drops misses what was sent meanwhile, so every (re)connection is
//! reported as [`FeedMessage::Resync`] and the receiver must treat it as "anything may have
//! changed" (the caller also re-checks periodically). Payloads are opaque strings, at most
//! [`MAX_PAYLOAD`] bytes; they carry names, never secrets.

use std::time::Duration;

use keyhold_store::StoreError;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::engine::{PgRecordStore, pg_error, pool_error};

/// The channel every keyhold node listens on.
pub const CHANNEL: &str = "keyhold_changes";
/// PostgreSQL refuses payloads of 8000 bytes or more.
pub const MAX_PAYLOAD: usize = 7_900;
/// Pause between reconnection attempts of the listener.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// What the listener delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedMessage {
    /// A payload some node (possibly this one) sent.
    Change(String),
    /// The listener (re)connected: changes sent while it was away are lost.
    Resync,
}

impl PgRecordStore {
    /// Tells every listening node about a change.
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(StoreError::Engine(format!(
                "change notification of {} bytes exceeds {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let client = self.pool.get().await.map_err(pool_error)?;
        client
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    /// Starts listening on a connection of its own (reconnecting for as long as the returned
    /// receiver's sender lives, that is, for the life of the process). The first message is a
    /// [`FeedMessage::Resync`] once the listener is connected.
    pub fn listen(&self) -> broadcast::Receiver<FeedMessage> {
        let (sender, receiver) = broadcast::channel(4096);
        let (config, tls) = (self.config.clone(), self.tls.clone());
        tokio::spawn(async move {
            loop {
                match listen_once(&config, tls.clone(), &sender).await {
                    Ok(()) => tracing::warn!("change feed connection closed; reconnecting"),
                    Err(err) => {
                        tracing::warn!(error = %err, "change feed unavailable; reconnecting");
                    }
                }
                if sender.receiver_count() == 0 {
                    return;
                }
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        });
        receiver
    }
}

/// One listening connection, until it fails.
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    sender: &broadcast::Sender<FeedMessage>,
) -> Result<(), StoreError> {
    let (client, mut connection) = config.connect(tls).await.map_err(pg_error)?;
    let (notifications, mut incoming) = tokio::sync::mpsc::unbounded_channel();
    // The connection object does the I/O; notifications arrive through it.
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if notifications.send(n.payload().to_owned()).is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(pg_error(e)),
                None => return Ok(()),
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(pg_error)?;
    let _ = sender.send(FeedMessage::Resync);
    while let Some(payload) = incoming.recv().await {
        if sender.send(FeedMessage::Change(payload)).is_err() {
            break;
        }
    }
    drop(client);
    driver
        .await
        .map_err(|e| StoreError::Engine(format!("change feed task: {e}")))?
}
