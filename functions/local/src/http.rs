//! The local HTTP server: the intake router over HTTP/1.1, hardened against clients that hold
//! sockets without using them. Each connection is in one of three phases, each with its clock:
//! - waiting for a request (idle keep-alive, or a fresh socket that sent nothing): closed after
//!   the idle timeout;
//! - reading a request head (from its first byte): closed after the header timeout, so a
//!   slowloris client sending a byte at a time gets no longer than a fast one;
//! - serving a request: its body must arrive within the body timeout (408), the answer is
//!   never cut.
//!
//! Connections are bounded below the process's descriptor limit (leaving room for the store,
//! media files and outbound calls). At the bound, a new client takes the place of the
//! connection that has waited longest without a request in flight, so idle sockets cannot keep
//! anyone out; only when every connection is serving a request does a new one wait its turn.

use anyhow::Context as _;
use axum::Router;
use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long a client may take at each phase, and how many connections may be open at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// From a request's first byte to the end of its head (`HERALD_HEADER_TIMEOUT_MS`).
    pub header: Duration,
    /// Waiting for the next request, or the first one (`HERALD_IDLE_TIMEOUT_MS`).
    pub idle: Duration,
    /// From the end of a request's head to the end of its body (`HERALD_BODY_TIMEOUT_MS`).
    pub body: Duration,
    /// Open connections at most (`HERALD_MAX_CONNECTIONS`; default from RLIMIT_NOFILE).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            body: Duration::from_secs(30),
            max_connections: connections_for(descriptor_limit()),
        }
    }
}

impl Limits {
    /// The defaults, with whatever the environment sets instead. A value that is not a whole
    /// positive number is an error naming its variable.
    pub fn from_env() -> anyhow::Result<Limits> {
        let mut limits = Limits::default();
        let var = |name: &str| -> anyhow::Result<Option<u64>> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(raw) => match raw.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => anyhow::bail!("{name} must be a whole number above 0, not {raw:?}"),
                },
            }
        };
        if let Some(ms) = var("HERALD_HEADER_TIMEOUT_MS")? {
            limits.header = Duration::from_millis(ms);
        }
        if let Some(ms) = var("HERALD_IDLE_TIMEOUT_MS")? {
            limits.idle = Duration::from_millis(ms);
        }
        if let Some(ms) = var("HERALD_BODY_TIMEOUT_MS")? {
            limits.body = Duration::from_millis(ms);
        }
        if let Some(n) = var("HERALD_MAX_CONNECTIONS")? {
            limits.max_connections = n as usize;
        }
        Ok(limits)
    }
}

/// The soft RLIMIT_NOFILE of this process (1024, the usual default, where it cannot be read).
fn descriptor_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes only the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            // rlim_t is u64 on Linux, not everywhere.
            #[allow(clippy::unnecessary_cast)]
            return limit.rlim_cur as u64;
        }
    }
    1024
}

/// Connections allowed under a descriptor limit: a quarter of it (at least 32, at most 1,024)
/// stays for the store, media files, outbound sockets and the listener itself.
pub fn connections_for(descriptors: u64) -> usize {
    let reserve = (descriptors / 4).clamp(32, 1024);
    descriptors.saturating_sub(reserve).clamp(4, 16_384) as usize
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets every
/// request in flight finish and closes the connections that are waiting.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        limits.max_connections > 0,
        "max_connections must be above 0"
    );
    tracing::info!(
        header_ms = limits.header.as_millis() as u64,
        idle_ms = limits.idle.as_millis() as u64,
        body_ms = limits.body.as_millis() as u64,
        max_connections = limits.max_connections,
        "http limits"
    );
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(Open::default());
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    tokio::pin!(shutdown);
    'accept: loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, or a client gone before accept: never fatal.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    }
                }
            },
        };
        // At the bound, make room. When every connection is serving a request, look again
        // shortly: one that finishes and waits for its next request gives way then.
        let permit = loop {
            if let Ok(permit) = slots.clone().try_acquire_owned() {
                break permit;
            }
            open.evict_longest_waiting();
            tokio::select! {
                _ = &mut shutdown => break 'accept,
                permit = slots.clone().acquire_owned() => break permit.context("connection slots")?,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        };
        let conn = open.register();
        tasks.spawn(connection(
            stream,
            conn,
            open.clone(),
            app.clone(),
            limits.clone(),
            stop.clone(),
            permit,
        ));
    }
    drop(listener);
    stop.cancel();
    tasks.close();
    tasks.wait().await;
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No request: waiting since then.
    Waiting(Instant),
    /// Reading a request head whose first byte came then.
    Head(Instant),
    /// A request is being served.
    Serving,
}

