//! The wire: a Task API request as HTTP/1.1 bytes, and a response parsed
//! from the bytes received so far (the event loop reads whatever has
//! arrived and asks whether a whole response is there yet).

use std::fmt;
use std::io::Write;

use workload::OpKind;

/// Longest response head accepted (the server's own limit on request
/// heads is 16 KiB).
pub const MAX_HEAD: usize = 64 * 1024;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `/tasks/{id}`
    Task(u32),
    /// `/tasks`
    Tasks,
    /// `/tasks?limit=100`
    Page,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Task(id) => write!(f, "/tasks/{id}"),
            Target::Tasks => f.write_str("/tasks"),
            Target::Page => f.write_str("/tasks?limit=100"),
        }
    }
}

/// The request for an operation of the mix: method, target, JSON body
/// (empty for none). `i` alternates the PATCH body.
pub fn request_for(kind: OpKind, id: u32, i: usize) -> (&'static str, Target, &'static str) {
    match kind {
        OpKind::Read => ("GET", Target::Task(id), ""),
        OpKind::Update | OpKind::Rmw => (
            "PATCH",
            Target::Task(id),
            if i.is_multiple_of(2) {
                r#"{"completed":true}"#
            } else {
                r#"{"completed":false}"#
            },
        ),
        OpKind::Create => (
            "POST",
            Target::Tasks,
            r#"{"title":"made by storelab load"}"#,
        ),
        OpKind::Delete => ("DELETE", Target::Task(id), ""),
        OpKind::GetAll => ("GET", Target::Page, ""),
    }
}

/// Appends the request to `out`: request line, Host, a JSON body with its
/// length. No allocation once `out` has grown to a request's size.
pub fn write_request(
    out: &mut Vec<u8>,
    method: &str,
    target: impl fmt::Display,
    body: &str,
) -> std::io::Result<()> {
    write!(out, "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n")?;
    if !body.is_empty() {
        out.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    write!(out, "Content-Length: {}\r\n\r\n{body}", body.len())
}

/// A whole response at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Bytes it takes, head and body.
    pub len: usize,
    /// The server said `Connection: close`: open a fresh connection for
    /// the next request.
    pub close: bool,
}

/// Why bytes are not an HTTP/1.1 response.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("bad status line {0:?}")]
    StatusLine(String),
    #[error("bad Content-Length {0:?}")]
    Length(String),
    #[error("bad chunk size {0:?}")]
    Chunk(String),
    #[error("response head over {MAX_HEAD} bytes")]
    HeadTooLong,
}

impl From<WireError> for std::io::Error {
    fn from(e: WireError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The response at the front of `buf`, if all of it has arrived
/// (`Ok(None)`: not yet). Bodies are delimited by Content-Length or
/// chunked encoding; a response with neither has none (the Task API
/// always sends a length).
pub fn parse_response(buf: &[u8]) -> Result<Option<Response>, WireError> {
    let Some(head_end) = find(buf, b"\r\n\r\n", 0) else {
        return if buf.len() > MAX_HEAD {
            Err(WireError::HeadTooLong)
        } else {
            Ok(None)
        };
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..600).contains(code))
        .ok_or_else(|| WireError::StatusLine(status_line.to_owned()))?;
    let (mut length, mut chunked, mut close) = (0usize, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .parse()
                .map_err(|_| WireError::Length(value.to_owned()))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let body_start = head_end + 4;
    let end = if chunked {
        chunked_end(buf, body_start)?
    } else {
        Some(body_start + length).filter(|&end| end <= buf.len())
    };
    Ok(end.map(|len| Response { status, len, close }))
}

/// Where a chunked body that starts at `at` ends, if all of it is in
/// `buf`. Chunk extensions and trailers are skipped.
fn chunked_end(buf: &[u8], mut at: usize) -> Result<Option<usize>, WireError> {
    loop {
        let Some(line_end) = find(buf, b"\r\n", at) else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&buf[at..line_end]);
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(hex, 16).map_err(|_| WireError::Chunk(line.to_string()))?;
        at = line_end + 2;
        if size == 0 {
            // Trailers, if any, then an empty line.
            return Ok(if buf.get(at..at + 2) == Some(b"\r\n") {
                Some(at + 2)
            } else {
                find(buf, b"\r\n\r\n", at).map(|p| p + 4)
            });
        }
        at = at.saturating_add(size).saturating_add(2);
        if at > buf.len() {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_host_length_and_a_json_type_with_a_body() {
        let mut out = Vec::new();
        let (method, target, body) = request_for(OpKind::Read, 7, 0);
        write_request(&mut out, method, target, body).expect("vec");
        assert_eq!(
            out,
            b"GET /tasks/7 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        );
        out.clear();
        let (method, target, body) = request_for(OpKind::Update, 3, 1);
        write_request(&mut out, method, target, body).expect("vec");
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.starts_with("PATCH /tasks/3 HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("Content-Type: application/json\r\n"));
        assert!(text.ends_with("Content-Length: 19\r\n\r\n{\"completed\":false}"));
        assert_eq!(
            request_for(OpKind::GetAll, 1, 0).1.to_string(),
            "/tasks?limit=100"
        );
        assert_eq!(request_for(OpKind::Create, 1, 0).0, "POST");
        assert_eq!(request_for(OpKind::Delete, 9, 0).1, Target::Task(9));
    }

    #[test]
    fn a_response_is_whole_only_when_its_body_has_arrived() {
        let full =
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: application/json\r\n\r\nhello";
        for cut in 0..full.len() {
            assert_eq!(parse_response(&full[..cut]), Ok(None), "cut at {cut}");
        }
        let r = parse_response(full).expect("valid").expect("whole");
        assert_eq!((r.status, r.len, r.close), (200, full.len(), false));
        // Bytes after it (a next response) are not its.
        let mut two = full.to_vec();
        two.extend_from_slice(b"HTTP/1.1 404");
        assert_eq!(
            parse_response(&two).expect("valid").map(|r| r.len),
            Some(full.len())
        );
        let closing =
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        let r = parse_response(closing).expect("valid").expect("whole");
        assert_eq!((r.status, r.close), (503, true));
        let none = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(
            parse_response(none).expect("valid").map(|r| r.len),
            Some(none.len())
        );
    }

    #[test]
    fn chunked_bodies_end_at_the_last_chunk() {
        let full = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n1\r\n!\r\n0\r\n\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse_response(&full[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(
            parse_response(full).expect("valid").map(|r| r.len),
            Some(full.len())
        );
        let trailer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(
            parse_response(trailer).expect("valid").map(|r| r.len),
            Some(trailer.len())
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_wait() {
        assert!(matches!(
            parse_response(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(WireError::StatusLine(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            Err(WireError::Length(_))
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            Err(WireError::Chunk(_))
        ));
        assert_eq!(
            parse_response(&vec![b'a'; MAX_HEAD + 1]),
            Err(WireError::HeadTooLong)
        );
    }
}
