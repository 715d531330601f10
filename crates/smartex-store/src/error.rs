//! The store's one error type.

/// The result type of every store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the store. Messages name fields, never values: no
/// secret, and no merchant input, is ever part of an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database refused or failed an operation (connection, I/O, SQL).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The shipped migrations could not be applied on open.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An order with this merchant reference already exists.
    #[error("an order with this merchant reference already exists")]
    ReferenceTaken,
    /// Another order is already bound to this platform `orderId`.
    #[error("another order is already bound to this orderId")]
    OrderIdTaken,
    /// No order matches the reference or orderId given.
    #[error("no such order")]
    NotFound,
    /// The order already holds a different value for `field` (binding a
    /// different `orderId`, `uid` or order secret to a reference).
    #[error("the order already has a different {field}")]
    Conflict {
        /// The field that differs.
        field: &'static str,
    },
    /// An argument cannot be stored (out of range, empty).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument.
        field: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A stored value cannot be read back (the database was edited by hand, or
    /// by a newer version).
    #[error("stored {field} is unreadable: {reason}")]
    Corrupt {
        /// The column.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A sealed secret cannot be opened: no key with its id is configured, or
    /// the key is wrong, or the ciphertext was altered.
    #[error("sealed {field} cannot be opened: {reason}")]
    Unseal {
        /// The column.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The compare-and-set lost to other writers this many times in a row.
    #[error("gave up after {attempts} version conflicts on one order")]
    Contention {
        /// How many times the read-decide-write loop ran.
        attempts: u32,
    },
    /// A turn of an API key's nonces was asked for in another unit than the
    /// key's last nonce is stored in ([`crate::NonceLedger::take_turn`]):
    /// once the platform has seen one unit, the other would go back (or jump
    /// ahead a thousandfold).
    #[error(
        "the key's last nonce is stored in {stored} but the key is configured for {configured}: \
         configure the unit it was used with, or use another API key"
    )]
    NonceUnitMismatch {
        /// The unit of the stored last nonce.
        stored: smartex_core::auth::NonceUnit,
        /// The unit asked for.
        configured: smartex_core::auth::NonceUnit,
    },
    /// The event to accept or dismiss is not a change held for review: no
    /// event has this id, or the tracker did not hold it (only changes
    /// decided [`DecisionKind::Unexpected`](crate::DecisionKind::Unexpected)
    /// are held).
    #[error("not a change held for review: {reason}")]
    NotHeld {
        /// Which of the two.
        reason: &'static str,
    },
    /// The held change was already accepted or dismissed: each is resolved
    /// once, and the first decision stands.
    #[error("this held change was already {decision} (event {resolution_event_id})")]
    AlreadyResolved {
        /// The row of the first resolution in the event log.
        resolution_event_id: i64,
        /// [`Accepted`](crate::DecisionKind::Accepted) or
        /// [`Dismissed`](crate::DecisionKind::Dismissed).
        decision: crate::DecisionKind,
        /// Who decided (free text, as they gave it: escape it before
        /// printing; left out of this message for that reason).
        decided_by: String,
    },
    /// Accepting the held change is refused: the order has learned something
    /// newer since it was held (see
    /// [`accept_held`](smartex_core::status::accept_held)). Look at the
    /// order again; dismiss the change if it no longer applies.
    #[error("the held change cannot be accepted: {0}")]
    StaleHeld(smartex_core::status::StaleHeld),
    /// The store URL names no backend this build supports.
    #[error("unsupported store URL: {reason}")]
    UnsupportedUrl {
        /// Why (unknown scheme, or the `postgres` feature is off).
        reason: &'static str,
    },
}

impl Error {
    /// Whether the database reported a unique-key violation.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}
