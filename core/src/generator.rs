//! STUB until merge.
use std::sync::Arc;
use crate::data::Dataset;
use crate::schema::TweetMsg;
#[derive(Debug, Clone)]
pub struct ReplayConfig { pub sources: usize, pub max_active: usize, pub start_spread: f64, pub watermark_interval: f64, pub seed: u64 }
impl Default for ReplayConfig { fn default() -> Self { Self { sources: 4, max_active: 50, start_spread: 600.0, watermark_interval: 60.0, seed: 0 } } }
#[derive(Debug, Clone)]
pub struct Emitted { pub at: f64, pub msg: TweetMsg }
#[derive(Debug)]
pub struct Replay { _d: Arc<Dataset> }
impl Replay {
    pub fn new(d: Arc<Dataset>, _c: ReplayConfig) -> Self { Self { _d: d } }
    pub fn total_tweets(&self) -> usize { 0 }
}
impl Iterator for Replay { type Item = Emitted; fn next(&mut self) -> Option<Emitted> { None } }
