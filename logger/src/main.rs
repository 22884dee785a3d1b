//! The logger stage as its own process (completed with the Kafka transport).
fn main() -> anyhow::Result<()> {
    anyhow::bail!(
        "the logger binary needs the Kafka transport, which is not built yet; use `tweetoscope run`"
    )
}
