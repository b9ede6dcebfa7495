//! A tiny HTTP/1 client for loopback: one keep-alive connection, no TLS.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Res;

/// One keep-alive HTTP/1 connection (no TLS: everything here is loopback).
pub struct Http {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Http {
    pub async fn connect(addr: SocketAddr) -> Res<Http> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Http {
            sender,
            host: addr.to_string(),
        })
    }

    pub async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Res<(u16, Bytes)> {
        let mut req = hyper::Request::post(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req, body).await
    }

    pub async fn get(&mut self, path: &str) -> Res<(u16, Bytes)> {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Res<(u16, Bytes)> {
        let mut req = hyper::Request::get(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req, String::new()).await
    }

    /// Send one request on the connection and read the whole answer.
    async fn send(
        &mut self,
        req: hyper::http::request::Builder,
        body: String,
    ) -> Res<(u16, Bytes)> {
        self.sender.ready().await?;
        let req = req
            .header(hyper::header::HOST, &self.host)
            .body(Full::new(Bytes::from(body)))?;
        let response = self.sender.send_request(req).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// `http://127.0.0.1:8080/some/path` -> (`127.0.0.1:8080`, `/some/path`); the path is
/// `/` when the URL has none.
pub fn split_url(url: &str) -> Res<(SocketAddr, &str)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not a plain http URL: {url}"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    Ok((hostport.parse()?, path))
}
