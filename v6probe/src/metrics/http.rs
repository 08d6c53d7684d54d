//! `monitor --metrics-listen ADDR:PORT`: `/metrics` (Prometheus text 0.0.4, or OpenMetrics text
//! when the scraper's `Accept` header asks for `application/openmetrics-text`) and `/healthz`
//! (200 when healthy, 503 otherwise, with a JSON body saying why), served by axum on a thread
//! of its own, so a scrape never competes with the ring-buffer reader's task.
use std::{net::SocketAddr, sync::Arc, thread::JoinHandle};

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use prometheus_client::registry::Registry;
use thiserror::Error;

use super::Telemetry;

/// `Content-Type` of OpenMetrics text 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("--metrics-listen {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the metrics server thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// The running server. Dropping it (or [`MetricsServer::stop`]) stops it.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct AppState {
    registry: Registry,
    telemetry: Arc<Telemetry>,
}

impl MetricsServer {
    /// Binds `addr` now (so a taken port is an error at start) and serves from a new thread.
    pub fn start(addr: SocketAddr, telemetry: Arc<Telemetry>) -> Result<Self, HttpError> {
        let listener =
            std::net::TcpListener::bind(addr).map_err(|source| HttpError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| HttpError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| HttpError::Bind { addr, source })?;
        let state = Arc::new(AppState {
            registry: telemetry.registry(),
            telemetry,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("v6probe-metrics".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("metrics server: starting its runtime: {e}");
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("metrics server: {e}");
                            return;
                        }
                    };
                    let app = Router::new()
                        .route("/metrics", get(metrics))
                        .route("/healthz", get(healthz))
                        .with_state(state);
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!("metrics server: {e}");
                    }
                });
            })
            .map_err(HttpError::Thread)?;
        Ok(Self {
            addr: local,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address actually bound (port 0 picks one).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Whether an `Accept` header asks for OpenMetrics text.
pub fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let media = part.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/openmetrics-text")
        })
}

async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let om = wants_openmetrics(&headers);
    match super::encode(&state.registry, om) {
        Ok(body) => {
            let ct = if om {
                OPENMETRICS_CONTENT_TYPE
            } else {
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE
            };
            ([(header::CONTENT_TYPE, ct)], body).into_response()
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding the metrics failed\n",
        )
            .into_response(),
    }
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let report = state.telemetry.health();
    let code = if report.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::to_string(&report).unwrap_or_else(|_| "{}".into());
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body + "\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::IfaceState;
    use std::io::{Read, Write};

    fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{accept}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let ct = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-type:"))
            .unwrap_or("")
            .to_string();
        (status, ct, body.to_string())
    }

    #[test]
    fn serves_both_formats_and_health() {
        let t = Telemetry::new();
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::clone(&t)).unwrap();
        let addr = server.local_addr();
        let (code, ct, body) = get(addr, "/metrics", None);
        assert_eq!(code, 200);
        assert!(ct.contains("text/plain; version=0.0.4"), "{ct}");
        assert!(body.contains("v6probe_build_info{"), "{body}");
        assert!(!body.contains("# EOF"));
        let (code, ct, body) = get(
            addr,
            "/metrics",
            Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
        );
        assert_eq!(code, 200);
        assert!(ct.contains("application/openmetrics-text"), "{ct}");
        assert!(body.contains("# EOF"), "{body}");
        // Nothing attached yet: unhealthy, and says why.
        let (code, _, body) = get(addr, "/healthz", None);
        assert_eq!(code, 503);
        assert!(body.contains("no program attached yet"), "{body}");
        t.set_interface("eth0", IfaceState::Attached);
        t.reader_alive();
        let (code, _, body) = get(addr, "/healthz", None);
        assert_eq!(code, 200, "{body}");
        t.set_interface("eth0", IfaceState::Gone);
        let (code, _, body) = get(addr, "/healthz", None);
        assert_eq!(code, 503);
        assert!(body.contains("interface eth0 is gone"), "{body}");
        let (code, _, _) = get(addr, "/nothing", None);
        assert_eq!(code, 404);
        server.stop();
    }

    #[test]
    fn a_taken_port_is_an_error_naming_the_address() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let err = MetricsServer::start(addr, Telemetry::new())
            .err()
            .expect("bind must fail");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
