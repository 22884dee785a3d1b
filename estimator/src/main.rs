//! The estimator stage as its own process (completed with the Kafka transport).
fn main() -> anyhow::Result<()> {
    anyhow::bail!(
        "the estimator binary needs the Kafka transport, which is not built yet; use `tweetoscope run`"
    )
}
