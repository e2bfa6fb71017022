//! What happens to a request between hyper and the handlers: the `Host`
//! rule, a declared length over the limit refused at once, and the body
//! received in full under the body timeout and the minimum rate. Only then
//! does the request take an in-flight slot, so a slow upload holds its
//! connection but never a handler.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Bytes, Incoming};
use tokio::time::Instant;

use crate::limits::{BODY_GRACE, Limits};
use crate::{ApiError, BODY_LIMIT};

/// The rules a body is received under (from [`Limits`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyRules {
    timeout: Duration,
    grace: Duration,
    min_rate: f64,
}

impl BodyRules {
    pub(crate) fn new(limits: &Limits) -> BodyRules {
        BodyRules {
            timeout: limits.body_timeout,
            grace: BODY_GRACE.min(limits.body_timeout),
            min_rate: f64::from(limits.min_body_rate),
        }
    }

    /// How long after the head the body may take to reach `received + 1`
    /// bytes: the grace, plus what the minimum rate allows for what came,
    /// at most the body timeout.
    fn allowed(&self, received: usize) -> Duration {
        let earned =
            Duration::try_from_secs_f64(received as f64 / self.min_rate).unwrap_or(self.timeout);
        (self.grace + earned).min(self.timeout)
    }
}

/// Checks a request's head and receives its body; the request as the
/// router takes it, or the error response that ends it.
pub(crate) async fn receive(
    request: Request<Incoming>,
    rules: BodyRules,
) -> Result<Request<Body>, Response> {
    check_host(&request).map_err(IntoResponse::into_response)?;
    let (parts, mut body) = request.into_parts();
    if body.is_end_stream() {
        return Ok(Request::from_parts(parts, Body::new(body)));
    }
    if let Some(declared) = body.size_hint().exact()
        && declared > BODY_LIMIT as u64
    {
        // Before any of the body is read: hyper sends `100 Continue` only
        // when the body is first read, so a client that asked for it is
        // told 413 instead.
        return Err(too_large(format!(
            "the declared body of {declared} bytes is over the limit of {BODY_LIMIT} bytes"
        )));
    }
    let start = Instant::now();
    let mut got = Received::default();
    loop {
        let deadline = start + rules.allowed(got.len());
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(timed_out()),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_body",
                    format!("the request body could not be read: {e}"),
                )
                .into_response());
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if got.len() + data.len() > BODY_LIMIT {
                return Err(too_large(format!(
                    "the body is over the limit of {BODY_LIMIT} bytes"
                )));
            }
            got.push(data);
        }
    }
    Ok(Request::from_parts(parts, got.into_body()))
}

/// A body's bytes: one frame kept as it came, more copied together.
#[derive(Default)]
struct Received {
    first: Option<Bytes>,
    more: Vec<u8>,
}

impl Received {
    fn len(&self) -> usize {
        self.first.as_ref().map_or(0, Bytes::len) + self.more.len()
    }

    fn push(&mut self, data: Bytes) {
        match (&self.first, self.more.is_empty()) {
            (None, true) => self.first = Some(data),
            (Some(first), true) => {
                self.more.extend_from_slice(first);
                self.more.extend_from_slice(&data);
                self.first = None;
            }
            _ => self.more.extend_from_slice(&data),
        }
    }

    fn into_body(self) -> Body {
        match self.first {
            Some(first) => Body::from(first),
            None => Body::from(self.more),
        }
    }
}

/// RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one `Host`
/// header (HTTP/1.0, at most one); otherwise 400.
fn check_host<B>(request: &Request<B>) -> Result<(), ApiError> {
    let hosts = request.headers().get_all(header::HOST).iter().count();
    let ok = match request.version() {
        Version::HTTP_10 | Version::HTTP_09 => hosts <= 1,
        _ => hosts == 1,
    };
    if ok {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_host",
        format!("an HTTP/1.1 request must carry exactly one Host header; this one has {hosts}"),
    ))
}

fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 413, and the connection closed (the rest of the body is not read).
fn too_large(message: String) -> Response {
    closing(
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message).into_response(),
    )
}

/// 408, and the connection closed.
fn timed_out() -> Response {
    closing(
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body was not received in time (see the body timeout and minimum rate)",
        )
        .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_earns_time_at_the_minimum_rate_up_to_the_timeout() {
        let rules = BodyRules::new(&Limits {
            body_timeout: Duration::from_secs(10),
            min_body_rate: 1000,
            ..Limits::default()
        });
        assert_eq!(rules.allowed(0), BODY_GRACE);
        assert_eq!(rules.allowed(500), BODY_GRACE + Duration::from_millis(500));
        assert_eq!(rules.allowed(1_000_000), Duration::from_secs(10));
        // A body timeout under the grace bounds everything.
        let short = BodyRules::new(&Limits {
            body_timeout: Duration::from_millis(300),
            ..Limits::default()
        });
        assert_eq!(short.allowed(0), Duration::from_millis(300));
    }

    #[test]
    fn frames_are_joined_in_order() {
        let mut r = Received::default();
        r.push(Bytes::from_static(b"ab"));
        assert_eq!(r.len(), 2);
        r.push(Bytes::from_static(b"cd"));
        r.push(Bytes::from_static(b"e"));
        assert_eq!((r.len(), r.more.as_slice()), (5, &b"abcde"[..]));
    }

    #[test]
    fn host_is_required_once_on_http_1_1() {
        let req = |version, hosts: &[&str]| {
            let mut b = Request::builder().version(version).uri("/healthz");
            for h in hosts {
                b = b.header(header::HOST, *h);
            }
            b.body(()).expect("request")
        };
        assert!(check_host(&req(Version::HTTP_11, &["a"])).is_ok());
        assert!(check_host(&req(Version::HTTP_11, &[])).is_err());
        assert!(check_host(&req(Version::HTTP_11, &["a", "b"])).is_err());
        assert!(check_host(&req(Version::HTTP_10, &[])).is_ok());
        assert!(check_host(&req(Version::HTTP_10, &["a", "b"])).is_err());
    }
}
