//! The learner stage as its own process (completed with the Kafka transport).
fn main() -> anyhow::Result<()> {
    anyhow::bail!(
        "the learner binary needs the Kafka transport, which is not built yet; use `tweetoscope run`"
    )
}
