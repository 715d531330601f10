//! The command line, as clap parses it. The doc comments here are the `--help`
//! texts.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use smartex_core::derived::Reference;
use smartex_core::{Amount, CurrencyCode, Lang, ObjectId, OrderUid};

use crate::demo::IpnStep;

/// A secret from an option or an environment variable: never shown by
/// `Debug`, and never echoed in a parse error (parsing cannot fail).
#[derive(Clone)]
pub(crate) struct Hidden(pub(crate) String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Hidden {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Hidden(s.to_owned()))
    }
}

fn object_id(s: &str) -> Result<ObjectId, String> {
    ObjectId::parse("id", s).map_err(|_| "must be 24 hexadecimal digits".to_owned())
}

fn order_uid(s: &str) -> Result<OrderUid, String> {
    OrderUid::parse("uid", s).map_err(|_| "must be a number of at most 11 digits".to_owned())
}

fn lang(s: &str) -> Result<Lang, String> {
    Lang::parse("lang", s).map_err(|_| "must be a language code of 1-3 letters".to_owned())
}

fn amount(s: &str) -> Result<Amount, String> {
    Amount::parse("amount", s)
        .map_err(|_| "must be a decimal number such as 2, 317.42 or -0.5".to_owned())
}

fn reference(s: &str) -> Result<Reference, String> {
    Reference::new(s).map_err(|_| "must be 1 to 64 of A-Z a-z 0-9 - _ . ~".to_owned())
}

fn currency(s: &str) -> Result<CurrencyCode, String> {
    CurrencyCode::parse("xml", s)
        .map_err(|_| "must be a currency code of 1-32 letters, digits, `_`, `-` or `.`".to_owned())
}

const ENV_HELP: &str = "\
Environment:
  SMARTEX_IPN_SECRET   the IPN secret (--secret, --ipn-secret)
  SMARTEX_API_KEY      the API key (--api-key)
  SMARTEX_API_SECRET   the API secret (--api-secret)
  SMARTEX_ORDER_SECRET an order's secret (--order-secret)
  SMARTEX_SITE         the site (--site)
  SMARTEX_SANDBOX_TOKEN the sandbox's admin token (--admin-token)
  SMARTEX_STORE        the merchant's store URL (--store; it may carry a password)
  NO_COLOR             no colour, even on a terminal
Secrets given as environment variables stay out of the shell history; they
are never printed.";

