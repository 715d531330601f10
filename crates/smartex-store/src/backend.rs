//! The SQL both backends share, written once as a macro over the backend's
//! concrete sqlx types (SQLite accepts PostgreSQL's `$1` placeholders).
//!
//! Each backend provides `begin_write()` (SQLite: `BEGIN IMMEDIATE`, so the
//! read inside the transaction already holds the write lock; PostgreSQL:
//! `BEGIN`, read committed) and `SKIP_LOCKED` (PostgreSQL: `FOR UPDATE SKIP
//! LOCKED`; SQLite: nothing, its writers are serialized).

/// The columns of `orders`, in the order `decode_order` reads them.
pub(crate) const ORDER_COLUMNS: &str = "reference, order_id, uid, order_secret, ipn_secret_kind, \
     ipn_key_id, ipn_secret, status, at_ms, window_ms, source, version, created_at_ms, \
     updated_at_ms, next_poll_at_ms, poll_attempts, signed_status, signed_at_ms, \
     signed_window_ms, asked_amount, expected_in_amount, expected_out_amount, expected_from, \
     expected_to";

/// The columns of `events`, in the order `decode_event` reads them.
pub(crate) const EVENT_COLUMNS: &str = "id, reference, status, at_ms, window_ms, source, \
     received_at_ms, dedupe_key, decision, reason, version, in_amount, out_amount, xml_from, \
     xml_to";

/// The columns of `outbox`, in the order `decode_outbox` reads them.
pub(crate) const OUTBOX_COLUMNS: &str = "id, event_id, reference, order_id, previous_status, \
     status, source, window_ms, created_at_ms, attempts, lease_until_ms, is_current, in_amount, \
     out_amount, xml_from, xml_to, expected_in_amount, expected_out_amount, expected_from, \
     expected_to";

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
                let cas = if let Some(known) = &new_known {
                    let is_final = known.status.is_final();
                    let signed = known.last_signed.as_ref();
                    sqlx::query(
                        "UPDATE orders SET status = $3, at_ms = $4, window_ms = $5, source = $6, \
                         is_final = $7, version = version + 1, updated_at_ms = $8, \
                         next_poll_at_ms = CASE WHEN $7 = 1 THEN NULL \
                         WHEN $12 IS NOT NULL AND (next_poll_at_ms IS NULL OR next_poll_at_ms > $12) \
                         THEN $12 ELSE next_poll_at_ms END, \
                         signed_status = $9, signed_at_ms = $10, signed_window_ms = $11 \
                         WHERE reference = $1 AND version = $2",
                    )
                    .bind(order.reference.as_str())
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
                    .execute(&mut *tx)
                    .await?
                } else {
                    // Nothing changes, but the decision must still have been
                    // made against the current state: lock the row and check.
                    sqlx::query(
                        "UPDATE orders SET version = version, next_poll_at_ms = CASE \
                         WHEN $3 IS NOT NULL AND is_final = 0 AND \
                         (next_poll_at_ms IS NULL OR next_poll_at_ms > $3) THEN $3 \
                         ELSE next_poll_at_ms END WHERE reference = $1 AND version = $2",
                    )
                    .bind(order.reference.as_str())
                    .bind(version)
                    .bind(repoll_at)
                    .execute(&mut *tx)
                    .await?
                };
                if cas.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let reason = match &decision {
                    smartex_core::status::Decision::Unexpected { reason } => Some(*reason),
                    _ => None,
                };
                let amounts = &observation.amounts;
                let inserted = sqlx::query(
                    "INSERT INTO events (reference, status, at_ms, window_ms, source, \
                     received_at_ms, dedupe_key, decision, reason, version, in_amount, \
                     out_amount, xml_from, xml_to) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                )
                .bind(order.reference.as_str())
                .bind(event.status.as_str())
                .bind(convert::instant_opt_to_db("at", event.at)?)
                .bind(to_i64("window_ms", event.source.window_ms())?)
                .bind(event.source.as_str())
                .bind(now)
                .bind(observation.key.as_ref().map($crate::NotificationKey::as_str))
                .bind(kind.as_str())
                .bind(reason)
                .bind(new_version)
                .bind(amounts.in_amount.as_deref())
                .bind(amounts.out_amount.as_deref())
                .bind(amounts.from.as_deref())
                .bind(amounts.to.as_deref())
                .fetch_one(&mut *tx)
                .await;
                let event_id: i64 = match inserted {
                    Ok(row) => row.try_get("id")?,
                    Err(e) if $crate::Error::is_unique_violation(&e) => {
                        // The same notification committed meanwhile (PostgreSQL
                        // waits for it on the unique key): a repeat.
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    Err(e) => return Err(e.into()),
                };
                let outbox_id = if kind.is_delivered() {
                    let expected = order.expected_amounts();
                    let row = sqlx::query(
                        "INSERT INTO outbox (event_id, reference, order_id, previous_status, \
                         status, source, window_ms, created_at_ms, available_at_ms, is_current, \
                         in_amount, out_amount, xml_from, xml_to, expected_in_amount, \
                         expected_out_amount, expected_from, expected_to) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, \
                         $14, $15, $16, $17) RETURNING id",
                    )
                    .bind(event_id)
                    .bind(order.reference.as_str())
                    .bind(order.order_id.as_ref().map(smartex_core::ObjectId::as_str))
                    .bind(order.known.as_ref().map(|k| k.status.as_str()))
                    .bind(event.status.as_str())
                    .bind(event.source.as_str())
                    .bind(to_i64("window_ms", event.source.window_ms())?)
                    .bind(now)
                    .bind(i64::from(kind == $crate::DecisionKind::Apply))
                    .bind(amounts.in_amount.as_deref())
                    .bind(amounts.out_amount.as_deref())
                    .bind(amounts.from.as_deref())
                    .bind(amounts.to.as_deref())
                    .bind(expected.in_amount.as_deref())
                    .bind(expected.out_amount.as_deref())
                    .bind(expected.from.as_deref())
                    .bind(expected.to.as_deref())
                    .fetch_one(&mut *tx)
                    .await?;
                    Some(row.try_get::<i64, _>("id")?)
                } else {
                    None
                };
                tx.commit().await?;
                let mut order = order;
                if let Some(known) = new_known {
                    order.known = Some(known);
                    order.version += 1;
                    order.updated_at = observation.received_at;
                    if order.is_final() {
                        order.next_poll_at = None;
                    }
                }
                if let Some(at) = repoll.then_some(observation.received_at)
                    && !order.is_final()
                    && order.next_poll_at.is_none_or(|next| next > at)
                {
                    order.next_poll_at = Some(at);
                }
                Ok(Some($crate::ApplyOutcome::Decided {
                    decision,
                    order,
                    event_id,
                    outbox_id,
                }))
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
