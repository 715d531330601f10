//! The facade's error type.

use smartex_core::derived::Reference;
use smartex_http::CreateReply;

/// What went wrong in a [`Merchant`](crate::Merchant) call.
///
/// No variant holds a secret: the order secret and the derived IPN secret
/// never appear in a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration or an argument is invalid (a master key too short, an
    /// `ipnUrl` without room for a reference, an order the core refuses); the
    /// core error names the field. Nothing was recorded or sent.
    #[error("invalid: {0}")]
    Invalid(#[from] smartex_core::Error),
    /// The API client could not be built (a bad site URL, no TLS provider).
    #[error("client: {0}")]
    Client(#[source] smartex_http::Error),
    /// The operating system gave no random bytes (for an instance's
    /// default name): nothing was built.
    #[error("{0}")]
    RandomUnavailable(#[from] smartex_core::secret::RandomUnavailable),
    /// An order with this reference is already recorded: references identify
    /// orders (they key the derived secret), so a second checkout with the
    /// same one is refused — after an ambiguous failure, the first may exist.
    #[error("an order with reference `{0}` is already recorded")]
    ReferenceTaken(Reference),
    /// The store failed; for `checkout`, before anything was sent.
    #[error("store: {0}")]
    Store(#[source] smartex_store::Error),
    /// The platform refused the order, or the request provably never reached
    /// it (no connection, refused before sending, maintenance): no order
    /// exists. The pending record stays without a uid and the reconciler
    /// gives it up at its pending horizon. Check out again under a new
    /// reference (the old one stays taken).
    #[error("order not created: {0}")]
    NotCreated(#[source] smartex_http::Error),
    /// `order/create` failed after the request may have reached the platform
    /// (a timeout, a broken connection, a 5xx): the order **may exist**. Its
    /// pending record stays; the order's first IPN (its reference is in the
    /// `ipnUrl`) binds it, else the reconciler gives it up after its horizon.
    /// Do not check out the same purchase again under a new reference before
    /// then.
    #[error("order `{reference}` may or may not have been created: {source}")]
    Ambiguous {
        /// The order's reference.
        reference: Reference,
        /// The client's error.
        #[source]
        source: smartex_http::Error,
    },
    /// The runtime shut down while `order/create` was in flight: the order
    /// **may exist**, as after [`Ambiguous`](Self::Ambiguous) (its first IPN
    /// binds the pending record).
    #[error("order `{reference}` may or may not have been created: the runtime shut down during the call")]
    Interrupted {
        /// The order's reference.
        reference: Reference,
    },
    /// The order was created but its record could not be completed (the store
    /// failed after the call). The order exists and is returned: send the
    /// customer to pay. Its pending record is bound by its first IPN, as after
    /// an ambiguous create.
    #[error("order `{reference}` created but not recorded: {source}")]
    CreatedNotRecorded {
        /// The order's reference.
        reference: Reference,
        /// The created order (its page URLs).
        order: Box<CreateReply>,
        /// The store's error.
        #[source]
        source: smartex_store::Error,
    },
}

impl From<smartex_store::Error> for Error {
    fn from(e: smartex_store::Error) -> Self {
        Error::Store(e)
    }
}