const SANDBOX_AFTER_HELP: &str = "\
Admin endpoint, under {site}/_sandbox (JSON bodies; with a token:
Authorization: Bearer TOKEN; details in the smartex-sandbox crate docs):
  GET    /_sandbox                      site, API root, routes, counts
  GET    /_sandbox/orders               every order (secrets left out)
  GET    /_sandbox/orders/{uid}         one order and its IPNs
  POST   /_sandbox/orders/{uid}/status  {\"status\":\"inProgress\"}: set a status, send its IPN
  POST   /_sandbox/orders/{uid}/advance the next happy-path status, likewise
  POST   /_sandbox/orders/{uid}/resend  {\"status\":\"waitPayment\"}: that IPN again (stale)
  GET    /_sandbox/ipns                 every IPN sent, with its outcome
  GET    /_sandbox/maintenance          maintenance mode; POST {\"enabled\":true} sets it
  POST   /_sandbox/faults               add a fault rule, e.g. {\"fault\":\"dropIpn\",\"uid\":1001};
                                        dropIpn, delayIpn (ms), duplicateIpn, stall (ms),
                                        errorPage / errorPageAfterProcessing (status),
                                        antiFlood (seconds), refuse (code); \"times\": N or
                                        \"always\"; \"uid\"/\"path\" narrow it
  DELETE /_sandbox/faults               remove every fault rule

Exit codes: 0 stopped by Ctrl-C, 2 usage error, 3 the address cannot be bound.";

const SECRET_ABOUT: &str = "\
Print a fresh random secret: 256 bits from the operating system as 64
lowercase hex digits (0-9a-f: within the platform's 200 characters, unchanged
by any form or URL encoding). Use it as an ipnSecret you store, or as a master
key (smartex::MasterKey::from_hex) from which the SDK derives per-order IPN
secrets. Printed to stdout only; keep it out of logs and the shell history.";

fn top_after_help() -> String {
    format!(
        "{}\n\n{ENV_HELP}\n\nStart with `smartex demo`.",
        crate::exit::EXIT_CODES
    )
}

/// smartex: a local exchange sandbox, the whole payment flow in one command,
/// and tools to sign, send, receive and verify IPNs.
#[derive(Debug, Parser)]
#[command(
    name = "smartex",
    version,
    after_help = top_after_help(),
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the whole payment flow on this machine, in about a second
    ///
    /// Starts a local exchange (the sandbox) and a merchant's IPN receiver on
    /// ephemeral 127.0.0.1 ports, creates an order with the real API client,
    /// prints its payment page, marks it paid, receives and verifies every
    /// IPN until the order is done, reconciles with order/get, and prints the
    /// timeline. The --*-ipn options inject the platform's failures: a lost
    /// IPN (recovered by reconciliation), a duplicate (answered 200, processed
    /// once), a late one (ignored as stale). Then the durable flow: the
    /// smartex facade over a temporary SQLite file goes down while the
    /// exchange finishes a second order, restarts, and recovers the lost IPNs'
    /// status from its store. No real money moves and nothing leaves this
    /// machine.
    #[command(after_help = "Exit codes: 0 every check passed, 1 a check failed, \
        2 usage error, 3 the sandbox or receiver could not run.")]
    Demo(DemoArgs),

    /// Run a local exchange (the sandbox) until Ctrl-C
    ///
    /// Serves the platform's merchant API (order/create, order/get,
    /// order/update-status, route/get…) over HTTP, moves orders along their
    /// lifecycle on a schedule, and POSTs a signed IPN to each order's ipnUrl
    /// on every status change — once, no retry, loopback addresses only.
    /// Prints the site URL, the API root, the routes and test credentials.
    ///
    /// On an address that is not loopback it warns, and the admin endpoint
    /// requires a token (--admin-token, or a fresh one printed once at start).
    #[command(after_help = SANDBOX_AFTER_HELP)]
    Sandbox(SandboxArgs),

    /// Sign, send, receive and verify IPNs
    #[command(subcommand)]
    Ipn(IpnCommand),

    /// Create, read and mark paid orders on a site (or the sandbox)
    #[command(subcommand)]
    Order(OrderCommand),

    /// Print an order's payment or order page URL (no network)
    #[command(subcommand)]
    Url(UrlCommand),

    /// Print a fresh random secret (an ipnSecret or a master key)
    #[command(long_about = SECRET_ABOUT, after_help = "Exit codes: 0 ok, 3 no random source.")]
    Secret,

    /// List, accept or dismiss the changes held for review in a merchant's store
    ///
    /// A held change is a genuine notification (or poll) that the order's
    /// lifecycle does not expect — a final status changing, a move back: an
    /// operator's hand on the platform, most often. The merchant answered it
    /// 202 "held for review" and applied it to nothing; a person decides.
    #[command(subcommand)]
    Held(HeldCommand),
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Lose the IPN of this status (the platform never resends): the
    /// receiver never sees it, and reconciliation must recover
    #[arg(long, value_name = "STATUS")]
    pub(crate) lose_ipn: Option<IpnStep>,

    /// Deliver the IPN of this status twice: both answered 200, processed once
    #[arg(long, value_name = "STATUS")]
    pub(crate) duplicate_ipn: Option<IpnStep>,

    /// Hold the IPN of this status back for a second, so that it arrives after
    /// later ones: verified, and ignored as stale
    #[arg(long, value_name = "STATUS")]
    pub(crate) late_ipn: Option<IpnStep>,

    /// Give the merchant's endpoint another secret than the order's: every
    /// IPN is refused (401) and the demo fails, as a misconfigured endpoint would
    #[arg(long)]
    pub(crate) wrong_secret: bool,

    /// Pause between the steps of the flow, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub(crate) pace_ms: u64,

    /// How the sandbox spells IPN bodies, as a Node client would: qs (the
    /// platform's), qs-brackets, qs-allow-dots, qs-no-indices,
    /// url-search-params, querystring, or random (one per IPN)
    #[arg(long, value_name = "SPELLING", default_value = "qs", value_parser = parse_spelling)]
    pub(crate) ipn_spelling: smartex_sandbox::IpnSpelling,
}

fn parse_spelling(name: &str) -> Result<smartex_sandbox::IpnSpelling, String> {
    smartex_sandbox::IpnSpelling::parse(name).ok_or_else(|| {
        "expected qs, qs-brackets, qs-allow-dots, qs-no-indices, url-search-params, \
         querystring or random"
            .to_owned()
    })
}

#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// The address to listen on (port 0: an ephemeral port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8580")]
    pub(crate) listen: SocketAddr,

    /// Each automatic lifecycle step after this many milliseconds
    /// (new → waitPayment → [inProgress on automatic-payment routes] →
    /// inProgressPayout → done)
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub(crate) step_ms: u64,

    /// Nothing moves by itself: orders advance only on command (admin
    /// endpoint) or through order/update-status
    #[arg(long, conflicts_with = "step_ms")]
    pub(crate) manual: bool,

    /// Refuse API calls without an API key (default: accepted, as the
    /// platform accepts anonymous orders)
    #[arg(long)]
    pub(crate) require_api_key: bool,

    /// Reorder concurrent keyed calls: one time in two, a keyed call that
    /// arrives while another is being answered waits up to MS milliseconds
    /// before its nonce is checked, so later calls overtake it (nonces stay
    /// strict). Proves that a client sends each key's calls in order. 0: off
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub(crate) reorder_keyed_ms: u64,

    /// Require `Authorization: Bearer TOKEN` on the admin endpoint
    /// (/_sandbox/). Default: none on loopback; on any other address a fresh
    /// random token, printed once at start
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SMARTEX_SANDBOX_TOKEN",
        hide_env_values = true
    )]
    pub(crate) admin_token: Option<Hidden>,

    /// Print the start-up information as one JSON object
    #[arg(long)]
    pub(crate) json: bool,
}

