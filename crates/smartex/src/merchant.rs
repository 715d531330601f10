//! `Merchant`: the store, the API client and the IPN receiver, tied together.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use smartex_core::derived::{IpnUrlTemplate, MasterKey, MasterKeys, Reference};
use smartex_core::request::CreateOrderBuilder;
use smartex_core::time::{Clock, UnixMillis};
use smartex_core::{ObjectId, OrderSecret, OrderUid};
use smartex_http::{ApiKeyAuth, Client, ClientBuilder, ErrorKind, CreateReply, Transport};
use smartex_ipn::{Config, Receiver};
use smartex_store::{IpnSecretSource, OrderBinding, OrderStore, PendingOrder};

use crate::error::Error;
use crate::options::{OutboxOptions, ReconcileOptions};


pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) struct Inner<S, T> {
    pub(crate) store: S,
    pub(crate) client: Client<T>,
    pub(crate) keys: MasterKeys,
    pub(crate) template: IpnUrlTemplate,
    pub(crate) receiver: Receiver,
    pub(crate) reconcile: ReconcileOptions,
    pub(crate) outbox: OutboxOptions,
    pub(crate) instance: String,
    /// How long an IPN's answer waits for the store ([`MerchantBuilder::ipn_store_deadline`]).
    pub(crate) ipn_store_deadline: std::time::Duration,
    /// What the background work met ([`Merchant::failures`]).
    pub(crate) failures: crate::failures::Failures,
}

/// How long an IPN's answer waits for the store by default: 8 s, below the
/// ~10 s after which a sender's HTTP client gives up on the request.
pub const DEFAULT_IPN_STORE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);

impl<S, T: Transport> Inner<S, T> {
    /// Now, on the merchant's one clock ([`MerchantBuilder::clock`]), which
    /// is also the client's.
    pub(crate) fn now(&self) -> UnixMillis {
        self.client.clock().now()
    }
}

/// A merchant's whole payment flow, durable: checkout, IPN handling,
/// reconciliation and the outbox, over one [`OrderStore`].
///
/// Cheap to clone (one `Arc`); build it once at start-up and share it between
/// request handlers and background tasks. See the [crate docs](crate) for
/// the flow and an axum handler.
pub struct Merchant<S, T = smartex_http::ReqwestTransport> {
    pub(crate) inner: Arc<Inner<S, T>>,
}

