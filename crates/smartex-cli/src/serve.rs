//! The command's one HTTP server: hyper on a loopback (or given) listener,
//! each request's body collected up to a limit and handed, with the
//! request's head, to a handler that answers with an `http::Response` — the
//! shape of `smartex::Merchant::handle_http` and of
//! `smartex::ipn::Answer::to_http_response`. Every IPN endpoint of the
//! command serves through it: `ipn listen` and the demo's receiver
//! ([`crate::receiver`]), and the demo's durable merchant.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper::http::request::Parts;
use hyper::http::{Response, StatusCode};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::exit::Error;

/// A body longer than the server's limit: not read further.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TooLarge {
    max: usize,
}

impl TooLarge {
    /// The receiver's refusal of it (413), as every endpoint answers it.
    pub(crate) fn refusal(self) -> smartex::ipn::Error {
        smartex::ipn::Error::TooLarge { max: self.max }
    }
}

/// A bound listener, not serving yet: its address is known (to put in an
/// `ipnUrl`) before the handler is built.
pub(crate) struct Listening {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Listening {
    /// Binds `listen` (port 0: an ephemeral port).
    ///
    /// # Errors
    /// Exit 3 if the address cannot be bound.
    pub(crate) async fn bind(listen: SocketAddr) -> Result<Listening, Error> {
        let cannot =
            |e: std::io::Error| Error::unavailable(format!("cannot listen on {listen}: {e}"));
        let listener = TcpListener::bind(listen).await.map_err(cannot)?;
        let addr = listener.local_addr().map_err(cannot)?;
        Ok(Listening { listener, addr })
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves every request with `handler`, its body collected up to
    /// `max_body` bytes (a longer one is handed over as [`TooLarge`]). Must
    /// be called inside a Tokio runtime.
    pub(crate) fn serve<H, F>(self, max_body: usize, handler: H) -> Server
    where
        H: Fn(Parts, Result<Bytes, TooLarge>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<String>> + Send + 'static,
    {
        let tasks = Arc::new(Mutex::new(Some(JoinSet::new())));
        let accept = accept(
            self.listener,
            Arc::new(handler),
            max_body,
            Arc::clone(&tasks),
        );
        if let Some(set) = lock(&tasks).as_mut() {
            set.spawn(accept);
        }
        Server {
            addr: self.addr,
            tasks,
        }
    }
}

/// A running server. Dropping it (or [`shutdown`](Self::shutdown)) stops the
/// listener and every connection.
pub(crate) struct Server {
    addr: SocketAddr,
    /// The accept loop and the connections; `None` once shut down.
    tasks: Arc<Mutex<Option<JoinSet<()>>>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the listener and every connection, and waits until they stopped.
    pub(crate) async fn shutdown(self) {
        let set = lock(&self.tasks).take();
        if let Some(mut set) = set {
            set.shutdown().await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut set) = lock(&self.tasks).take() {
            set.abort_all();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data behind the lock: keep serving after a panic elsewhere.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept<H, F>(
    listener: TcpListener,
    handler: Arc<H>,
    max_body: usize,
    tasks: Arc<Mutex<Option<JoinSet<()>>>>,
) where
    H: Fn(Parts, Result<Bytes, TooLarge>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<String>> + Send + 'static,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, say: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let handler = Arc::clone(&handler);
        let connection = async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let handler = Arc::clone(&handler);
                async move {
                    let (parts, body) = request.into_parts();
                    let body = match Limited::new(body, max_body).collect().await {
                        Ok(collected) => Ok(collected.to_bytes()),
                        Err(e) if e.is::<LengthLimitError>() => Err(TooLarge { max: max_body }),
                        // The sender went away or sent broken chunks: there
                        // is no request to hand over.
                        Err(_) => return Ok::<_, Infallible>(unreadable()),
                    };
                    Ok(handler(parts, body).await.map(Full::from))
                }
            });
            // A sender that goes away mid-request is its own business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        };
        match lock(&tasks).as_mut() {
            Some(set) => {
                // Reap the connections that ended, so the set stays small.
                while set.try_join_next().is_some() {}
                set.spawn(connection);
            }
            None => return,
        }
    }
}

fn unreadable() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::from("Bad Request: unreadable body"));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}