/// The IPN secret.
#[derive(Debug, Args)]
pub(crate) struct SecretArg {
    /// The IPN secret (the order's ipnSecret). Prefer the environment
    /// variable: an option ends up in the shell history
    #[arg(
        long,
        value_name = "SECRET",
        env = "SMARTEX_IPN_SECRET",
        hide_env_values = true
    )]
    pub(crate) secret: Hidden,
}

/// The field that carries the checksum.
#[derive(Debug, Args)]
pub(crate) struct SignatureFieldArg {
    /// The body field that carries the checksum (the docs never name it)
    #[arg(long, value_name = "NAME", default_value = "hash")]
    pub(crate) signature_field: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum IpnCommand {
    /// Verify a raw IPN body read from stdin
    ///
    /// Reads the body exactly as the platform POSTed it
    /// (application/x-www-form-urlencoded) on standard input, checks its
    /// checksum with the secret, and prints the notification. A trailing
    /// newline (from echo or an editor) is ignored: a form body never ends
    /// with one.
    #[command(
        after_help = "Exit codes: 0 valid, 1 bad checksum (missing, malformed \
        or not matching), 2 malformed body or usage error."
    )]
    Verify(VerifyArgs),

    /// Print a signed IPN body, as the platform would send it
    ///
    /// Every field has a default (the docs' sample notification); the
    /// timestamp defaults to now. The body is printed without a trailing
    /// newline unless stdout is a terminal, so it can be piped as is:
    /// `smartex ipn sign | curl --data-binary @- …`.
    #[command(after_help = "Exit codes: 0 ok, 2 usage error (a field that does not parse).")]
    Sign(SignArgs),

    /// POST a signed test IPN to your own endpoint and show its answer
    ///
    /// Builds the body as `ipn sign` does and POSTs it to --to with
    /// Content-Type application/x-www-form-urlencoded, as the platform does.
    #[command(after_help = "Exit codes: 0 the endpoint answered 2xx, 1 it answered \
        another status, 2 usage error, 3 no answer (connection refused, timeout).")]
    Send(SendArgs),

    /// Print a fresh random IPN secret (the same as `smartex secret`)
    #[command(long_about = SECRET_ABOUT, after_help = "Exit codes: 0 ok, 3 no random source.")]
    Secret,

    /// Receive, verify and print IPNs; optionally forward them
    ///
    /// Serves an IPN endpoint: every request is parsed, verified with the
    /// secret (checksum, timestamp window, replay guard), decided by the
    /// status tracker (applied, duplicate, stale, unexpected) and answered as
    /// smartex-ipn answers. With --forward-to, each raw body is also POSTed,
    /// with its content type, to your app, and its answer is shown.
    #[command(
        after_help = "Exit codes: 0 stopped by Ctrl-C, or --count reached with \
        every IPN verified; 1 --count reached and some did not verify; 2 usage error; \
        3 the address cannot be bound."
    )]
    Listen(ListenArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) secret: SecretArg,

    #[command(flatten)]
    pub(crate) signature_field: SignatureFieldArg,

    /// Print the verified notification as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// The fields of a notification (defaults: the docs' sample).
