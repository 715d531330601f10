//! `Merchant::handle_ipn`: verify first (the secret derived from the
//! reference in the query), then bind and apply exactly once.

use smartex_core::derived::Reference;
use smartex_core::status::Decision;
use smartex_core::time::UnixMillis;
use smartex_core::{Error as CoreError, ObjectId, OrderStatus};
use smartex_http::Transport;
use smartex_core::ipn::{UnverifiedIpn, VerifiedIpn};
use smartex_ipn::{Answer, IpnRequest, ReplayKey};
use smartex_store::{
    ApplyOutcome, DecisionKind, IpnSecretSource, NotificationKey, Observation, OrderBinding,
    OrderKey, OrderStore, PendingOrder,
};

use crate::failures::Failure;
use crate::merchant::Merchant;

/// The answer when our own processing failed (the store is down): `500`.
///
/// The platform sends each IPN once and never retries, whatever the answer,
/// so no answer can get the notification back. 500 is the truthful one: the
/// platform's logs and the merchant's monitoring see a failure, not a
/// success that hides a lost notification. What recovers the change is the
/// reconciler: the order was recorded before it was created, so it is polled
/// until final once the store is back. (An IPN that was to bind an
/// ambiguously created order is the exception: the order's next IPN binds it.)
pub const INTERNAL_ERROR: Answer = Answer {
    status: 500,
    body: "Internal Server Error: not stored, the order will be reconciled",
    allow: None,
};

/// The answer to a genuine notification that contradicts the store (its
/// reference is bound to another `orderId`): `202`, received, not applied,
/// for a person to look at.
pub const CONFLICT: Answer = Answer::HELD;

/// What [`Merchant::handle_ipn`] did with a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum Handled {
    /// Verified and applied: the order's status changed and an outbox item
    /// was written for the business step.
    Applied {
        /// The order's reference.
        reference: Reference,
        /// The status applied.
        status: OrderStatus,
    },
    /// Verified; the order already had this status.
    Duplicate,
    /// Verified; older than what the store knows.
    Stale,
    /// Verified and recorded, but the order's status had already moved past
    /// it (a poll learned a later one): an outbox item was written for the
    /// business step **as history** ([`OutboxItem::current`](smartex_store::OutboxItem::current)
    /// is `false`); the current status did not change.
    Superseded {
        /// The order's reference.
        reference: Reference,
        /// The status recorded.
        status: OrderStatus,
    },
    /// Verified; outside the lifecycle, not applied, recorded for review.
    Unexpected {
        /// Why.
        reason: &'static str,
    },
    /// This very notification was processed before (a duplicate delivery,
    /// or a byte-identical resend): nothing written. Answered
    /// [`Answer::STALE`] if it was stale the first time, else
    /// [`Answer::DUPLICATE`].
    Repeat,
    /// Refused by the receiver: malformed, forged, wrong method, outside the
    /// time window, or of an order the store does not know.
    Refused(smartex_ipn::Error),
    /// The reference parameter is present but unusable (repeated, badly
    /// escaped, not a reference).
    BadReference(CoreError),
    /// Genuine, but contradicts the store: its reference is bound to another
    /// `orderId`, or its `orderId` to another reference. Not applied.
    Conflict(smartex_store::Error),
    /// Our own processing failed (see [`INTERNAL_ERROR`]).
    StoreFailed(smartex_store::Error),
    /// The store did not finish within the deadline
    /// ([`MerchantBuilder::ipn_store_deadline`](crate::MerchantBuilder::ipn_store_deadline)):
    /// answered [`INTERNAL_ERROR`], while the store work goes on in its own
    /// task and applies the change when the store answers.
    StoreTimedOut {
        /// The deadline that passed.
        deadline: std::time::Duration,
    },
    /// The runtime shut down while the store work ran: answered
    /// [`INTERNAL_ERROR`]; the change may not be stored (the reconciler
    /// recovers it).
    Interrupted,
}

