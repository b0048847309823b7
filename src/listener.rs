//! Serving HTTP on a listener that may face the internet: every connection is bounded in number
//! and in time, and shutdown is bounded whatever clients do.
//!
//! `axum::serve` has no timers: an idle or half-sent connection is held forever, and enough of
//! them exhaust the file descriptors. Here each connection has one phase at a time:
//! - idle (between requests): closed after `idle`;
//! - reading a request head (from its first byte, or from the accept for a new connection):
//!   closed unless the head is complete within `header`;
//! - busy (a request is being answered): no connection timer; bodies are bounded by whoever reads
//!   them (`ingest::read`), and long answers (waits, SSE streams) end on shutdown.
//!
//! At most `max_connections` connections are open per listener; beyond that new ones wait in the
//! kernel's accept queue until a slot frees (every slot frees within the timeouts above). One
//! client address holds at most its share (`per_ip`); a connection beyond it is closed at once.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From the first byte of a request to the end of its head.
    pub header: Duration,
    /// An idle keep-alive connection is closed after this.
    pub idle: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// After shutdown begins, connections still open after this are dropped.
    pub shutdown: Duration,
}

/// Serves `routes` on `listener` until `shutdown`, then lets in-flight requests finish for at most
/// `limits.shutdown` and drops whatever is left.
pub async fn serve(
    listener: TcpListener,
    routes: Router,
    limits: Limits,
    per_ip: Arc<crate::per_ip::PerIp>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors or a connection reset before accept: not fatal. Back off
                // briefly so that a full descriptor table does not spin this loop.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let Some(admitted) = per_ip.admit(peer.ip()) else {
            // Closed before a byte is read: this address holds its share already.
            metrics::counter!("hookd_connections_refused_total", "reason" => "per_ip").increment(1);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (routes, shutdown) = (routes.clone(), shutdown.clone());
        connections.spawn(async move {
            connection(stream, routes, limits, shutdown).await;
            drop((slot, admitted));
        });
        // Reap finished connections so the set does not grow with every one ever served.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.shutdown, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown timeout: closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Serves one connection within its phase timers.
async fn connection(
    stream: TcpStream,
    routes: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = Counted {
        routes,
        activity: activity.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The head timer below replaces hyper's own (which would also close idle connections early).
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let changed = activity.changed.notified();
        let deadline = activity.deadline(&limits);
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = changed => {}
            _ = sleep_until(deadline) => {
                if activity.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    return; // timed out: dropping the connection closes it
                }
            }
            _ = shutdown.cancelled(), if !closing => {
                // Idle connections close now; one with a request in flight after its answer.
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Where a connection stands, as its timers see it.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Idle(Instant),
    /// Bytes of a request head arrived, first at this instant.
    Head(Instant),
    /// This many requests are being answered.
    Busy(usize),
}

struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    /// A new connection owes its first request head from the moment it is accepted: one that
    /// connects and sends nothing is a client that stalls, not an idle keep-alive.
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        }
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        *phase = f(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    /// The first byte after an idle spell starts the head timer; other reads change nothing
    /// (and wake no one).
    fn bytes_read(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn request_started(&self) {
        self.update(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
    }

    fn request_done(&self) {
        self.update(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }

    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match *self.phase.lock().unwrap_or_else(|p| p.into_inner()) {
            Phase::Idle(since) => Some(since + limits.idle),
            Phase::Head(since) => Some(since + limits.header),
            Phase::Busy(_) => None,
        }
    }
}

/// The connection's socket, telling `Activity` when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
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

/// The router, marking each request busy from its complete head until its answer's body is done
/// (or dropped, when the client goes away).
#[derive(Clone)]
struct Counted {
    routes: Router,
    activity: Arc<Activity>,
}

/// Marks its request done when dropped.
struct Done(Arc<Activity>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for Counted {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let done = Done(self.activity.clone());
        let routes = self.routes.clone();
        Box::pin(async move {
            let response = routes.oneshot(request.map(Body::new)).await?;
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _held = &done;
                    frame
                }))
            }))
        })
    }
}