impl<S, T> Clone for Merchant<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, T> std::fmt::Debug for Merchant<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("ipn_url", &self.inner.template.base())
            .field("current_key", &self.inner.keys.current().id())
            .field("instance", &self.inner.instance)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Merchant`]: [`Merchant::builder`].
pub struct MerchantBuilder<S> {
    site: String,
    store: S,
    keys: MasterKeys,
    ipn_url: Option<String>,
    param: Cow<'static, str>,
    client: ClientBuilder,
    receiver: Config,
    reconcile: ReconcileOptions,
    outbox: OutboxOptions,
    instance: Option<String>,
    ipn_store_deadline: std::time::Duration,
    allow_plain_http: bool,
}

impl<S> std::fmt::Debug for MerchantBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantBuilder")
            .field("site", &self.site)
            .field("ipn_url", &self.ipn_url)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl<S: OrderStore> MerchantBuilder<S> {
    /// Uses `key` as a previous master key: still accepted for the IPNs of
    /// orders created under it, never used for new ones (rotation).
    #[must_use]
    pub fn previous_key(mut self, key: MasterKey) -> Self {
        self.keys = self.keys.with_previous(key);
        self
    }

    /// The merchant's IPN endpoint (required), e.g.
    /// `https://shop.example/ipn`: each order's `ipnUrl` is this with the
    /// order's reference appended as a query parameter.
    #[must_use]
    pub fn ipn_url(mut self, base: impl Into<String>) -> Self {
        self.ipn_url = Some(base.into());
        self
    }

    /// The query parameter that carries the reference (default `ref`).
    #[must_use]
    pub fn reference_param(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.param = name.into();
        self
    }

    /// Signs API calls with this key (optional: without one, orders do not
    /// show in the merchant's cabinet).
    #[must_use]
    pub fn api_key(mut self, auth: ApiKeyAuth) -> Self {
        self.client = self.client.api_key(auth);
        self
    }

    /// Signs API calls with this key, its send lane and last nonce shared
    /// through `nonces` — a [`StoreNonces`](crate::StoreNonces) on
    /// the merchant's database, so that several instances can use one key
    /// without a call refused for its nonce, and a restart never reuses one.
    /// (The simpler alternative: one API key per instance, with
    /// [`api_key`](Self::api_key).)
    #[must_use]
    pub fn api_key_shared(
        self,
        auth: ApiKeyAuth,
        nonces: std::sync::Arc<dyn smartex_http::NonceSource>,
    ) -> Self {
        self.api_key(auth.nonce_source(nonces))
    }

    /// Where "now" comes from (default: the system clock), for everything
    /// the merchant times: a checkout's record and first poll, the IPN
    /// timestamp window, the reconciler's leases, poll windows and backoff,
    /// the outbox's leases and retries, and the API client's `time` nonces
    /// (it is the client's clock, [`ClientBuilder::clock`]). A test passes a
    /// [`ManualClock`](smartex_core::time::ManualClock) and moves it instead
    /// of sleeping. The waits between scans (`scan_every`, `idle_wait`) and
    /// the client's timeouts are tokio's timers.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.client = self.client.clock(clock);
        self
    }

    /// Adjusts the API client (language, timeout, API root, …).
    #[must_use]
    pub fn client(mut self, adjust: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Self {
        self.client = adjust(self.client);
        self
    }

    /// The receiver's configuration (checksum location, content types,
    /// timestamp window). Its replay guard is not used: the store recognises
    /// repeats, across instances and restarts.
    #[must_use]
    pub fn receiver_config(mut self, config: Config) -> Self {
        self.receiver = config;
        self
    }

    /// The reconciler's tunables.
    #[must_use]
    pub fn reconcile(mut self, options: ReconcileOptions) -> Self {
        self.reconcile = options;
        self
    }

    /// The outbox's tunables.
    #[must_use]
    pub fn outbox(mut self, options: OutboxOptions) -> Self {
        self.outbox = options;
        self
    }

    /// Allows plain `http://` for the site, the API root and the `ipnUrl`
    /// where the host is not a loopback one (default: refused by
    /// [`build`](Self::build)). The `ipnUrl` is where the platform posts
    /// signed notifications and `order/create` carries the order's IPN
    /// secret: over plain HTTP anyone on the path reads both. For a
    /// deliberate test set-up only; `127.0.0.1` needs no opt-in.
    #[must_use]
    pub fn danger_allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self.client = self.client.danger_allow_plain_http(allow);
        self
    }

    /// How long the answer to a verified IPN waits for the store (default
    /// [`DEFAULT_IPN_STORE_DEADLINE`], 8 s). The store work runs in a task of
    /// its own and always runs to its end — a sender that disconnects (a web
    /// framework drops the handler's future) loses nothing; past the
    /// deadline the answer is a truthful 500 ([`INTERNAL_ERROR`](crate::INTERNAL_ERROR))
    /// while the change is still applied, before the sender's own timeout
    /// turns it into silence.
    #[must_use]
    pub fn ipn_store_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.ipn_store_deadline = deadline;
        self
    }

    /// A name for this instance, shown on the leases it holds (default: the
    /// process id and a random suffix). Two instances must not share one.
    #[must_use]
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    /// Builds with the default transport (reqwest + rustls).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a missing or unusable `ipnUrl`;
    /// [`Error::Client`] if the client cannot be built;
    /// [`Error::RandomUnavailable`] if no [`instance`](Self::instance) name
    /// was given and the operating system has no random bytes for one.
    pub fn build(self) -> Result<Merchant<S>, Error> {
        let client = self.client.clone().build().map_err(Error::Client)?;
        self.finish(client)
    }

    /// Builds over `transport`.
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_with<T: Transport>(self, transport: T) -> Result<Merchant<S, T>, Error> {
        let client = self
            .client
            .clone()
            .build_with(transport)
            .map_err(Error::Client)?;
        self.finish(client)
    }

    fn finish<T>(self, client: Client<T>) -> Result<Merchant<S, T>, Error> {
        let base = self.ipn_url.ok_or(smartex_core::Error::MissingField {
            field: Cow::Borrowed("ipnUrl"),
        })?;
        if !self.allow_plain_http {
            smartex_core::pages::check_secure("ipnUrl", &base)?;
        }
        let template = IpnUrlTemplate::with_param(base, self.param)?;
        let instance = match self.instance {
            Some(name) => name,
            None => format!("pid{}-{:08x}", std::process::id(), random_u32()?),
        };
        Ok(Merchant {
            inner: Arc::new(Inner {
                store: self.store,
                client,
                keys: self.keys,
                template,
                receiver: Receiver::with_config(self.receiver).without_replay_guard(),
                reconcile: self.reconcile,
                outbox: self.outbox,
                instance,
                ipn_store_deadline: self.ipn_store_deadline,
                failures: crate::failures::Failures::default(),
            }),
        })
    }
}