#[derive(Debug, Args)]
pub(crate) struct IpnFields {
    /// orderId: the order's id
    #[arg(long, value_name = "ID", default_value = "5d8e6002b80b7b4cd75a6424", value_parser = object_id)]
    pub(crate) order_id: ObjectId,

    /// orderUID: the order's number
    #[arg(long, value_name = "UID", default_value = "104857", value_parser = order_uid)]
    pub(crate) order_uid: OrderUid,

    /// newStatus (new, waitPayment, inProgress, inProgressPayout, done, …)
    #[arg(long, value_name = "STATUS", default_value = "inProgress")]
    pub(crate) status: String,

    /// inAmount: the amount sent, exactly as it will be signed
    #[arg(long, value_name = "AMOUNT", default_value = "2", value_parser = amount)]
    pub(crate) in_amount: Amount,

    /// outAmount: the amount received, exactly as it will be signed
    #[arg(long, value_name = "AMOUNT", default_value = "317.42", value_parser = amount)]
    pub(crate) out_amount: Amount,

    /// xml_from: the code of the currency sent
    #[arg(long, value_name = "CODE", default_value = "ETH", value_parser = currency)]
    pub(crate) xml_from: CurrencyCode,

    /// xml_to: the code of the currency received
    #[arg(long, value_name = "CODE", default_value = "WMZ", value_parser = currency)]
    pub(crate) xml_to: CurrencyCode,

    /// timestamp in milliseconds since the Unix epoch [default: now]
    #[arg(long, value_name = "MS")]
    pub(crate) timestamp: Option<u64>,

    /// A toValues entry, KEY=NAME=VALUE (NAME may be empty: KEY==VALUE);
    /// repeat for more
    #[arg(long = "to-value", value_name = "KEY=NAME=VALUE")]
    pub(crate) to_values: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) secret: SecretArg,

    #[command(flatten)]
    pub(crate) fields: IpnFields,

    #[command(flatten)]
    pub(crate) signature_field: SignatureFieldArg,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Your IPN endpoint (http:// or https://)
    #[arg(long, value_name = "URL")]
    pub(crate) to: String,

    #[command(flatten)]
    pub(crate) secret: SecretArg,

    #[command(flatten)]
    pub(crate) fields: IpnFields,

    #[command(flatten)]
    pub(crate) signature_field: SignatureFieldArg,

    /// Give up after this many seconds without an answer
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub(crate) timeout_secs: u64,

    /// Print the answer as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    #[command(flatten)]
    pub(crate) secret: SecretArg,

    /// The address to listen on (port 0: an ephemeral port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8581")]
    pub(crate) listen: SocketAddr,

    /// Also POST every raw body, with its content type, to this URL (your app)
    #[arg(long, value_name = "URL")]
    pub(crate) forward_to: Option<String>,

    #[command(flatten)]
    pub(crate) signature_field: SignatureFieldArg,

    /// Accept any timestamp (default: from 24 hours old to 5 minutes ahead),
    /// e.g. to replay old captured bodies
    #[arg(long)]
    pub(crate) accept_any_timestamp: bool,

    /// Stop after this many requests
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<usize>,

    /// Print one JSON object per line (the first one: {"listening": URL})
    #[arg(long)]
    pub(crate) json: bool,
}

/// Which site, and how to call it.
#[derive(Debug, Args)]
pub(crate) struct SiteArgs {
    /// The site (https://www.smartexpay.com, or the sandbox's http://127.0.0.1:8580)
    #[arg(long, value_name = "URL", env = "SMARTEX_SITE", hide_env_values = true)]
    pub(crate) site: String,

    /// The API root, if not {site}/service/api/v1/
    #[arg(long, value_name = "URL")]
    pub(crate) api_root: Option<String>,

    /// The language of the Lang header and the page URLs
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = lang)]
    pub(crate) lang: Lang,

    /// The API key (optional: without one, orders do not show in the cabinet)
    #[arg(
        long,
        value_name = "KEY",
        env = "SMARTEX_API_KEY",
        hide_env_values = true
    )]
    pub(crate) api_key: Option<Hidden>,

    /// The API secret that goes with --api-key. Prefer the environment variable
    #[arg(
        long,
        value_name = "SECRET",
        env = "SMARTEX_API_SECRET",
        hide_env_values = true
    )]
    pub(crate) api_secret: Option<Hidden>,

    /// Give up on a call after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub(crate) timeout_secs: u64,
}

