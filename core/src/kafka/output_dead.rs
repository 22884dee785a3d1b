//! The dead letters of [`Output`]: refused inputs, and outputs that cannot
//! be produced, with the reason in headers and the payload cut to
//! [`DEAD_LETTER_MAX`].

use rdkafka::message::{Header, OwnedHeaders};

use super::{DEAD_LETTER_MAX, Output, OutputError, Refused};
use crate::kafka::delivery::Kind;

impl Output {
    /// Dead-letters an output that cannot be produced, with the reason, and
    /// counts it under its topic.
    pub(super) async fn divert(
        &mut self,
        topic: &str,
        reason: &str,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), OutputError> {
        self.metrics
            .dead_letters
            .with_label_values(&[topic, "unproducible"])
            .inc();
        self.metrics
            .produce_errors
            .with_label_values(&[topic])
            .inc();
        tracing::error!(
            stage = self.stage,
            topic,
            reason,
            bytes = payload.len(),
            "output dead-lettered"
        );
        let headers = OwnedHeaders::new().insert(Header {
            key: "topic",
            value: Some(topic),
        });
        self.produce_dead(reason, headers, key, payload).await
    }

    /// Sends a refused input to the dead-letter topic (if one is set), with
    /// where it came from and why in headers.
    pub async fn dead_letter(&mut self, r: Refused<'_>) -> Result<(), OutputError> {
        let (partition, offset) = (r.partition.to_string(), r.offset.to_string());
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "topic",
                value: Some(r.topic),
            })
            .insert(Header {
                key: "partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "offset",
                value: Some(&offset),
            });
        self.produce_dead(r.reason, headers, r.key, r.payload).await
    }

    /// Queues a dead letter: `reason` and `stage` headers, payload cut to
    /// [`DEAD_LETTER_MAX`]. One the broker still refuses is logged and
    /// dropped: there is nowhere else to put it.
    async fn produce_dead(
        &mut self,
        reason: &str,
        headers: OwnedHeaders,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), OutputError> {
        if self.args.dead_letter_topic.is_empty() {
            return Ok(());
        }
        let mut headers = headers
            .insert(Header {
                key: "reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "stage",
                value: Some(self.stage),
            });
        let kept = &payload[..payload.len().min(DEAD_LETTER_MAX)];
        let original = payload.len().to_string();
        if kept.len() < payload.len() {
            headers = headers.insert(Header {
                key: "truncated-from",
                value: Some(&original),
            });
        }
        let key = key.map(|k| &k[..k.len().min(DEAD_LETTER_MAX)]);
        let topic = self.args.dead_letter_topic.clone();
        match self
            .enqueue(&topic, None, key, kept, headers, Kind::DeadLetter)
            .await?
        {
            Ok(()) => {}
            Err(error) => {
                tracing::error!(stage = self.stage, %error, reason, "dead letter refused; dropped");
            }
        }
        Ok(())
    }
}
