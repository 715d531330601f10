//! `smartex url payment | order`: pure, no network.

use smartex_core::pages::Site;

use crate::cli::UrlArgs;
use crate::exit::{Error, Exit};
use crate::term::Printer;

/// Which page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Page {
    Payment,
    Order,
}

/// `smartex url payment` / `smartex url order`.
pub(crate) fn run(page: Page, args: &UrlArgs, p: &Printer<'_>) -> Result<Exit, Error> {
    let site = Site::new(&args.site).map_err(|e| Error::usage(format!("--site: {e}")))?;
    let (uid, secret) = super::order::order_ref(&args.order)?;
    let url = match page {
        Page::Payment => site.payment_page(args.lang, uid, &secret),
        Page::Order => site.order_page(args.lang, uid, &secret),
    };
    p.line(url);
    Ok(Exit::Ok)
}
