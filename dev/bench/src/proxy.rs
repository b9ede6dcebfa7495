//! The timing TCP proxy in front of moto: how long the Secrets Manager round trip of
//! each init takes, as the function sees it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::Res;

/// One request/response exchange seen on a proxied connection.
#[derive(Clone, Copy)]
struct Exchange {
    start: Instant,
    end: Option<Instant>,
}

/// A TCP proxy in front of moto that timestamps each exchange: from the TCP accept (first
/// exchange of a connection) or the first request byte (later ones) to the last response
/// byte written back. That is the Secrets Manager round trip as the client sees it.
pub struct TimingProxy {
    addr: SocketAddr,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TimingProxy {
    pub async fn start(upstream: SocketAddr) -> Res<TimingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let exchanges: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let shared = exchanges.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let accepted = Instant::now();
                let exchanges = shared.clone();
                tokio::spawn(async move {
                    let _ = proxy_connection(client, upstream, accepted, exchanges).await;
                });
            }
        });
        Ok(TimingProxy {
            addr,
            exchanges,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Total time of the exchanges that started within `[from, to]`, cut at `to`.
    pub fn busy_between(&self, from: Instant, to: Instant) -> Duration {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|x| x.start >= from && x.start <= to)
            .map(|x| x.end.unwrap_or(to).min(to) - x.start)
            .sum()
    }
}

impl Drop for TimingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy_connection(
    client: TcpStream,
    upstream: SocketAddr,
    accepted: Instant,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    // Index of this connection's open exchange; a request byte after a response byte
    // opens the next one.
    let open: Arc<Mutex<Option<(usize, bool)>>> = Arc::default();
    let (ex_up, open_up) = (exchanges.clone(), open.clone());
    let upstream_dir = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut first = true;
        loop {
            let n = client_rd.read(&mut buf).await?;
            if n == 0 {
                return server_wr.shutdown().await;
            }
            {
                let mut open = open_up.lock().unwrap_or_else(|p| p.into_inner());
                let answered = open.is_none_or(|(_, answered)| answered);
                if answered {
                    let mut all = ex_up.lock().unwrap_or_else(|p| p.into_inner());
                    let start = if first { accepted } else { Instant::now() };
                    all.push(Exchange { start, end: None });
                    *open = Some((all.len() - 1, false));
                }
                first = false;
            }
            server_wr.write_all(&buf[..n]).await?;
        }
    };
    let (ex_down, open_down) = (exchanges, open);
    let downstream_dir = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_rd.read(&mut buf).await?;
            if n == 0 {
                return client_wr.shutdown().await;
            }
            client_wr.write_all(&buf[..n]).await?;
            let now = Instant::now();
            let mut open = open_down.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((index, answered)) = open.as_mut() {
                *answered = true;
                if let Some(x) = ex_down
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_mut(*index)
                {
                    x.end = Some(now);
                }
            }
        }
    };
    let _ = tokio::join!(upstream_dir, downstream_dir);
    Ok(())
}