/// The outcome of [`Merchant::handle_ipn`]: the answer to send and what
/// happened.
///
/// A verified notification's result passes through one type per layer —
/// the core decides, the store records, the facade reports, the receiver
/// answers — with no catch-all arm on the way (the enums are exhaustive):
///
/// | core [`Decision`] | event log ([`DecisionKind`]) | store [`ApplyOutcome`] | [`Handled`] | [`Answer`] |
/// |---|---|---|---|---|
/// | `Apply` | `apply` | `Decided`, with an outbox item | `Applied` | 200 `OK` |
/// | `Duplicate` | `duplicate` | `Decided` | `Duplicate` | 200 `OK: duplicate` |
/// | `Stale` | `stale` | `Decided` | `Stale` | 200 `OK: stale, ignored` |
/// | `Superseded` | `superseded` | `Decided`, with an outbox item (history) | `Superseded` | 200 `OK: recorded as history` |
/// | `Unexpected` | `unexpected` | `Decided` | `Unexpected` | 202 `Accepted: held for review` |
/// | the same notification again | the first delivery's | `Repeat` | `Repeat` | as the first: stale, history, held, else duplicate |
/// | — (a person's decision on a held change: [`Merchant::accept_held`], [`Merchant::dismiss_held`]) | `accepted` (with an outbox item) / `dismissed`, a row of its own | — ([`Resolved`]) | — | — (not an answer to a notification) |
///
/// Before a decision: a refusal by the receiver is [`Handled::Refused`]
/// (400/401/404/405/413/415/422, [`Answer::for_error`]), an unusable
/// reference parameter [`Handled::BadReference`] (400), a genuine
/// notification that contradicts the store [`Handled::Conflict`] (202), and
/// a store failure [`Handled::StoreFailed`] ([`INTERNAL_ERROR`], 500).
///
/// [`Decision`]: smartex_core::status::Decision
/// [`DecisionKind`]: smartex_store::DecisionKind
/// [`ApplyOutcome`]: smartex_store::ApplyOutcome
/// [`Resolved`]: smartex_store::Resolved
#[derive(Debug)]
pub struct IpnOutcome {
    /// The HTTP answer to send.
    pub answer: Answer,
    /// What happened.
    pub handled: Handled,
    /// Whether this notification bound the platform's `orderId` to a
    /// reference that had none yet: an order whose create response was not
    /// (yet) stored — an ambiguous create, or an IPN faster than the
    /// response — recovered by its notification.
    pub bound_order_id: bool,
}

impl IpnOutcome {
    fn new(answer: Answer, handled: Handled) -> Self {
        Self {
            answer,
            handled,
            bound_order_id: false,
        }
    }

    fn refused(error: smartex_ipn::Error) -> Self {
        Self::new(Answer::for_error(&error), Handled::Refused(error))
    }

    fn store_failed(error: smartex_store::Error) -> Self {
        Self::new(INTERNAL_ERROR, Handled::StoreFailed(error))
    }
}

