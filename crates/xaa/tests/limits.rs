//! The Okta client's limits, each against something real: the deadline branches of
//! `OktaClient` with a transport that takes its time, and `ReqwestTransport`'s 64 KiB
//! bound, no-redirect rule and https-only rule against a TCP server on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use xaa::{
    BoxFuture, Deadline, HttpReply, IdToken, KeyError, KeySource, KeyStore, OktaClient, OktaConfig,
    RandomJti, ReqwestTransport, SecretBytes, SystemClock, TokenTransport, TransportError,
};
use zeroize::Zeroizing;

const KID: &str = "bilbo.baggins@hobbiton.example";

struct FixtureKey;

impl KeySource for FixtureKey {
    fn fetch(&self) -> BoxFuture<'_, Result<SecretBytes, KeyError>> {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("fixtures/rfc7520-4.1.json")).unwrap();
        Box::pin(async move { Ok(SecretBytes::from(fixture["jwk"].to_string())) })
    }
}

/// Answers every token request after `delay` with `answer`, counting the requests.
struct Slow {
    delay: Duration,
    answer: Result<(u16, Option<u64>), TransportError>,
    requests: AtomicUsize,
}

impl TokenTransport for Slow {
    fn post_form<'a>(
        &'a self,
        _url: &'a str,
        _body: Zeroizing<String>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            // A transport honours the timeout it is given, as ReqwestTransport does.
            if tokio::time::timeout(timeout, tokio::time::sleep(self.delay))
                .await
                .is_err()
            {
                return Err(TransportError::Timeout);
            }
            self.answer.clone().map(|(status, retry_after)| HttpReply {
                status,
                body: Zeroizing::new(br#"{"error":"temporarily_unavailable"}"#.to_vec()),
                retry_after: retry_after.map(Duration::from_secs),
            })
        })
    }
}

fn client(transport: Arc<dyn TokenTransport>) -> OktaClient {
    let cfg = OktaConfig::new(
        "https://example.okta.com".into(),
        "aus1",
        "xaa:read".into(),
        "wlp1".into(),
        KID.into(),
        None,
    )
    .unwrap();
    OktaClient::new(
        Arc::new(cfg),
        transport,
        Arc::new(KeyStore::new(
            Arc::new(FixtureKey),
            KID,
            Duration::from_secs(3600),
        )),
        Arc::new(SystemClock),
        Arc::new(RandomJti),
        Duration::from_secs(10),
    )
}

fn slow(delay: Duration, answer: Result<(u16, Option<u64>), TransportError>) -> Arc<Slow> {
    Arc::new(Slow {
        delay,
        answer,
        requests: AtomicUsize::new(0),
    })
}

async fn exchange(client: &OktaClient, deadline: Deadline) -> xaa::Error {
    match client.exchange(&IdToken::new("a.b.c"), deadline).await {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    }
}

#[tokio::test]
async fn a_deadline_already_spent_sends_nothing() {
    let transport = slow(Duration::ZERO, Ok((200, None)));
    let err = exchange(&client(transport.clone()), Deadline::after(Duration::ZERO)).await;
    assert!(
        matches!(
            err,
            xaa::Error::Timeout {
                stage: "calling Okta"
            }
        ),
        "{err:?}"
    );
    assert_eq!(transport.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_request_cut_by_the_deadline_is_a_timeout_not_okta_unavailable() {
    let transport = slow(Duration::from_secs(30), Ok((200, None)));
    let started = std::time::Instant::now();
    let err = exchange(
        &client(transport.clone()),
        Deadline::after(Duration::from_millis(300)),
    )
    .await;
    assert!(
        matches!(
            err,
            xaa::Error::Timeout {
                stage: "calling Okta"
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(transport.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_retry_that_cannot_finish_in_time_is_not_started() {
    // 503 with Retry-After 2 s, and one second left: give up now, typed.
    let transport = slow(Duration::ZERO, Ok((503, Some(2))));
    let err = exchange(
        &client(transport.clone()),
        Deadline::after(Duration::from_secs(1)),
    )
    .await;
    assert!(
        matches!(
            err,
            xaa::Error::Timeout {
                stage: "waiting to retry Okta"
            }
        ),
        "{err:?}"
    );
    assert_eq!(transport.requests.load(Ordering::SeqCst), 1);
}

/// A loopback server answering every connection with `response`, counting the paths asked.
async fn server(response: Vec<u8>) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let paths = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = paths.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (response, seen) = (response.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                if let Some(path) = head.split_whitespace().nth(1) {
                    seen.lock().unwrap().push(path.to_string());
                }
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base, paths)
}

fn form() -> Zeroizing<String> {
    Zeroizing::new("grant_type=x".into())
}

#[tokio::test]
async fn a_response_over_64_kib_is_refused_declared_or_not() {
    let body = vec![b'x'; xaa::MAX_RESPONSE_BYTES + 1];
    let declared = [
        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes(),
        body.clone(),
    ]
    .concat();
    // Chunked, so the size is only known while reading.
    let chunked = [
        format!(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n",
            body.len()
        )
        .into_bytes(),
        body,
        b"\r\n0\r\n\r\n".to_vec(),
    ]
    .concat();
    let transport = ReqwestTransport::new(Duration::from_secs(2), true).unwrap();
    for response in [declared, chunked] {
        let (base, _) = server(response).await;
        let result = transport
            .post_form(&format!("{base}/token"), form(), Duration::from_secs(5))
            .await;
        assert!(
            matches!(result, Err(TransportError::TooLarge)),
            "{:?}",
            result.map(|r| r.status)
        );
    }
    // Exactly at the bound is fine.
    let body = vec![b'x'; xaa::MAX_RESPONSE_BYTES];
    let (base, _) = server(
        [
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes(),
            body,
        ]
        .concat(),
    )
    .await;
    let reply = transport
        .post_form(&format!("{base}/token"), form(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reply.body.len(), xaa::MAX_RESPONSE_BYTES);
}

#[tokio::test]
async fn a_redirect_is_never_followed() {
    let (base, paths) = server(
        b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n"
            .to_vec(),
    )
    .await;
    let transport = ReqwestTransport::new(Duration::from_secs(2), true).unwrap();
    let reply = transport
        .post_form(&format!("{base}/token"), form(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reply.status, 307, "the redirect comes back as an answer");
    assert_eq!(
        paths.lock().unwrap().as_slice(),
        ["/token"],
        "and is not followed"
    );
}

#[tokio::test]
async fn plain_http_is_refused_unless_the_configuration_allowed_it() {
    let (base, paths) = server(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec()).await;
    let https_only = ReqwestTransport::new(Duration::from_secs(2), false).unwrap();
    let result = https_only
        .post_form(&format!("{base}/token"), form(), Duration::from_secs(5))
        .await;
    assert!(
        matches!(result, Err(TransportError::Other)),
        "plain http went out: {:?}",
        result.map(|r| r.status)
    );
    assert!(
        paths.lock().unwrap().is_empty(),
        "nothing reached the server"
    );
    let loopback_allowed = ReqwestTransport::new(Duration::from_secs(2), true).unwrap();
    let reply = loopback_allowed
        .post_form(&format!("{base}/token"), form(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
}
