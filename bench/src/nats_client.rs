//! async-nats publishers and subscribers for the throughput workloads (`--client async-nats`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use futures::{FutureExt as _, StreamExt as _};
use tokio::sync::Barrier;

use crate::throughput::{PubJob, PubResult, SubResult, SubState};

/// How often a waiting subscriber re-checks whether it should stop.
const POLL: Duration = Duration::from_millis(50);

/// Connects with buffers large enough that the client does not drop messages itself (the
/// default subscription capacity, 65,536, overflows in a fast fan-out).
pub async fn connect(server: &str) -> anyhow::Result<async_nats::Client> {
    let settings = crate::transport::settings();
    let mut opts = match (&settings.user, &settings.password) {
        (Some(user), password) => async_nats::ConnectOptions::with_user_and_password(
            user.clone(),
            password.clone().unwrap_or_default(),
        ),
        (None, _) => async_nats::ConnectOptions::new(),
    };
    if let Some((_, ca)) = &settings.tls {
        opts = opts.require_tls(true).add_root_certificates(ca.clone());
    }
    opts.name("rnats-bench")
        .subscription_capacity(1 << 20)
        .client_capacity(1 << 16)
        .connect(server)
        .await
        .with_context(|| format!("connecting to {server}"))
}

/// A connected async-nats publisher.
pub struct Publisher {
    client: async_nats::Client,
}

impl Publisher {
    pub async fn connect(server: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: connect(server).await?,
        })
    }

    /// Waits at `barrier`, publishes `job`, then flushes.
    pub async fn run(self, job: PubJob, barrier: Arc<Barrier>) -> anyhow::Result<PubResult> {
        let payload = Bytes::from(vec![b'x'; job.size]);
        let subject = async_nats::Subject::from(job.subject.as_str());
        barrier.wait().await;
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < job.count {
            // Checking the clock per message would cost more than publishing.
            if sent.is_multiple_of(1024) && job.deadline.is_some_and(|d| start.elapsed() >= d) {
                break;
            }
            self.client
                .publish(subject.clone(), payload.clone())
                .await
                .context("publish")?;
            sent += 1;
        }
        self.client.flush().await.context("flush")?;
        Ok(PubResult {
            sent,
            elapsed: start.elapsed(),
        })
    }
}

/// A connected async-nats subscriber.
pub struct Subscriber {
    _client: async_nats::Client,
    sub: async_nats::Subscriber,
}

impl Subscriber {
    /// Connects and subscribes; returns once the server has the subscription (flush).
    pub async fn connect(server: &str, subject: &str, queue: Option<&str>) -> anyhow::Result<Self> {
        let client = connect(server).await?;
        let sub = match queue {
            Some(q) => {
                client
                    .queue_subscribe(subject.to_string(), q.to_string())
                    .await?
            }
            None => client.subscribe(subject.to_string()).await?,
        };
        client.flush().await.context("flush")?;
        Ok(Self {
            _client: client,
            sub,
        })
    }

    /// Counts messages until [`SubState::should_stop`].
    pub async fn run(mut self, state: Arc<SubState>) -> anyhow::Result<SubResult> {
        let mut received = 0u64;
        let mut last = None;
        while !state.should_stop(last) {
            match tokio::time::timeout(POLL, self.sub.next()).await {
                Ok(Some(_msg)) => {
                    // Drain what is already queued without arming a timer per message.
                    let mut got = 1u64;
                    while let Some(Some(_msg)) = self.sub.next().now_or_never() {
                        got += 1;
                    }
                    received += got;
                    last = Some(Instant::now());
                    state.total.fetch_add(got, Ordering::Relaxed);
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
        Ok(SubResult { received, last })
    }
}
