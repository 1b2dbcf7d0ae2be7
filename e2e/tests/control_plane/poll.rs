//! Waiting in tests: poll a condition until it holds or a deadline passes.

use std::future::Future;
use std::time::{Duration, Instant};

use libtest_mimic::Failed;

/// Pause between two checks.
const INTERVAL: Duration = Duration::from_millis(250);

/// Runs `check` until it returns `Ok`; fails with the last error after `timeout`.
pub async fn until<T, C, F>(what: &str, timeout: Duration, mut check: C) -> Result<T, Failed>
where
    C: FnMut() -> F,
    F: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(last) if start.elapsed() >= timeout => {
                return Err(format!("{what}: not true after {timeout:?}: {last}").into());
            }
            Err(_) => tokio::time::sleep(INTERVAL).await,
        }
    }
}
