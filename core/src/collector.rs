//! STUB until merge.
use crate::schema::{Message, Topic, Window};
use crate::stage::{Ctx, Stage, StageError};
#[derive(Debug, Clone)]
pub struct CollectorConfig { pub windows: Vec<Window>, pub termination: f64, pub min_cascade_size: usize, pub late_horizon: f64 }
#[derive(Debug, Clone, Default)]
pub struct CollectorStats { pub tweets: u64, pub late_tweets: u64, pub series_sent: u64, pub sizes_sent: u64 }
#[derive(Debug)]
pub struct Collector { stats: CollectorStats }
impl Collector {
    pub fn new(_cfg: CollectorConfig) -> Self { Self { stats: CollectorStats::default() } }
    pub fn stats(&self) -> &CollectorStats { &self.stats }
    pub fn open_cascades(&self) -> usize { 0 }
    pub fn finish(&mut self, _out: &mut Vec<Message>) {}
}
impl Stage for Collector {
    fn name(&self) -> &'static str { "collector" }
    fn inputs(&self) -> &'static [Topic] { &[Topic::Tweets] }
    fn handle(&mut self, _m: Message, _c: Ctx, _o: &mut Vec<Message>) -> Result<(), StageError> { Ok(()) }
}
