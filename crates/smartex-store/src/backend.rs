//! The SQL both backends share, written once as a macro over the backend's
//! concrete sqlx types (SQLite accepts PostgreSQL's `$1` placeholders).
//!
//! Each backend provides `begin_write()` (SQLite: `BEGIN IMMEDIATE`, so the
//! read inside the transaction already holds the write lock; PostgreSQL:
//! `BEGIN`, read committed) and `SKIP_LOCKED` (PostgreSQL: `FOR UPDATE SKIP
//! LOCKED`; SQLite: nothing, its writers are serialized).

use smartex_core::amounts::Amounts;
use smartex_core::derived::Reference;
use smartex_core::status::{KnownStatus, StatusEvent};
use smartex_core::time::UnixMillis;

use crate::model::{DecisionKind, OrderRecord};

/// The columns of `orders`, in the order `decode_order` reads them.
pub(crate) const ORDER_COLUMNS: &str = "reference, order_id, uid, order_secret, ipn_secret_kind, \
     ipn_key_id, ipn_secret, status, at_ms, window_ms, source, version, created_at_ms, \
     updated_at_ms, next_poll_at_ms, poll_attempts, signed_status, signed_at_ms, \
     signed_window_ms, asked_amount, expected_in_amount, expected_out_amount, expected_from, \
     expected_to";

/// The columns of `events`, in the order `decode_event` reads them.
pub(crate) const EVENT_COLUMNS: &str = "id, reference, status, at_ms, window_ms, source, \
     received_at_ms, dedupe_key, decision, reason, version, in_amount, out_amount, xml_from, \
     xml_to, resolves_event_id, decided_by, decided_at_ms";

/// The columns of `outbox`, in the order `decode_outbox` reads them.
pub(crate) const OUTBOX_COLUMNS: &str = "id, event_id, reference, order_id, previous_status, \
     status, source, window_ms, created_at_ms, attempts, lease_until_ms, is_current, in_amount, \
     out_amount, xml_from, xml_to, expected_in_amount, expected_out_amount, expected_from, \
     expected_to, decided_by";

/// An event-log row to append.
#[derive(Clone, Copy)]
pub(crate) struct NewEvent<'a> {
    pub(crate) reference: &'a Reference,
    pub(crate) event: &'a StatusEvent,
    pub(crate) received_at: UnixMillis,
    pub(crate) dedupe_key: Option<&'a str>,
    pub(crate) decision: DecisionKind,
    pub(crate) reason: Option<&'a str>,
    pub(crate) version: i64,
    pub(crate) amounts: &'a Amounts,
    pub(crate) resolution: Option<NewResolution<'a>>,
}

/// A person's decision on a held change, on the row that records it.
#[derive(Clone, Copy)]
pub(crate) struct NewResolution<'a> {
    pub(crate) resolves: i64,
    pub(crate) by: &'a str,
    pub(crate) at: UnixMillis,
}

/// `order` as a committed write left it: the new known state (if any) with
/// its version bumped, and — for a repoll — its next poll moved forward to
/// `at`, as the SQL of `write_state` did.
pub(crate) fn written(
    order: &mut OrderRecord,
    known: Option<KnownStatus>,
    at: UnixMillis,
    repoll: bool,
) {
    if let Some(known) = known {
        order.known = Some(known);
        order.version += 1;
        order.updated_at = at;
        if order.is_final() {
            order.next_poll_at = None;
        }
    }
    if repoll && !order.is_final() && order.next_poll_at.is_none_or(|next| next > at) {
        order.next_poll_at = Some(at);
    }
}