/// A random suffix for an instance's default name, from the operating system
/// (`getrandom`, the workspace's one source of randomness): two instances
/// with the same pid on two hosts must not share their leases' owner.
fn random_u32() -> Result<u32, Error> {
    let mut bytes = [0u8; 4];
    getrandom::getrandom(&mut bytes).map_err(|_| smartex_core::secret::RandomUnavailable)?;
    Ok(u32::from_le_bytes(bytes))
}

/// A created and recorded order: where to send the customer.
#[derive(Clone, Debug)]
pub struct Checkout {
    /// The merchant's reference.
    pub reference: Reference,
    /// The platform's answer to `order/create`: the created order and its
    /// pages.
    pub order: CreateReply,
}

impl Checkout {
    /// The order's public number.
    pub fn uid(&self) -> OrderUid {
        self.order.uid()
    }

    /// The platform's `orderId`.
    pub fn order_id(&self) -> ObjectId {
        self.order.id()
    }

    /// The order's secret (opens its pages; never log it).
    pub fn secret(&self) -> &OrderSecret {
        self.order.secret()
    }

    /// The payment page to send the customer to.
    pub fn payment_page(&self) -> String {
        self.order.payment_page()
    }
}

/// Whether a failed `order/create` proves that no order exists: it was
/// refused before sending (a wait for the API key's turn that ran out
/// included), never connected, or the platform answered with its refusal or
/// maintenance. Anything else may have created it.
fn proves_not_created(error: &smartex_http::Error) -> bool {
    error.nothing_sent()
        || matches!(
            error.kind(),
            ErrorKind::Invalid
                | ErrorKind::Auth
                | ErrorKind::Connect
                | ErrorKind::Api
                | ErrorKind::Maintenance
        )
}

impl<S: OrderStore> Merchant<S> {
    /// Starts building a merchant for `site` (e.g. `https://www.smartexpay.com`)
    /// over `store`, deriving each order's IPN secret from `master_key`.
    pub fn builder(site: &str, store: S, master_key: MasterKey) -> MerchantBuilder<S> {
        MerchantBuilder {
            site: site.to_owned(),
            store,
            keys: MasterKeys::new(master_key),
            ipn_url: None,
            param: Cow::Borrowed(smartex_core::derived::DEFAULT_REFERENCE_PARAM),
            client: ClientBuilder::new(site),
            receiver: Config::default(),
            reconcile: ReconcileOptions::default(),
            outbox: OutboxOptions::default(),
            instance: None,
            ipn_store_deadline: DEFAULT_IPN_STORE_DEADLINE,
            allow_plain_http: false,
        }
    }
}

impl<S: OrderStore, T: Transport> Merchant<S, T> {
    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The API client.
    pub fn client(&self) -> &Client<T> {
        &self.inner.client
    }

    /// The master keys.
    pub fn keys(&self) -> &MasterKeys {
        &self.inner.keys
    }

    /// This instance's name (on the leases it holds).
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// The `ipnUrl` an order with `reference` is created with.
    ///
    /// # Errors
    /// [`Error::Invalid`] if it would exceed 200 characters.
    pub fn ipn_url_for(&self, reference: &Reference) -> Result<String, Error> {
        Ok(self.inner.template.url_for(reference)?)
    }

