//! [`CreateReply`]: the answer to `order/create` — the created order, the
//! call's request id, and the order's page URLs.

use smartex_core::pages::Site;
use smartex_core::response::CreatedOrder;
use smartex_core::{Lang, ObjectId, OrderSecret, OrderUid};

/// The result of [`Client::create_order`](crate::Client::create_order): the
/// platform's [`CreatedOrder`] (reachable through `Deref`), the call's request
/// id, and the order's page URLs. (Not `CreatedOrder`: that is the core's
/// name for the order's data alone.)
///
/// Store [`uid`](Self::uid) and [`secret`](Self::secret) with the merchant's
/// order: they open the order's pages, identify its IPNs and let
/// [`watch_order`](crate::Client::watch_order) reconcile it.
#[derive(Clone, Debug)]
pub struct CreateReply {
    order: CreatedOrder,
    request_id: Option<String>,
    site: Site,
    lang: Lang,
}

impl CreateReply {
    pub(crate) fn new(
        order: CreatedOrder,
        request_id: Option<String>,
        site: Site,
        lang: Lang,
    ) -> Self {
        Self {
            order,
            request_id,
            site,
            lang,
        }
    }

    /// The order's public number.
    pub fn uid(&self) -> OrderUid {
        self.order.uid
    }

    /// The order's secret. Keep it; never log it.
    pub fn secret(&self) -> &OrderSecret {
        &self.order.secret
    }

    /// The order's `_id` (the `orderId` of its IPNs).
    pub fn id(&self) -> ObjectId {
        self.order.id
    }

    /// The `requestId` of the call that created it.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The payment page, in the client's language: send the customer there.
    /// The URL carries the order secret: do not log it.
    pub fn payment_page(&self) -> String {
        self.site
            .payment_page(self.lang, self.order.uid, &self.order.secret)
    }

    /// The payment page in another language.
    pub fn payment_page_in(&self, lang: Lang) -> String {
        self.site
            .payment_page(lang, self.order.uid, &self.order.secret)
    }

    /// The order page (status and details), in the client's language.
    pub fn order_page(&self) -> String {
        self.site
            .order_page(self.lang, self.order.uid, &self.order.secret)
    }

    /// The order page in another language.
    pub fn order_page_in(&self, lang: Lang) -> String {
        self.site
            .order_page(lang, self.order.uid, &self.order.secret)
    }

    /// The platform's data.
    pub fn order(&self) -> &CreatedOrder {
        &self.order
    }

    /// The platform's data, owned.
    pub fn into_order(self) -> CreatedOrder {
        self.order
    }
}

impl std::ops::Deref for CreateReply {
    type Target = CreatedOrder;
    fn deref(&self) -> &CreatedOrder {
        &self.order
    }
}
