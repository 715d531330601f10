//! Responses: the `{success, data | error, requestId, latency_ms}` envelope and
//! the typed `data` of each method.
//!
//! The platform is not consistent about numbers (`"uid": 1409` in one place,
//! `"1409"` in another), so typed fields accept both, and every type keeps the
//! fields it does not know in `extra`.
//!
//! ```
//! use smartex_core::response::{decode, CreatedOrder};
//! let body = br#"{"success":true,"requestId":"1742774343407-ATmqdjI","latency_ms":50,
//!   "data":{"_id":"5d8e6002b80b7b4cd75a6424","uid":"1409","secret":"dGqwF2M2eBPaSN1G5ljMS1cb",
//!           "inAmount":2,"outAmount":"317.42","status":"new","somethingNew":1}}"#;
//! let response = decode::<CreatedOrder>(body)?;
//! let order = response.result?;
//! assert_eq!(order.uid.get(), 1409);
//! assert_eq!(order.extra["somethingNew"], 1);
//! assert_eq!(response.request_id.as_deref(), Some("1742774343407-ATmqdjI"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod api_error;
mod envelope;
pub(crate) mod lenient;
mod members;
mod order;
mod route;
mod warning;

use alloc::collections::BTreeMap;
use alloc::string::String;

use serde_json::value::RawValue;

pub use api_error::{
    ApiError, ApiErrorKind, CODE_AMOUNT_ABOVE_MAXIMUM, CODE_AMOUNT_BELOW_MINIMUM, CODE_ANTI_FLOOD,
    CODE_MAINTENANCE, CODE_NOT_ENOUGH_RESERVE, CODE_NOT_ENOUGH_RESERVE_AS_SENT,
    CODE_ROUTE_UNAVAILABLE, CODE_UNAUTHORIZED, CODE_VALIDATION,
};
pub use envelope::{
    EXCERPT_LEN, OrderIdentity, Response, WITHHELD, decode, excerpt, salvage_order_identity,
};
pub use order::{CreatedOrder, Order, OrderView, StatusUpdate};
pub use route::{Route, RouteField, RouteSide, RouteView, Routes};
pub use warning::Warning;

/// An object's members as raw JSON text (the last of duplicate keys wins, as
/// in JavaScript).
type RawObject<'a> = BTreeMap<String, &'a RawValue>;