/// One order: its number and secret.
#[derive(Debug, Args)]
pub(crate) struct OrderRef {
    /// The order's number (uid)
    #[arg(long, value_name = "UID", value_parser = order_uid)]
    pub(crate) uid: OrderUid,

    /// The order's secret, as order/create returned it. Prefer the
    /// environment variable
    #[arg(
        long,
        value_name = "SECRET",
        env = "SMARTEX_ORDER_SECRET",
        hide_env_values = true
    )]
    pub(crate) order_secret: Hidden,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrderCommand {
    /// Create an exchange order (never retried automatically)
    ///
    /// Sends order/create with agreement=true (the customer accepted the
    /// rules). The route is --route, or looked up by --xml-from and --xml-to.
    /// Prints the order's number, secret and payment page: keep the secret,
    /// it opens the order.
    #[command(
        after_help = "Exit codes: 0 created, 2 usage error or a request refused \
        before sending, 3 network or platform unavailable, 4 the platform refused it, \
        5 ambiguous: the order may have been created — look for it before creating another."
    )]
    Create(Box<CreateArgs>),

    /// Read an order (order/get); --watch polls until its status is final
    #[command(
        after_help = "Exit codes: 0 ok, 1 --watch ended before a final status, \
        2 usage error, 3 network or platform unavailable, 4 the platform refused it \
        (e.g. not found)."
    )]
    Get(GetArgs),

    /// Mark a manual payment as paid (order/update-status waitPayment → inProgress)
    #[command(after_help = "Exit codes: 0 ok, 2 usage error, 3 network or platform \
        unavailable, 4 the platform refused it (e.g. the order is past waitPayment).")]
    MarkPaid(MarkPaidArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    pub(crate) site: SiteArgs,

    /// The route's id
    #[arg(long, value_name = "ID", value_parser = object_id, required_unless_present_all = ["xml_from", "xml_to"])]
    pub(crate) route: Option<ObjectId>,

    /// The code of the currency sent, to look the route up (with --xml-to)
    #[arg(long, value_name = "CODE", value_parser = currency, requires = "xml_to", conflicts_with = "route")]
    pub(crate) xml_from: Option<CurrencyCode>,

    /// The code of the currency received, to look the route up (with --xml-from)
    #[arg(long, value_name = "CODE", value_parser = currency, requires = "xml_from", conflicts_with = "route")]
    pub(crate) xml_to: Option<CurrencyCode>,

    /// The amount sent (negative: the amount received)
    #[arg(long, value_name = "AMOUNT", allow_negative_numbers = true)]
    pub(crate) amount: String,

    /// A fromValues entry, KEY=VALUE; repeat for more
    #[arg(long = "from-value", value_name = "KEY=VALUE")]
    pub(crate) from_values: Vec<String>,

    /// A toValues entry, KEY=VALUE (e.g. wallet=…); repeat for more
    #[arg(long = "to-value", value_name = "KEY=VALUE")]
    pub(crate) to_values: Vec<String>,

    /// A routeValues entry, KEY=VALUE; repeat for more
    #[arg(long = "route-value", value_name = "KEY=VALUE")]
    pub(crate) route_values: Vec<String>,

    /// Where the platform POSTs status changes (needs an IPN secret)
    #[arg(long, value_name = "URL", requires = "ipn_secret")]
    pub(crate) ipn_url: Option<String>,

    /// The secret that signs this order's IPNs. Prefer the environment variable
    #[arg(
        long,
        value_name = "SECRET",
        env = "SMARTEX_IPN_SECRET",
        hide_env_values = true
    )]
    pub(crate) ipn_secret: Option<Hidden>,

    /// Where the customer returns after paying (?status=success|error is appended)
    #[arg(long, value_name = "URL")]
    pub(crate) callback_url: Option<String>,

    /// The customer's e-mail
    #[arg(long, value_name = "EMAIL")]
    pub(crate) email: Option<String>,

    /// A partner (referral) code
    #[arg(long, value_name = "CODE")]
    pub(crate) partner: Option<String>,

    /// Print the created order as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// Which view of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ViewArg {
    /// The order page's view
    Order,
    /// The payment page's view
    Payment,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    pub(crate) site: SiteArgs,

    #[command(flatten)]
    pub(crate) order: OrderRef,

    /// Which view to ask for
    #[arg(long, value_enum, default_value_t = ViewArg::Order)]
    pub(crate) view: ViewArg,

    /// Poll until the status is final, printing each change (watch_order)
    #[arg(long)]
    pub(crate) watch: bool,

    /// With --watch: the first wait between polls, in milliseconds (it grows
    /// by half after each poll without a change, up to 24 times this)
    #[arg(long, value_name = "MS", default_value_t = 2000, requires = "watch")]
    pub(crate) poll_ms: u64,

    /// With --watch: give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 600, requires = "watch")]
    pub(crate) watch_secs: u64,

    /// Print the platform's data as JSON (with --watch: one line per change)
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MarkPaidArgs {
    #[command(flatten)]
    pub(crate) site: SiteArgs,

    #[command(flatten)]
    pub(crate) order: OrderRef,

    /// Print the platform's answer as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UrlCommand {
    /// The payment page: {site}/{lang}/payment/{uid}/{secret}
    #[command(after_help = "Exit codes: 0 ok, 2 usage error.")]
    Payment(UrlArgs),

    /// The order page: {site}/{lang}/order/{uid}/{secret}
    #[command(after_help = "Exit codes: 0 ok, 2 usage error.")]
    Order(UrlArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UrlArgs {
    /// The site (https://www.smartexpay.com)
    #[arg(long, value_name = "URL", env = "SMARTEX_SITE", hide_env_values = true)]
    pub(crate) site: String,

    /// The customer's language
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = lang)]
    pub(crate) lang: Lang,

    #[command(flatten)]
    pub(crate) order: OrderRef,
}