// 'static: a verified notification's store work runs in a task of its own.
impl<S: OrderStore + 'static, T: Transport + 'static> Merchant<S, T> {
    /// [`handle_ipn`](Merchant::handle_ipn) for a request given as `http`
    /// parts and its collected body, answered as an `http::Response` — what
    /// axum's extractors give and take, so an axum IPN endpoint is one line:
    ///
    /// ```no_run
    /// # use smartex::{Merchant, store::SqliteStore};
    /// use axum::{body::Bytes, extract::State, http::request::Parts, response::IntoResponse};
    ///
    /// async fn ipn(State(shop): State<Merchant<SqliteStore>>, parts: Parts, body: Bytes) -> impl IntoResponse {
    ///     shop.handle_http(&parts, &body).await
    /// }
    /// ```
    ///
    /// The response's body is the [`Answer`]'s text; its status, content
    /// type and (for 405) `Allow` header are the answer's.
    #[cfg(feature = "http")]
    pub async fn handle_http(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> http::Response<String> {
        let request = IpnRequest::from_http_parts(parts, body);
        let outcome = self.handle_ipn(&request).await;
        outcome.answer.to_http_response().map(str::to_owned)
    }

    /// Handles one IPN request and returns the answer to send.
    ///
    /// 1. The receiver checks method, size, content type, decodes the body
    ///    and finds the checksum.
    /// 2. If the query carries the reference, the secrets are derived from
    ///    it (one per master key) and the checksum verified **before any
    ///    lookup**: an IPN for an order whose create response is not stored
    ///    verifies all the same. Its signed `orderId` is then bound to the
    ///    reference — the order is recovered.
    /// 3. Without a reference parameter (orders created otherwise), the
    ///    order is looked up by `orderId` and its stored secret used.
    /// 4. The status is applied exactly once through the store (a repeat
    ///    writes nothing); an applied change reaches the [outbox](crate::Outbox).
    ///
    /// Answers: 200 for applied, duplicate, stale and repeated
    /// notifications; 202 for genuine ones not applied (unexpected,
    /// conflicting); 400/401/404/405/413/415/422 for refusals (see
    /// [`Answer`]); [`INTERNAL_ERROR`] when the store fails.
    pub async fn handle_ipn(&self, request: &IpnRequest<'_>) -> IpnOutcome {
        let inner = &self.inner;
        let parsed = match inner.receiver.parse(request) {
            Ok(parsed) => parsed,
            Err(e) => return IpnOutcome::refused(e),
        };
        let query = request.query_string().unwrap_or("");
        match inner.template.reference_from_query(query) {
            Ok(reference) => self.handle_with_reference(parsed, reference).await,
            Err(CoreError::MissingField { .. }) => self.handle_by_order_id(parsed).await,
            Err(e) => IpnOutcome::new(
                Answer::for_error(&smartex_ipn::Error::Malformed(e.clone())),
                Handled::BadReference(e),
            ),
        }
    }

    async fn handle_with_reference(
        &self,
        parsed: UnverifiedIpn<'_>,
        reference: Reference,
    ) -> IpnOutcome {
        let inner = &self.inner;
        let now = inner.now();
        // Verify with each key's secret in turn, to learn which key signed
        // (recorded if the order must be recorded now). Key ids are not
        // secret; each comparison is constant time.
        let mut verified = None;
        let mut last_error = smartex_ipn::Error::BadChecksum;
        for key in inner.keys.iter() {
            match inner.receiver.verify(
                parsed.clone(),
                &key.ipn_secret(&reference),
                now,
            ) {
                Ok(n) => {
                    verified = Some((n, key.id().to_owned()));
                    break;
                }
                Err(smartex_ipn::Error::BadChecksum) => {}
                Err(e) => {
                    last_error = e;
                    break;
                }
            }
        }
        let Some((notification, key_id)) = verified else {
            return IpnOutcome::refused(last_error);
        };
        let order_id = match notification.order_id() {
            Ok(id) => id,
            Err(e) => return IpnOutcome::refused(smartex_ipn::Error::Malformed(e)),
        };
        // Verified: from here on the change must not be lost with the
        // caller's future.
        let notification = notification.into_owned();
        self.detached(move |m| async move {
            m.record_with_reference(notification, reference, key_id, order_id, now)
                .await
        })
        .await
    }

    /// Runs the store work of a verified notification in a task of its own,
    /// so that a sender that disconnects (a web framework dropping the
    /// handler's future) cannot cancel it half-way, and waits for it up to
    /// the merchant's deadline: past it the answer is a truthful 500 while
    /// the task goes on and applies the change when the store answers.
    async fn detached<F, Fut>(&self, work: F) -> IpnOutcome
    where
        F: FnOnce(Self) -> Fut,
        Fut: std::future::Future<Output = IpnOutcome> + Send + 'static,
    {
        let deadline = self.inner.ipn_store_deadline;
        let mut task = tokio::spawn(work(self.clone()));
        match tokio::time::timeout(deadline, &mut task).await {
            Ok(Ok(outcome)) => outcome,
            // A panic in the task is the caller's, as if it had happened here.
            Ok(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            // The runtime is shutting down: the change may not be stored.
            Ok(Err(_cancelled)) => IpnOutcome::new(INTERNAL_ERROR, Handled::Interrupted),
            Err(_elapsed) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
                    "IPN answered 500: the store did not answer in time; the change is applied when it does"
                );
                // The answer is gone; what the store work ends with must not
                // vanish with it: a failure is logged and counted.
                let merchant = self.clone();
                tokio::spawn(async move {
                    // Whatever would not have been answered 200 (stored, or
                    // a repeat): a failure, or a genuine change held.
                    let failure = match task.await {
                        Ok(outcome) if outcome.answer.status == 200 => return,
                        Ok(outcome) => format!("{:?}", outcome.handled),
                        Err(join) => format!("the store work ended early: {join}"),
                    };
                    merchant.inner.failures.record(
                        Failure::IpnStore,
                        "an IPN answered 500 at its deadline then failed in the store too; the reconciler recovers it",
                        &failure,
                    );
                });
                IpnOutcome::new(INTERNAL_ERROR, Handled::StoreTimedOut { deadline })
            }
        }
    }