    /// Creates an order under the merchant's `reference`, durably:
    ///
    /// 1. the order is built with its `ipnUrl` (the reference in its query)
    ///    and its derived `ipnSecret` — any set on `order` are replaced;
    /// 2. a pending record (reference, key id) is stored **before** the call,
    ///    so that no order can exist on the platform without one here;
    /// 3. `order/create` is called (never retried);
    /// 4. the record is completed with the `uid`, `orderId` and secret.
    ///
    /// An IPN that arrives between 3 and 4 is verified all the same (its
    /// secret is derived from the reference) and binds the order itself.
    ///
    /// # Errors
    /// - [`Error::Invalid`]: the order is invalid or the `ipnUrl` too long;
    ///   nothing recorded, nothing sent.
    /// - [`Error::ReferenceTaken`]: the reference is already recorded.
    /// - [`Error::Store`]: the store failed before the call; nothing sent.
    /// - [`Error::NotCreated`]: no order exists; the record stays without a
    ///   uid and is given up at the pending horizon.
    /// - [`Error::Ambiguous`]: the order may exist; the record stays pending
    ///   until its first IPN binds it, or the reconciler gives it up.
    /// - [`Error::CreatedNotRecorded`]: the order exists (returned in the
    ///   error) but the store failed to complete its record.
    /// - [`Error::Interrupted`]: the runtime shut down during the call; as
    ///   ambiguous.
    ///
    /// Once the request is under way it runs to its end in a task of its own:
    /// dropping the returned future (a client that disconnects) does not lose
    /// a created order's uid and secret.
    pub async fn checkout(
        &self,
        reference: &Reference,
        order: CreateOrderBuilder,
    ) -> Result<Checkout, Error>
    where
        S: 'static,
        T: 'static,
    {
        let inner = &self.inner;
        let key = inner.keys.current();
        let ipn_url = inner.template.url_for(reference)?;
        let secret = key.ipn_secret(reference);
        let order = order.ipn_url(ipn_url).ipn_secret(secret.expose()).build()?;

        let now = inner.now();
        let pending = PendingOrder {
            reference: reference.clone(),
            ipn_secret: IpnSecretSource::Derived {
                key_id: key.id().to_owned(),
            },
            created_at: now,
            // Due for the reconciler after `first_poll`: by then the record
            // is normally complete and can be polled; a record left pending
            // by an ambiguous create waits there for its first IPN.
            first_poll_at: Some(now.plus_ms(ms(inner.reconcile.first_poll))),
            // What every change's amounts are compared with until the
            // platform's own answer is stored.
            asked_amount: Some(order.amount().as_str().to_owned()),
        };
        match inner.store.insert_order(pending).await {
            Ok(_) => {}
            Err(smartex_store::Error::ReferenceTaken) => {
                return Err(Error::ReferenceTaken(reference.clone()));
            }
            Err(e) => return Err(Error::Store(e)),
        }

        // Created and bound in a task of its own: a caller dropped mid-call
        // (a web framework drops the handler when its client disconnects)
        // must not lose the created order's uid and secret between the
        // answer and the store.
        let merchant = self.clone();
        let owned = reference.clone();
        let task = tokio::spawn(async move { merchant.create_and_bind(&owned, order).await });
        match task.await {
            Ok(outcome) => outcome,
            // A panic in the task is the caller's, as if it had happened here.
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(_cancelled) => Err(Error::Interrupted {
                reference: reference.clone(),
            }),
        }
    }

    /// `order/create`, then the record bound to the created order.
    async fn create_and_bind(
        &self,
        reference: &Reference,
        order: smartex_core::request::CreateOrder,
    ) -> Result<Checkout, Error> {
        let inner = &self.inner;
        let created = match inner.client.create_order(&order).await {
            Ok(created) => created,
            Err(e) if proves_not_created(&e) => {
                // The record stays without uid: the reconciler gives it up at
                // the pending horizon (the store has no "failed" mark).
                return Err(Error::NotCreated(e));
            }
            Err(e) => {
                return Err(Error::Ambiguous {
                    reference: reference.clone(),
                    source: e,
                });
            }
        };
        let binding = OrderBinding {
            order_id: Some(created.id()),
            uid: Some(created.uid()),
            order_secret: Some(created.secret().clone()),
            // The platform's quote: what the changes' signed amounts are
            // compared with (the business step sees the difference).
            expected: Some(smartex_core::amounts::Amounts {
                in_amount: created.in_amount.as_ref().map(|a| a.as_str().to_owned()),
                out_amount: created.out_amount.as_ref().map(|a| a.as_str().to_owned()),
                from: None,
                to: None,
            }),
        };
        match inner.store.bind_order(reference, binding, inner.now()).await {
            Ok(_) => Ok(Checkout {
                reference: reference.clone(),
                order: created,
            }),
            Err(source) => Err(Error::CreatedNotRecorded {
                reference: reference.clone(),
                order: Box::new(created),
                source,
            }),
        }
    }
}