/// The merchant's store.
#[derive(Debug, Args)]
pub(crate) struct StoreArg {
    /// The merchant's store, as its instances open it: sqlite:PATH (an
    /// existing file) or postgres://USER@HOST/DB. Opening it runs the store's
    /// migrations, as an instance does. Prefer the environment variable: a
    /// PostgreSQL URL may carry a password
    #[arg(
        long,
        value_name = "URL",
        env = "SMARTEX_STORE",
        hide_env_values = true
    )]
    pub(crate) store: Hidden,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HeldCommand {
    /// List the changes held for review, oldest first
    ///
    /// Each is shown with its event id (to accept or dismiss it), the order's
    /// reference, the order's current status and the held one, why it was
    /// held, its signed time, when it arrived and its amounts, and — when the
    /// order has learned something newer since — why accepting it would be
    /// refused. Text from the store is printed escaped.
    #[command(
        after_help = "Exit codes: 0 ok (also when nothing is held), 2 usage error, \
        3 the store is unavailable."
    )]
    List(HeldListArgs),

    /// Accept a held change: it becomes the order's current status
    ///
    /// The person's decision overrides the lifecycle, never time: the held
    /// status becomes the order's current status, and the merchant's business
    /// step gets it from the outbox like any applied change, marked with who
    /// decided. The decision is a row of its own in the order's event log,
    /// with --by and the time. Refused when the order has learned something
    /// newer since the change was held (look at the order again, and dismiss
    /// the change if it no longer applies), and when the change was already
    /// accepted or dismissed.
    #[command(after_help = "Exit codes: 0 accepted, 2 usage error, 3 the store is \
        unavailable, 4 refused: not a held change, already accepted or dismissed, or the order \
        has moved on since it was held.")]
    Accept(HeldDecisionArgs),

    /// Dismiss a held change: recorded, nothing else changes
    ///
    /// The decision is a row of its own in the order's event log, with --by
    /// and the time; the order and the business step are left as they are.
    #[command(after_help = "Exit codes: 0 dismissed, 2 usage error, 3 the store is \
        unavailable, 4 refused: not a held change, or already accepted or dismissed.")]
    Dismiss(HeldDecisionArgs),
}

#[derive(Debug, Args)]
pub(crate) struct HeldListArgs {
    #[command(flatten)]
    pub(crate) store: StoreArg,

    /// Only the changes of the order with this reference
    #[arg(long, value_name = "REF", value_parser = reference)]
    pub(crate) reference: Option<Reference>,

    /// At most this many
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) limit: u32,

    /// Print them as JSON (one array)
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HeldDecisionArgs {
    /// The held change's event id (the # of `smartex held list`)
    #[arg(value_name = "EVENT_ID", value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) event_id: i64,

    /// Who decides, as the event log keeps it (e.g. cli:alice): 1 to 200
    /// bytes, no control characters
    #[arg(long, value_name = "NAME")]
    pub(crate) by: String,

    #[command(flatten)]
    pub(crate) store: StoreArg,

    /// Print the outcome as JSON
    #[arg(long)]
    pub(crate) json: bool,
}