    /// The store work of a verified notification that named its reference:
    /// bind the signed `orderId` (recording the order if it was lost), then
    /// apply.
    async fn record_with_reference(
        self,
        notification: VerifiedIpn<'static>,
        reference: Reference,
        key_id: String,
        order_id: ObjectId,
        now: UnixMillis,
    ) -> IpnOutcome {
        let inner = &self.inner;
        // Bind the signed orderId to the reference (idempotent).
        let record = match inner.store.order(OrderKey::Reference(&reference)).await {
            Ok(record) => record,
            Err(e) => return IpnOutcome::store_failed(e),
        };
        let mut bound = false;
        match record {
            Some(r) if r.order_id.as_ref() == Some(&order_id) => {}
            Some(_) => {
                bound = true;
                if let Err(e) = self.bind(&reference, &order_id, now).await {
                    return bind_failure(e);
                }
            }
            None => {
                // Signed for our reference, yet not recorded (the record was
                // lost with a database restored from an older backup, say):
                // record it now rather than lose a genuine notification.
                bound = true;
                let order = PendingOrder {
                    reference: reference.clone(),
                    ipn_secret: IpnSecretSource::Derived { key_id },
                    created_at: now,
                    first_poll_at: None,
                    asked_amount: None,
                };
                match inner.store.insert_order(order).await {
                    Ok(_) | Err(smartex_store::Error::ReferenceTaken) => {}
                    Err(e) => return IpnOutcome::store_failed(e),
                }
                if let Err(e) = self.bind(&reference, &order_id, now).await {
                    return bind_failure(e);
                }
            }
        }
        let mut outcome = self
            .apply(OrderKey::Reference(&reference), &notification, &order_id)
            .await;
        outcome.bound_order_id = bound;
        outcome
    }

    async fn bind(
        &self,
        reference: &Reference,
        order_id: &ObjectId,
        now: UnixMillis,
    ) -> Result<(), smartex_store::Error> {
        let binding = OrderBinding {
            order_id: Some(*order_id),
            // `orderUID` is not signed: it is never bound from an IPN.
            uid: None,
            order_secret: None,
            expected: None,
        };
        self.inner
            .store
            .bind_order(reference, binding, now)
            .await
            .map(|_| ())
    }

