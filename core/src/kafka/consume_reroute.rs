//! A record of a window whose partition another replica owns: produced
//! again to that partition, once per series.

use super::Kafka;
use crate::kafka::DriverError;
use crate::kafka::partition::Reroute;
use crate::schema::Message;
use crate::stage::Origin;

impl<'c> Kafka<'c> {
    /// Produces `msg` (read at `origin` of `topic_name`) again to its
    /// window's partition. A repeat of a series already sent there is
    /// dropped here, as that estimator would drop it.
    pub(super) async fn pass_on(
        &mut self,
        msg: &Message,
        reroute: Reroute,
        topic_name: &str,
        origin: Origin,
    ) -> Result<(), DriverError> {
        let transport = &self.tel.transport;
        if self.output.repeat(msg) {
            transport
                .reroute_repeats
                .with_label_values(&[topic_name])
                .inc();
            return Ok(());
        }
        transport.rerouted.with_label_values(&[topic_name]).inc();
        if reroute.first {
            tracing::warn!(
                stage = self.stage,
                topic = topic_name,
                partition = origin.partition,
                offset = origin.offset,
                window = msg.window(),
                to = reroute.to,
                "window on another partition than its own: produced again to it (further ones counted in rerouted_total)"
            );
        }
        self.output.send(msg, self.origin_ms).await?;
        Ok(())
    }
}
