//! A TCP proxy in front of moto that answers chosen requests itself with an AWS error
//! (throttling, 503, an unknown key) and forwards the others byte for byte.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// HTTP 400 with IAM's XML Throttling error.
    Throttle,
    /// HTTP 503.
    Unavailable,
    /// HTTP 400 with DynamoDB's JSON ProvisionedThroughputExceededException.
    DynamoThrottle,
    /// HTTP 403 with STS's InvalidClientTokenId: a key AWS does not know (yet).
    UnknownKey,
    /// The request reaches moto and is done there, but its answer is lost: the
    /// client gets HTTP 500 instead, and tries again.
    LostAnswer,
}

impl Fault {
    pub fn response(self) -> Vec<u8> {
        if let Fault::DynamoThrottle = self {
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;
            return format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes();
        }
        if let Fault::LostAnswer = self {
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#;
            return format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes();
        }
        let (status, code, message) = match self {
            Fault::DynamoThrottle | Fault::LostAnswer => unreachable!("answered above"),
            Fault::Throttle => ("400 Bad Request", "Throttling", "Rate exceeded"),
            Fault::Unavailable => (
                "503 Service Unavailable",
                "ServiceUnavailable",
                "Service is unavailable",
            ),
            Fault::UnknownKey => (
                "403 Forbidden",
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
        };
        let body = format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        );
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

#[derive(Debug)]
struct ProxyState {
    /// How many of the next requests to answer with `fault` (usize::MAX: all).
    fail_next: usize,
    /// Only requests holding these bytes are answered with the fault.
    only: Option<Vec<u8>>,
    fault: Fault,
    answered: usize,
    forwarded: usize,
}

/// A TCP proxy in front of moto that answers some requests itself with an error and
/// forwards the others byte for byte.
pub struct Proxy {
    pub url: String,
    state: Arc<Mutex<ProxyState>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = upstream
            .strip_prefix("http://")
            .unwrap()
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ProxyState {
            fail_next: 0,
            only: None,
            fault: Fault::Throttle,
            answered: 0,
            forwarded: 0,
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                std::thread::spawn(move || proxy_connection(conn, upstream, &state));
            }
        });
        Proxy { url, state }
    }

    pub fn fail(&self, n: usize, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        s.fail_next = n;
        s.fault = fault;
        s.only = None;
    }

    /// Answers the next `n` requests that hold `needle` with `fault`.
    pub fn fail_matching(&self, n: usize, needle: &str, fault: Fault) {
        self.fail(n, fault);
        self.state.lock().unwrap().only = Some(needle.as_bytes().to_vec());
    }

    /// (answered with a fault, forwarded) since the start.
    pub fn counts(&self) -> (usize, usize) {
        let s = self.state.lock().unwrap();
        (s.answered, s.forwarded)
    }
}

/// Reads one HTTP request's head and (Content-Length) body; None when the client
/// closed first.
fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    while buf.len() < head_end + length {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

fn proxy_connection(mut client: TcpStream, upstream: SocketAddr, state: &Mutex<ProxyState>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let fault = {
        let mut s = state.lock().unwrap();
        let chosen = s
            .only
            .as_ref()
            .is_none_or(|n| request.windows(n.len()).any(|w| w == n.as_slice()));
        if s.fail_next > 0 && chosen {
            if s.fail_next != usize::MAX {
                s.fail_next -= 1;
            }
            s.answered += 1;
            Some(s.fault)
        } else {
            s.forwarded += 1;
            None
        }
    };
    if let Some(fault) = fault {
        if let Fault::LostAnswer = fault {
            // Done upstream; its answer (read whole, by its Content-Length) is dropped.
            let Ok(mut up) = TcpStream::connect(upstream) else {
                return;
            };
            if up.write_all(&request).is_err() || read_request(&mut up).is_none() {
                return;
            }
        }
        let _ = client.write_all(&fault.response());
        let _ = client.shutdown(Shutdown::Write);
        // Let the client read the answer and close first.
        let mut sink = [0u8; 1024];
        while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
        return;
    }
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_read_timeout(None);
    if up.write_all(&request).is_err() {
        return;
    }
    let (Ok(mut up_read), Ok(mut client_write)) = (up.try_clone(), client.try_clone()) else {
        return;
    };
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_read, &mut client_write);
        let _ = client_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut client, &mut up);
    let _ = up.shutdown(Shutdown::Write);
    let _ = back.join();
}