    async fn handle_by_order_id(&self, parsed: UnverifiedIpn<'_>) -> IpnOutcome {
        let inner = &self.inner;
        let order_id = match parsed.order_id() {
            Ok(id) => id,
            Err(e) => return IpnOutcome::refused(smartex_ipn::Error::Malformed(e)),
        };
        let record = match inner.store.order(OrderKey::OrderId(&order_id)).await {
            Ok(record) => record,
            Err(e) => return IpnOutcome::store_failed(e),
        };
        let secret = record.and_then(|r| match r.ipn_secret {
            IpnSecretSource::Stored(secret) => Some(secret),
            IpnSecretSource::Derived { key_id } => {
                Some(inner.keys.get(&key_id)?.ipn_secret(&r.reference))
            }
            IpnSecretSource::None => None,
        });
        let notification = match inner.receiver.verify(parsed, &secret, inner.now()) {
            Ok(n) => n.into_owned(),
            Err(e) => return IpnOutcome::refused(e),
        };
        self.detached(move |m| async move {
            m.apply(OrderKey::OrderId(&order_id), &notification, &order_id)
                .await
        })
        .await
    }

    async fn apply(
        &self,
        key: OrderKey<'_>,
        notification: &VerifiedIpn<'_>,
        order_id: &ObjectId,
    ) -> IpnOutcome {
        let storage_key = ReplayKey::of(notification).storage_key();
        let Ok(notification_key) =
            NotificationKey::custom(format!("ipn:{}:{storage_key}", order_id.as_str()))
        else {
            // 4 + 24 + 1 + 64 bytes: always within the store's 200.
            return IpnOutcome::refused(smartex_ipn::Error::Malformed(CoreError::MissingChecksum));
        };
        let received = self.inner.now();
        // The signed amounts travel with the change, exactly as received.
        let signed = notification.signed_fields();
        let amounts = smartex_core::amounts::Amounts {
            in_amount: Some(signed.in_amount.to_owned()),
            out_amount: Some(signed.out_amount.to_owned()),
            from: Some(signed.xml_from.to_owned()),
            to: Some(signed.xml_to.to_owned()),
        };
        let observation = Observation::ipn(notification.event(), notification_key, received)
            .with_amounts(amounts);
        match self.inner.store.apply(key, observation).await {
            Ok(ApplyOutcome::Decided {
                decision, order, ..
            }) => {
                let answer = Answer::for_decision(&decision);
                let handled = match decision {
                    Decision::Apply => Handled::Applied {
                        reference: order.reference,
                        status: notification.status().clone(),
                    },
                    Decision::Duplicate => Handled::Duplicate,
                    Decision::Stale => Handled::Stale,
                    Decision::Superseded => Handled::Superseded {
                        reference: order.reference,
                        status: notification.status().clone(),
                    },
                    Decision::Unexpected { reason } => Handled::Unexpected { reason },
                };
                IpnOutcome::new(answer, handled)
            }
            // A resend is answered as its first delivery was decided: still
            // stale (statuses only move forward), still held for review if it
            // was unexpected; a repeat of an applied one is a duplicate.
            Ok(ApplyOutcome::Repeat { decision, .. }) => IpnOutcome::new(
                match decision {
                    DecisionKind::Stale => Answer::STALE,
                    DecisionKind::Superseded => Answer::SUPERSEDED,
                    DecisionKind::Unexpected => Answer::HELD,
                    DecisionKind::Apply | DecisionKind::Duplicate => Answer::DUPLICATE,
                    // A person's decision is a row without a notification
                    // key, never a repeat's first decision; answered as
                    // what it did (applied, or ignored).
                    DecisionKind::Accepted => Answer::DUPLICATE,
                    DecisionKind::Dismissed => Answer::STALE,
                },
                Handled::Repeat,
            ),
            Err(smartex_store::Error::NotFound) => {
                IpnOutcome::refused(smartex_ipn::Error::UnknownOrder)
            }
            Err(e) => IpnOutcome::store_failed(e),
        }
    }
}

fn bind_failure(e: smartex_store::Error) -> IpnOutcome {
    match e {
        smartex_store::Error::Conflict { .. } | smartex_store::Error::OrderIdTaken => {
            IpnOutcome::new(CONFLICT, Handled::Conflict(e))
        }
        other => IpnOutcome::store_failed(other),
    }
}