/// Implements [`crate::OrderStore`] for `$store` whose pool is a `$pool` of
/// rows `$row`.
macro_rules! store_impl {
    ($store:ty, $row:ty) => {
        impl $store {
            /// Decodes one `orders` row selected with `ORDER_COLUMNS`.
            fn decode_order(&self, row: &$row) -> $crate::Result<$crate::OrderRecord> {
                use sqlx::Row as _;
                use $crate::convert;
                let reference = convert::reference(row.try_get("reference")?)?;
                let order_secret: Option<String> = row.try_get("order_secret")?;
                let order_secret = order_secret
                    .map(|stored| {
                        let plain = self.options.sealing.open(
                            "order_secret",
                            "order_secret",
                            reference.as_str(),
                            &stored,
                        )?;
                        smartex_core::OrderSecret::new(plain).map_err(|_| $crate::Error::Corrupt {
                            field: "order_secret",
                            reason: "is not a valid order secret",
                        })
                    })
                    .transpose()?;
                let kind: String = row.try_get("ipn_secret_kind")?;
                let ipn_secret = match kind.as_str() {
                    "derived" => $crate::IpnSecretSource::Derived {
                        key_id: row
                            .try_get::<Option<String>, _>("ipn_key_id")?
                            .ok_or($crate::Error::Corrupt {
                                field: "ipn_key_id",
                                reason: "is missing for a derived secret",
                            })?,
                    },
                    "stored" => {
                        let stored: Option<String> = row.try_get("ipn_secret")?;
                        let stored = stored.ok_or($crate::Error::Corrupt {
                            field: "ipn_secret",
                            reason: "is missing for a stored secret",
                        })?;
                        let plain = self.options.sealing.open(
                            "ipn_secret",
                            "ipn_secret",
                            reference.as_str(),
                            &stored,
                        )?;
                        $crate::IpnSecretSource::Stored(
                            smartex_core::IpnSecret::new(plain).map_err(|_| {
                                $crate::Error::Corrupt {
                                    field: "ipn_secret",
                                    reason: "is not a valid IPN secret",
                                }
                            })?,
                        )
                    }
                    "none" => $crate::IpnSecretSource::None,
                    _ => {
                        return Err($crate::Error::Corrupt {
                            field: "ipn_secret_kind",
                            reason: "is not derived, stored or none",
                        });
                    }
                };
                Ok($crate::OrderRecord {
                    order_id: convert::order_id(row.try_get("order_id")?)?,
                    uid: convert::uid(row.try_get("uid")?)?,
                    order_secret,
                    ipn_secret,
                    known: convert::known(
                        row.try_get("status")?,
                        row.try_get("at_ms")?,
                        row.try_get("window_ms")?,
                        row.try_get("source")?,
                        convert::signed_mark(
                            row.try_get("signed_status")?,
                            row.try_get("signed_at_ms")?,
                            row.try_get("signed_window_ms")?,
                        )?,
                    )?,
                    asked_amount: row.try_get("asked_amount")?,
                    expected: convert::amounts(
                        row.try_get("expected_in_amount")?,
                        row.try_get("expected_out_amount")?,
                        row.try_get("expected_from")?,
                        row.try_get("expected_to")?,
                    ),
                    version: convert::to_u64("version", row.try_get("version")?)?,
                    created_at: convert::instant("created_at_ms", row.try_get("created_at_ms")?)?,
                    updated_at: convert::instant("updated_at_ms", row.try_get("updated_at_ms")?)?,
                    next_poll_at: convert::instant_opt(
                        "next_poll_at_ms",
                        row.try_get("next_poll_at_ms")?,
                    )?,
                    poll_attempts: convert::to_u32("poll_attempts", row.try_get("poll_attempts")?)?,
                    reference,
                })
            }

            /// Decodes one `events` row selected with `EVENT_COLUMNS`.
            fn decode_event(row: &$row) -> $crate::Result<$crate::EventRow> {
                use sqlx::Row as _;
                use $crate::convert;
                let status: String = row.try_get("status")?;
                let source: String = row.try_get("source")?;
                let decision: String = row.try_get("decision")?;
                Ok($crate::EventRow {
                    id: row.try_get("id")?,
                    reference: convert::reference(row.try_get("reference")?)?,
                    event: convert::event(
                        &status,
                        row.try_get("at_ms")?,
                        row.try_get("window_ms")?,
                        &source,
                    )?,
                    key: convert::key(row.try_get("dedupe_key")?)?,
                    received_at: convert::instant("received_at_ms", row.try_get("received_at_ms")?)?,
                    decision: convert::decision(&decision)?,
                    reason: row.try_get("reason")?,
                    version: convert::to_u64("version", row.try_get("version")?)?,
                    amounts: convert::amounts(
                        row.try_get("in_amount")?,
                        row.try_get("out_amount")?,
                        row.try_get("xml_from")?,
                        row.try_get("xml_to")?,
                    ),
                    resolution: convert::resolution(
                        row.try_get("resolves_event_id")?,
                        row.try_get("decided_by")?,
                        row.try_get("decided_at_ms")?,
                    )?,
                })
            }

            /// Decodes one `outbox` row selected with `OUTBOX_COLUMNS`.
            fn decode_outbox(row: &$row) -> $crate::Result<$crate::OutboxItem> {
                use sqlx::Row as _;
                use $crate::convert;
                let previous: Option<String> = row.try_get("previous_status")?;
                let status: String = row.try_get("status")?;
                let source: String = row.try_get("source")?;
                Ok($crate::OutboxItem {
                    id: row.try_get("id")?,
                    event_id: row.try_get("event_id")?,
                    reference: convert::reference(row.try_get("reference")?)?,
                    order_id: convert::order_id(row.try_get("order_id")?)?,
                    previous: previous.as_deref().map(smartex_core::OrderStatus::parse),
                    status: smartex_core::OrderStatus::parse(&status),
                    source: convert::source(&source, row.try_get("window_ms")?)?,
                    created_at: convert::instant("created_at_ms", row.try_get("created_at_ms")?)?,
                    attempts: convert::to_u32("attempts", row.try_get("attempts")?)?,
                    lease_until: convert::instant_opt(
                        "lease_until_ms",
                        row.try_get("lease_until_ms")?,
                    )?
                    .unwrap_or(smartex_core::time::UnixMillis::from_millis(0)),
                    current: row.try_get::<i64, _>("is_current")? != 0,
                    amounts: convert::amounts(
                        row.try_get("in_amount")?,
                        row.try_get("out_amount")?,
                        row.try_get("xml_from")?,
                        row.try_get("xml_to")?,
                    ),
                    expected: convert::amounts(
                        row.try_get("expected_in_amount")?,
                        row.try_get("expected_out_amount")?,
                        row.try_get("expected_from")?,
                        row.try_get("expected_to")?,
                    ),
                    decided_by: row.try_get("decided_by")?,
                })
            }

            /// The `WHERE` clause and its bound value for `key`.
            fn key_clause(key: $crate::OrderKey<'_>) -> (&'static str, String) {
                match key {
                    $crate::OrderKey::Reference(r) => ("reference = $1", r.as_str().to_owned()),
                    $crate::OrderKey::OrderId(id) => ("order_id = $1", id.as_str().to_owned()),
                }
            }

            /// The order matching `key`, read through `conn`.
            async fn select_order<'c, E>(
                &self,
                conn: E,
                key: $crate::OrderKey<'_>,
            ) -> $crate::Result<Option<$crate::OrderRecord>>
            where
                E: sqlx::Executor<'c, Database = <$row as sqlx::Row>::Database>,
            {
                let (clause, value) = Self::key_clause(key);
                let sql = format!(
                    "SELECT {} FROM orders WHERE {clause}",
                    $crate::backend::ORDER_COLUMNS
                );
                let row = sqlx::query(&sql).bind(value).fetch_optional(conn).await?;
                row.map(|r| self.decode_order(&r)).transpose()
            }

            /// Runs a claim statement (`$1` owner, `$2` lease end, `$3` now,
            /// `$4` limit) in a write transaction; returns the claimed rows.
            async fn claim_rows(
                &self,
                sql: &str,
                lease: &$crate::Lease,
            ) -> $crate::Result<Vec<$row>> {
                use $crate::convert;
                let now = convert::instant_to_db("now", lease.now)?;
                let until = convert::lease_end(lease.now, lease.duration)?;
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query(sql)
                    .bind(&lease.owner)
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(lease.limit))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            /// Writes the order's state after a decision, with
            /// compare-and-set: if its version is still `version`, `known`
            /// (when the decision changed what is known) with the version
            /// bumped, and its next poll — none once final, else
            /// `repoll_at` if that is sooner. A decision that changes
            /// nothing must still have been made against the current state,
            /// so the version is checked (and the row locked) all the same.
            /// `false`: the version moved under us.
            async fn write_state(
                conn: &mut <<$row as sqlx::Row>::Database as sqlx::Database>::Connection,
                reference: &smartex_core::derived::Reference,
                version: i64,
                known: Option<&smartex_core::status::KnownStatus>,
                now: i64,
                repoll_at: Option<i64>,
            ) -> $crate::Result<bool> {
                use $crate::convert::{self, to_i64};
                let Some(known) = known else {
                    let done = sqlx::query(
                        "UPDATE orders SET version = version, next_poll_at_ms = CASE \
                         WHEN $3 IS NOT NULL AND is_final = 0 AND \
                         (next_poll_at_ms IS NULL OR next_poll_at_ms > $3) THEN $3 \
                         ELSE next_poll_at_ms END WHERE reference = $1 AND version = $2",
                    )
                    .bind(reference.as_str())
                    .bind(version)
                    .bind(repoll_at)
                    .execute(&mut *conn)
                    .await?;
                    return Ok(done.rows_affected() == 1);
                };
                let is_final = known.status.is_final();
                let signed = known.last_signed.as_ref();
                let done = sqlx::query(
                    "UPDATE orders SET status = $3, at_ms = $4, window_ms = $5, source = $6, \
                     is_final = $7, version = version + 1, updated_at_ms = $8, \
                     next_poll_at_ms = CASE WHEN $7 = 1 THEN NULL \
                     WHEN $12 IS NOT NULL AND (next_poll_at_ms IS NULL OR next_poll_at_ms > $12) \
                     THEN $12 ELSE next_poll_at_ms END, \
                     signed_status = $9, signed_at_ms = $10, signed_window_ms = $11 \
                     WHERE reference = $1 AND version = $2",
                )
                .bind(reference.as_str())
                .bind(version)
                .bind(known.status.as_str())
                .bind(convert::instant_opt_to_db("at", known.at)?)
                .bind(to_i64("window_ms", known.source.window_ms())?)
                .bind(known.source.as_str())
                .bind(i64::from(is_final))
                .bind(now)
                .bind(signed.map(|m| m.status.as_str()))
                .bind(convert::instant_opt_to_db("signed_at", signed.map(|m| m.at))?)
                .bind(to_i64("signed_window_ms", signed.map_or(0, |m| m.window_ms))?)
                .bind(repoll_at)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Appends `row` to the event log and, for a decision that
            /// reaches the business step, its outbox item, written at `now`
            /// on `order` as it was before the decision: the row's ids, or
            /// `None` when a unique key was taken meanwhile (the same
            /// notification, or a resolution of the same held change,
            /// committed first).
            async fn record(
                conn: &mut <<$row as sqlx::Row>::Database as sqlx::Database>::Connection,
                order: &$crate::OrderRecord,
                row: $crate::backend::NewEvent<'_>,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<Option<(i64, Option<i64>)>> {
                use sqlx::Row as _;
                use $crate::convert::{self, to_i64};
                let (event, amounts) = (row.event, row.amounts);
                let inserted = sqlx::query(
                    "INSERT INTO events (reference, status, at_ms, window_ms, source, \
                     received_at_ms, dedupe_key, decision, reason, version, in_amount, \
                     out_amount, xml_from, xml_to, resolves_event_id, decided_by, decided_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $17) RETURNING id",
                )
                .bind(row.reference.as_str())
                .bind(event.status.as_str())
                .bind(convert::instant_opt_to_db("at", event.at)?)
                .bind(to_i64("window_ms", event.source.window_ms())?)
                .bind(event.source.as_str())
                .bind(convert::instant_to_db("received_at", row.received_at)?)
                .bind(row.dedupe_key)
                .bind(row.decision.as_str())
                .bind(row.reason)
                .bind(row.version)
                .bind(amounts.in_amount.as_deref())
                .bind(amounts.out_amount.as_deref())
                .bind(amounts.from.as_deref())
                .bind(amounts.to.as_deref())
                .bind(row.resolution.map(|r| r.resolves))
                .bind(row.resolution.map(|r| r.by))
                .bind(convert::instant_opt_to_db("decided_at", row.resolution.map(|r| r.at))?)
                .fetch_one(&mut *conn)
                .await;
                let event_id: i64 = match inserted {
                    Ok(inserted) => inserted.try_get("id")?,
                    // PostgreSQL waits on the unique key for the other
                    // transaction, then reports the violation.
                    Err(e) if $crate::Error::is_unique_violation(&e) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let outbox_id = if row.decision.is_delivered() {
                    Some(Self::insert_outbox(conn, event_id, order, &row, now).await?)
                } else {
                    None
                };
                Ok(Some((event_id, outbox_id)))
            }

            /// Writes the outbox item of the change `row`, recorded as
            /// `event_id` on `order` (as it was before the change): the
            /// change's amounts and what the order was expected to carry.
            async fn insert_outbox(
                conn: &mut <<$row as sqlx::Row>::Database as sqlx::Database>::Connection,
                event_id: i64,
                order: &$crate::OrderRecord,
                row: &$crate::backend::NewEvent<'_>,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<i64> {
                use sqlx::Row as _;
                use $crate::convert::{self, to_i64};
                let (event, amounts) = (row.event, row.amounts);
                let expected = order.expected_amounts();
                let row = sqlx::query(
                    "INSERT INTO outbox (event_id, reference, order_id, previous_status, \
                     status, source, window_ms, created_at_ms, available_at_ms, is_current, \
                     in_amount, out_amount, xml_from, xml_to, expected_in_amount, \
                     expected_out_amount, expected_from, expected_to, decided_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, \
                     $14, $15, $16, $17, $18) RETURNING id",
                )
                .bind(event_id)
                .bind(order.reference.as_str())
                .bind(order.order_id.as_ref().map(smartex_core::ObjectId::as_str))
                .bind(order.known.as_ref().map(|k| k.status.as_str()))
                .bind(event.status.as_str())
                .bind(event.source.as_str())
                .bind(to_i64("window_ms", event.source.window_ms())?)
                .bind(convert::instant_to_db("now", now)?)
                .bind(i64::from(row.decision.is_current()))
                .bind(amounts.in_amount.as_deref())
                .bind(amounts.out_amount.as_deref())
                .bind(amounts.from.as_deref())
                .bind(amounts.to.as_deref())
                .bind(expected.in_amount.as_deref())
                .bind(expected.out_amount.as_deref())
                .bind(expected.from.as_deref())
                .bind(expected.to.as_deref())
                .bind(row.resolution.map(|r| r.by))
                .fetch_one(&mut *conn)
                .await?;
                Ok(row.try_get::<i64, _>("id")?)
            }

            /// One pass of read, decide, compare-and-set. `Ok(None)` when the
            /// version moved under us: the caller runs it again.
            async fn apply_once(
                &self,
                key: $crate::OrderKey<'_>,
                observation: &$crate::Observation,
            ) -> $crate::Result<Option<$crate::ApplyOutcome>> {
                use sqlx::Row as _;
                use $crate::convert::{self, to_i64};
                let mut tx = self.begin_write().await?;
                if let Some(dedupe) = &observation.key {
                    let seen = sqlx::query("SELECT id, decision FROM events WHERE dedupe_key = $1")
                        .bind(dedupe.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(row) = seen {
                        tx.rollback().await?;
                        let decision: String = row.try_get("decision")?;
                        return Ok(Some($crate::ApplyOutcome::Repeat {
                            event_id: row.try_get("id")?,
                            decision: $crate::convert::decision(&decision)?,
                        }));
                    }
                }
                let Some(order) = self.select_order(&mut *tx, key).await? else {
                    tx.rollback().await?;
                    return Err($crate::Error::NotFound);
                };
                let event = &observation.event;
                // The store never decides: the core's transition rule does,
                // and says what the order's known state becomes (the new
                // status when applied; for a duplicate observed later, the
                // same status with a later time).
                let smartex_core::status::Transition {
                    decision,
                    known: new_known,
                    repoll,
                } = smartex_core::status::transition(order.known.as_ref(), event);
                let kind = $crate::DecisionKind::of(&decision);
                let version = to_i64("version", order.version)?;
                let now = convert::instant_to_db("received_at", observation.received_at)?;
                let new_version = if new_known.is_some() { version + 1 } else { version };
                // A signed change that could not be ordered against a poll:
                // poll again at once, and let the answer settle it.
                let repoll_at = repoll.then_some(now);
                let (reference, known) = (&order.reference, new_known.as_ref());
                if !Self::write_state(&mut tx, reference, version, known, now, repoll_at).await? {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let reason = match &decision {
                    smartex_core::status::Decision::Unexpected { reason } => Some(*reason),
                    _ => None,
                };
                let new_event = $crate::backend::NewEvent {
                    reference: &order.reference,
                    event,
                    received_at: observation.received_at,
                    dedupe_key: observation.key.as_ref().map($crate::NotificationKey::as_str),
                    decision: kind,
                    reason,
                    version: new_version,
                    amounts: &observation.amounts,
                    resolution: None,
                };
                let recorded =
                    Self::record(&mut tx, &order, new_event, observation.received_at).await?;
                let Some((event_id, outbox_id)) = recorded else {
                    // The same notification committed meanwhile: the next
                    // pass answers it as a repeat.
                    tx.rollback().await?;
                    return Ok(None);
                };
                tx.commit().await?;
                let mut order = order;
                $crate::backend::written(&mut order, new_known, observation.received_at, repoll);
                Ok(Some($crate::ApplyOutcome::Decided {
                    decision,
                    order,
                    event_id,
                    outbox_id,
                }))
            }

            /// One pass of a person's decision on the held change `held_id`:
            /// `Accepted` or `Dismissed`. `Ok(None)` when the version moved
            /// under us, or another resolution committed first: the caller
            /// runs it again (and then finds that resolution).
            async fn resolve_once(
                &self,
                held_id: i64,
                kind: $crate::DecisionKind,
                by: &str,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<Option<$crate::Resolved>> {
                use sqlx::Row as _;
                use $crate::convert::{self, to_i64};
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "SELECT {} FROM events WHERE id = $1",
                    $crate::backend::EVENT_COLUMNS
                );
                let Some(row) = sqlx::query(&sql).bind(held_id).fetch_optional(&mut *tx).await?
                else {
                    tx.rollback().await?;
                    return Err($crate::Error::NotHeld {
                        reason: "no event has this id",
                    });
                };
                let held = Self::decode_event(&row)?;
                if held.decision != $crate::DecisionKind::Unexpected {
                    tx.rollback().await?;
                    return Err($crate::Error::NotHeld {
                        reason: "the tracker did not hold it (only changes decided unexpected are)",
                    });
                }
                let Some(order) = self
                    .select_order(&mut *tx, $crate::OrderKey::Reference(&held.reference))
                    .await?
                else {
                    tx.rollback().await?;
                    return Err($crate::Error::NotFound);
                };
                // Looked for after the order is read: on PostgreSQL (read
                // committed) each statement sees what was committed before
                // it, so a resolution that changed the order read above is
                // seen here; one committed later moves the version (an
                // acceptance) or takes the unique key (a dismissal), and
                // the next pass finds it.
                let first = sqlx::query(
                    "SELECT id, decision, decided_by FROM events WHERE resolves_event_id = $1",
                )
                .bind(held_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(first) = first {
                    tx.rollback().await?;
                    let decision: String = first.try_get("decision")?;
                    return Err($crate::Error::AlreadyResolved {
                        resolution_event_id: first.try_get("id")?,
                        decision: convert::decision(&decision)?,
                        decided_by: first
                            .try_get::<Option<String>, _>("decided_by")?
                            .unwrap_or_default(),
                    });
                }
                // The person overrides the lifecycle; the core says what is
                // known then, or that the order has learned something newer.
                let new_known = match kind {
                    $crate::DecisionKind::Accepted => Some(
                        smartex_core::status::accept_held(order.known.as_ref(), &held.event)
                            .map_err($crate::Error::StaleHeld)?,
                    ),
                    _ => None,
                };
                let version = to_i64("version", order.version)?;
                let at = convert::instant_to_db("now", now)?;
                // An accepted status that is not final: poll the order at
                // once (it may have been final, with no poll due), so that
                // the platform's own answer follows the person's decision.
                let repoll_at = new_known.is_some().then_some(at);
                let (reference, known) = (&order.reference, new_known.as_ref());
                if !Self::write_state(&mut tx, reference, version, known, at, repoll_at).await? {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let new_event = $crate::backend::NewEvent {
                    reference: &order.reference,
                    event: &held.event,
                    received_at: held.received_at,
                    dedupe_key: None,
                    decision: kind,
                    reason: None,
                    version: if new_known.is_some() { version + 1 } else { version },
                    amounts: &held.amounts,
                    resolution: Some($crate::backend::NewResolution {
                        resolves: held_id,
                        by,
                        at: now,
                    }),
                };
                let Some((event_id, outbox_id)) =
                    Self::record(&mut tx, &order, new_event, now).await?
                else {
                    // Another resolution committed meanwhile: the next pass
                    // reports it.
                    tx.rollback().await?;
                    return Ok(None);
                };
                tx.commit().await?;
                let mut order = order;
                let repoll = new_known.is_some();
                $crate::backend::written(&mut order, new_known, now, repoll);
                Ok(Some($crate::Resolved {
                    event_id,
                    order,
                    outbox_id,
                }))
            }

            /// [`Self::resolve_once`] until it is not outrun.
            async fn resolve(
                &self,
                held_id: i64,
                kind: $crate::DecisionKind,
                by: &str,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<$crate::Resolved> {
                $crate::convert::decided_by(by)?;
                let attempts = self.options.max_apply_attempts.max(1);
                for _ in 0..attempts {
                    if let Some(resolved) = self.resolve_once(held_id, kind, by, now).await? {
                        return Ok(resolved);
                    }
                }
                Err($crate::Error::Contention { attempts })
            }
        }

        impl $crate::OrderStore for $store {
            async fn insert_order(
                &self,
                order: $crate::PendingOrder,
            ) -> $crate::Result<$crate::OrderRecord> {
                use $crate::convert;
                let (kind, key_id, secret) = match &order.ipn_secret {
                    $crate::IpnSecretSource::Derived { key_id } => {
                        if key_id.is_empty() {
                            return Err($crate::Error::InvalidInput {
                                field: "ipn key id",
                                reason: "must not be empty",
                            });
                        }
                        ("derived", Some(key_id.clone()), None)
                    }
                    $crate::IpnSecretSource::Stored(s) => (
                        "stored",
                        None,
                        Some(self.options.sealing.seal(
                            "ipn_secret",
                            order.reference.as_str(),
                            s.expose(),
                        )?),
                    ),
                    $crate::IpnSecretSource::None => ("none", None, None),
                };
                let created = convert::instant_to_db("created_at", order.created_at)?;
                let result = sqlx::query(
                    "INSERT INTO orders (reference, ipn_secret_kind, ipn_key_id, ipn_secret, \
                     created_at_ms, updated_at_ms, next_poll_at_ms, asked_amount) \
                     VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
                )
                .bind(order.reference.as_str())
                .bind(kind)
                .bind(key_id)
                .bind(secret)
                .bind(created)
                .bind(convert::instant_opt_to_db("first_poll_at", order.first_poll_at)?)
                .bind(order.asked_amount.as_deref())
                .execute(&self.pool)
                .await;
                match result {
                    Ok(_) => {}
                    Err(e) if $crate::Error::is_unique_violation(&e) => {
                        return Err($crate::Error::ReferenceTaken);
                    }
                    Err(e) => return Err(e.into()),
                }
                Ok($crate::OrderRecord {
                    reference: order.reference,
                    order_id: None,
                    uid: None,
                    order_secret: None,
                    ipn_secret: order.ipn_secret,
                    known: None,
                    version: 0,
                    created_at: order.created_at,
                    updated_at: order.created_at,
                    next_poll_at: order.first_poll_at,
                    poll_attempts: 0,
                    asked_amount: order.asked_amount,
                    expected: smartex_core::amounts::Amounts::default(),
                })
            }

            async fn bind_order(
                &self,
                reference: &smartex_core::derived::Reference,
                binding: $crate::OrderBinding,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<$crate::OrderRecord> {
                let mut tx = self.begin_write().await?;
                let Some(mut order) = self
                    .select_order(&mut *tx, $crate::OrderKey::Reference(reference))
                    .await?
                else {
                    tx.rollback().await?;
                    return Err($crate::Error::NotFound);
                };
                let mut changed = false;
                let mut new_id = None;
                let mut new_uid = None;
                let mut new_secret = None;
                if let Some(id) = binding.order_id {
                    match &order.order_id {
                        Some(old) if *old != id => {
                            return Err($crate::Error::Conflict { field: "orderId" });
                        }
                        Some(_) => {}
                        None => {
                            new_id = Some(id.as_str().to_owned());
                            order.order_id = Some(id);
                            changed = true;
                        }
                    }
                }
                if let Some(uid) = binding.uid {
                    match order.uid {
                        Some(old) if old != uid => {
                            return Err($crate::Error::Conflict { field: "uid" });
                        }
                        Some(_) => {}
                        None => {
                            new_uid = Some(uid.to_string());
                            order.uid = Some(uid);
                            changed = true;
                        }
                    }
                }
                if let Some(secret) = binding.order_secret {
                    match &order.order_secret {
                        Some(old) if *old != secret => {
                            return Err($crate::Error::Conflict { field: "orderSecret" });
                        }
                        Some(_) => {}
                        None => {
                            new_secret = Some(self.options.sealing.seal(
                                "order_secret",
                                reference.as_str(),
                                secret.expose(),
                            )?);
                            order.order_secret = Some(secret);
                            changed = true;
                        }
                    }
                }
                // The amounts the platform answered at create: kept as first told.
                let new_expected = match binding.expected {
                    Some(expected) if order.expected.is_empty() && !expected.is_empty() => {
                        order.expected = expected.clone();
                        changed = true;
                        Some(expected)
                    }
                    _ => None,
                };
                if !changed {
                    tx.rollback().await?;
                    return Ok(order);
                }
                let expected = new_expected.unwrap_or_default();
                let result = sqlx::query(
                    "UPDATE orders SET order_id = COALESCE(order_id, $2), uid = COALESCE(uid, $3), \
                     order_secret = COALESCE(order_secret, $4), version = version + 1, \
                     updated_at_ms = $5, expected_in_amount = COALESCE(expected_in_amount, $6), \
                     expected_out_amount = COALESCE(expected_out_amount, $7), \
                     expected_from = COALESCE(expected_from, $8), \
                     expected_to = COALESCE(expected_to, $9) WHERE reference = $1",
                )
                .bind(reference.as_str())
                .bind(new_id)
                .bind(new_uid)
                .bind(new_secret)
                .bind($crate::convert::instant_to_db("now", now)?)
                .bind(expected.in_amount)
                .bind(expected.out_amount)
                .bind(expected.from)
                .bind(expected.to)
                .execute(&mut *tx)
                .await;
                match result {
                    Ok(_) => {}
                    Err(e) if $crate::Error::is_unique_violation(&e) => {
                        return Err($crate::Error::OrderIdTaken);
                    }
                    Err(e) => return Err(e.into()),
                }
                tx.commit().await?;
                order.version += 1;
                order.updated_at = now;
                Ok(order)
            }

            async fn order(
                &self,
                key: $crate::OrderKey<'_>,
            ) -> $crate::Result<Option<$crate::OrderRecord>> {
                self.select_order(&self.pool, key).await
            }

            async fn apply(
                &self,
                key: $crate::OrderKey<'_>,
                observation: $crate::Observation,
            ) -> $crate::Result<$crate::ApplyOutcome> {
                let attempts = self.options.max_apply_attempts.max(1);
                for _ in 0..attempts {
                    if let Some(outcome) = self.apply_once(key, &observation).await? {
                        return Ok(outcome);
                    }
                }
                Err($crate::Error::Contention { attempts })
            }

            async fn events(
                &self,
                key: $crate::OrderKey<'_>,
            ) -> $crate::Result<Vec<$crate::EventRow>> {
                let (clause, value) = Self::key_clause(key);
                let sql = format!(
                    "SELECT {} FROM events WHERE reference = \
                     (SELECT reference FROM orders WHERE {clause}) ORDER BY id",
                    $crate::backend::EVENT_COLUMNS
                );
                let rows = sqlx::query(&sql).bind(value).fetch_all(&self.pool).await?;
                rows.iter().map(Self::decode_event).collect()
            }

            async fn held(
                &self,
                reference: Option<&smartex_core::derived::Reference>,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::HeldChange>> {
                let sql = format!(
                    "SELECT {} FROM events e WHERE decision = '{}' \
                     AND ($1 IS NULL OR reference = $1) \
                     AND NOT EXISTS (SELECT 1 FROM events r WHERE r.resolves_event_id = e.id) \
                     ORDER BY id LIMIT $2",
                    $crate::backend::EVENT_COLUMNS,
                    $crate::DecisionKind::Unexpected.as_str()
                );
                let rows = sqlx::query(&sql)
                    .bind(reference.map(smartex_core::derived::Reference::as_str))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut held = Vec::with_capacity(rows.len());
                let mut orders = std::collections::HashMap::new();
                for row in &rows {
                    let event = Self::decode_event(row)?;
                    if !orders.contains_key(&event.reference) {
                        let key = $crate::OrderKey::Reference(&event.reference);
                        let order = self.select_order(&self.pool, key).await?;
                        orders.insert(event.reference.clone(), order);
                    }
                    let current = orders
                        .get(&event.reference)
                        .and_then(|o| o.as_ref())
                        .and_then(|o| o.known.clone());
                    held.push($crate::HeldChange { event, current });
                }
                Ok(held)
            }

            async fn accept_held(
                &self,
                event_id: i64,
                by: &str,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<$crate::Resolved> {
                self.resolve(event_id, $crate::DecisionKind::Accepted, by, now)
                    .await
            }

            async fn dismiss_held(
                &self,
                event_id: i64,
                by: &str,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<$crate::Resolved> {
                self.resolve(event_id, $crate::DecisionKind::Dismissed, by, now)
                    .await
            }

            async fn claim_due(
                &self,
                lease: $crate::Lease,
            ) -> $crate::Result<Vec<$crate::OrderRecord>> {
                let sql = format!(
                    "UPDATE orders SET lease_owner = $1, lease_until_ms = $2 \
                     WHERE reference IN (SELECT reference FROM orders \
                       WHERE is_final = 0 AND next_poll_at_ms IS NOT NULL AND next_poll_at_ms <= $3 \
                       AND (lease_until_ms IS NULL OR lease_until_ms <= $3) \
                       ORDER BY next_poll_at_ms LIMIT $4 {}) \
                     RETURNING {}",
                    Self::SKIP_LOCKED,
                    $crate::backend::ORDER_COLUMNS
                );
                let rows = self.claim_rows(&sql, &lease).await?;
                let mut orders = rows
                    .iter()
                    .map(|r| self.decode_order(r))
                    .collect::<$crate::Result<Vec<_>>>()?;
                orders.sort_by_key(|o| o.next_poll_at);
                Ok(orders)
            }

            async fn finish_poll(
                &self,
                reference: &smartex_core::derived::Reference,
                owner: &str,
                next_poll_at: Option<smartex_core::time::UnixMillis>,
            ) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "UPDATE orders SET lease_owner = NULL, lease_until_ms = NULL, \
                     poll_attempts = poll_attempts + 1, \
                     next_poll_at_ms = CASE WHEN is_final = 1 THEN NULL ELSE $3 END \
                     WHERE reference = $1 AND lease_owner = $2",
                )
                .bind(reference.as_str())
                .bind(owner)
                .bind($crate::convert::instant_opt_to_db("next_poll_at", next_poll_at)?)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_outbox(
                &self,
                lease: $crate::Lease,
            ) -> $crate::Result<Vec<$crate::OutboxItem>> {
                // Per order, only the oldest undelivered item is handed out, so
                // the business step sees an order's changes in order.
                let sql = format!(
                    "UPDATE outbox SET lease_owner = $1, lease_until_ms = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT o.id FROM outbox o \
                       WHERE o.delivered_at_ms IS NULL AND o.available_at_ms <= $3 \
                       AND (o.lease_until_ms IS NULL OR o.lease_until_ms <= $3) \
                       AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.reference = o.reference \
                         AND p.delivered_at_ms IS NULL AND p.id < o.id) \
                       ORDER BY o.id LIMIT $4 {}) \
                     RETURNING {}",
                    Self::SKIP_LOCKED,
                    $crate::backend::OUTBOX_COLUMNS
                );
                let rows = self.claim_rows(&sql, &lease).await?;
                let mut items = rows
                    .iter()
                    .map(Self::decode_outbox)
                    .collect::<$crate::Result<Vec<_>>>()?;
                items.sort_by_key(|i| i.id);
                Ok(items)
            }

            async fn ack_outbox(
                &self,
                id: i64,
                now: smartex_core::time::UnixMillis,
            ) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "UPDATE outbox SET delivered_at_ms = $2, lease_owner = NULL, lease_until_ms = NULL \
                     WHERE id = $1 AND delivered_at_ms IS NULL",
                )
                .bind(id)
                .bind($crate::convert::instant_to_db("now", now)?)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn retry_outbox(
                &self,
                id: i64,
                owner: &str,
                retry_at: smartex_core::time::UnixMillis,
            ) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "UPDATE outbox SET lease_owner = NULL, lease_until_ms = NULL, available_at_ms = $3 \
                     WHERE id = $1 AND lease_owner = $2 AND delivered_at_ms IS NULL",
                )
                .bind(id)
                .bind(owner)
                .bind($crate::convert::instant_to_db("retry_at", retry_at)?)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use store_impl;
