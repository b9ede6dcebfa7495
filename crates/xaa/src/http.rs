//! The one piece of I/O of the OAuth client: POST a form to a token endpoint.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::keystore::BoxFuture;

/// Token responses are small; anything larger is refused rather than buffered.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A form body reqwest can own while the bytes are wiped on drop.
struct WipedOnDrop(Zeroizing<String>);

impl AsRef<[u8]> for WipedOnDrop {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

pub struct HttpReply {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    Connect,
    Timeout,
    TooLarge,
    Other,
}

impl TransportError {
    pub fn describe(&self) -> &'static str {
        match self {
            TransportError::Connect => "could not connect",
            TransportError::Timeout => "the request timed out",
            TransportError::TooLarge => "the response was larger than 64 KiB",
            TransportError::Other => "the HTTP exchange failed",
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, TransportError::Connect | TransportError::Timeout)
    }
}

pub trait TokenTransport: Send + Sync {
    fn post_form<'a>(
        &'a self,
        url: &'a str,
        body: Zeroizing<String>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>>;

    /// POST a form with an `Authorization` header (`client_secret_basic`). Transports
    /// that only fake assertion-based endpoints may leave this refusing.
    fn post_form_authorized<'a>(
        &'a self,
        _url: &'a str,
        _body: Zeroizing<String>,
        _authorization: Zeroizing<String>,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        Box::pin(async { Err(TransportError::Other) })
    }

    /// GET a small JSON document (the org JWKS). Transports that only fake token
    /// endpoints may leave this refusing.
    fn get<'a>(
        &'a self,
        _url: &'a str,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        Box::pin(async { Err(TransportError::Other) })
    }
}

/// reqwest with rustls; no redirects (a token request must never be replayed to
/// another host), connect and total timeouts, https only unless the configured base
/// URL is loopback.
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    pub fn new(connect_timeout: Duration, allow_plain_http: bool) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .https_only(!allow_plain_http)
            .user_agent(concat!("xaa-bridge/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()?;
        Ok(Self { client })
    }
}

impl ReqwestTransport {
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<HttpReply, TransportError> {
        let map = |e: reqwest::Error| {
            if e.is_timeout() {
                TransportError::Timeout
            } else if e.is_connect() {
                TransportError::Connect
            } else {
                TransportError::Other
            }
        };
        let exchange = async {
            let mut response = request
                .header("accept", "application/json")
                .send()
                .await
                .map_err(map)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            if response
                .content_length()
                .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
            {
                return Err(TransportError::TooLarge);
            }
            let mut buf = Zeroizing::new(Vec::new());
            while let Some(chunk) = response.chunk().await.map_err(map)? {
                if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(TransportError::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(HttpReply {
                status,
                body: buf,
                retry_after,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(TransportError::Timeout))
    }
}

impl TokenTransport for ReqwestTransport {
    fn post_form<'a>(
        &'a self,
        url: &'a str,
        body: Zeroizing<String>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        // The form holds the subject token and the client assertion: reqwest gets the
        // zeroizing buffer itself (no copy), which is wiped when the request drops it.
        let request = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(bytes::Bytes::from_owner(WipedOnDrop(body)));
        Box::pin(self.send(request, timeout))
    }

    fn get<'a>(
        &'a self,
        url: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        Box::pin(self.send(self.client.get(url), timeout))
    }

    fn post_form_authorized<'a>(
        &'a self,
        url: &'a str,
        body: Zeroizing<String>,
        authorization: Zeroizing<String>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpReply, TransportError>> {
        // The header holds the client secret: no copy, wiped when dropped, and marked
        // sensitive so no debug output of the request shows it.
        let value = reqwest::header::HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(
            WipedOnDrop(authorization),
        ));
        let Ok(mut value) = value else {
            return Box::pin(async { Err(TransportError::Other) });
        };
        value.set_sensitive(true);
        let request = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(reqwest::header::AUTHORIZATION, value)
            .body(bytes::Bytes::from_owner(WipedOnDrop(body)));
        Box::pin(self.send(request, timeout))
    }
}