/// One open connection, as the accept loop and its own task see it.
struct Conn {
    id: u64,
    phase: Mutex<Phase>,
    changed: Notify,
    evict: CancellationToken,
}

impl Conn {
    fn phase(&self) -> Phase {
        *self.phase.lock().expect("phase lock")
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().expect("phase lock") = phase;
        self.changed.notify_one();
    }

    /// Bytes arrived: a waiting connection is now reading a head.
    fn bytes_arrived(&self) {
        let mut phase = self.phase.lock().expect("phase lock");
        if let Phase::Waiting(_) = *phase {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.phase() {
            Phase::Waiting(since) => Some(since + limits.idle),
            Phase::Head(since) => Some(since + limits.header),
            Phase::Serving => None,
        }
    }
}

#[derive(Default)]
struct Open {
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Open {
    fn register(&self) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            phase: Mutex::new(Phase::Waiting(Instant::now())),
            changed: Notify::new(),
            evict: CancellationToken::new(),
        });
        self.conns
            .lock()
            .expect("open lock")
            .insert(conn.id, conn.clone());
        conn
    }

    fn remove(&self, id: u64) {
        self.conns.lock().expect("open lock").remove(&id);
    }

    /// Asks the connection that has waited longest with no request in flight to close.
    fn evict_longest_waiting(&self) {
        let conns = self.conns.lock().expect("open lock");
        let closing = |c: &Arc<Conn>| c.evict.is_cancelled() && c.phase() != Phase::Serving;
        if conns.values().any(closing) {
            return; // one is already giving way
        }
        let oldest = conns
            .values()
            .filter(|c| !c.evict.is_cancelled())
            .filter_map(|c| match c.phase() {
                Phase::Waiting(since) | Phase::Head(since) => Some((since, c)),
                Phase::Serving => None,
            })
            .min_by_key(|(since, _)| *since);
        if let Some((_, conn)) = oldest {
            tracing::debug!(
                connection = conn.id,
                "at the connection bound: closing the longest-waiting one"
            );
            conn.evict.cancel();
        }
    }
}

async fn connection(
    stream: TcpStream,
    conn: Arc<Conn>,
    open: Arc<Open>,
    app: Router,
    limits: Arc<Limits>,
    stop: CancellationToken,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Watched {
        inner: stream,
        conn: conn.clone(),
    });
    let service = {
        let conn = conn.clone();
        let body_timeout = limits.body;
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            conn.set(Phase::Serving);
            let request = request.map(|body| Body::new(Deadline::new(body, body_timeout)));
            let answer = app.clone().oneshot(request);
            let conn = conn.clone();
            async move {
                let response = answer.await;
                conn.set(Phase::Waiting(Instant::now()));
                response
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The phases below time the head; hyper's own timer would also cut idle keep-alive at it.
    builder.header_read_timeout(None).keep_alive(true);
    let http = builder.serve_connection(io, service);
    tokio::pin!(http);
    let mut closing = false;
    loop {
        let deadline = conn.deadline(&limits);
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            done = http.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended");
                }
                break;
            }
            _ = conn.changed.notified() => {}
            _ = expired => {
                if conn.deadline(&limits).is_some_and(|at| at <= Instant::now()) {
                    tracing::debug!(connection = conn.id, phase = ?conn.phase(), "connection timed out");
                    break;
                }
            }
            // Shutting down, or making room: a request in flight is answered first, a
            // connection without one closes now.
            _ = stop.cancelled(), if !closing => {
                if conn.phase() != Phase::Serving {
                    break;
                }
                closing = true;
                http.as_mut().graceful_shutdown();
            }
            _ = conn.evict.cancelled(), if !closing => {
                if conn.phase() != Phase::Serving {
                    break;
                }
                closing = true;
                http.as_mut().graceful_shutdown();
            }
        }
    }
    open.remove(conn.id);
}

/// The socket, telling its connection when bytes arrive.
struct Watched {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request body that must arrive whole by a deadline set when its head was read. A body
/// trickled a byte at a time fails at the deadline, as a stalled one does; the read fails
/// with `io::ErrorKind::TimedOut`, which the intake extractors answer with 408.
struct Deadline {
    body: Incoming,
    at: Pin<Box<Sleep>>,
}

impl Deadline {
    fn new(body: Incoming, within: Duration) -> Self {
        Deadline {
            body,
            at: Box::pin(tokio::time::sleep(within)),
        }
    }
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.at.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_a_quarter_of_the_descriptors_and_at_least_32() {
        assert_eq!(connections_for(256), 192);
        assert_eq!(connections_for(1024), 768);
        assert_eq!(connections_for(64), 32);
        assert_eq!(connections_for(20), 4);
        assert_eq!(connections_for(1 << 20), 16_384);
    }
}
