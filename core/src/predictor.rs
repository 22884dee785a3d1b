//! STUB until merge.
use crate::schema::{Message, Topic, Window};
use crate::stage::{Ctx, Stage, StageError};
#[derive(Debug, Clone)]
pub struct PredictorConfig { pub features: Vec<String>, pub state_ttl: f64, pub done_ttl: f64, pub w_max: f64 }
impl Default for PredictorConfig { fn default() -> Self { Self { features: vec![], state_ttl: 0.0, done_ttl: 0.0, w_max: 0.0 } } }
#[derive(Debug, Clone, Default)]
pub struct PredictorStats { pub duplicates: u64 }
#[derive(Debug)]
pub struct Predictor { stats: PredictorStats }
impl Predictor {
    pub fn new(_cfg: PredictorConfig) -> Self { Self { stats: PredictorStats::default() } }
    pub fn stats(&self) -> &PredictorStats { &self.stats }
    pub fn model_version(&self, _w: Window) -> Option<u64> { None }
}
impl Stage for Predictor {
    fn name(&self) -> &'static str { "predictor" }
    fn inputs(&self) -> &'static [Topic] { &[Topic::CascadeProperties, Topic::Models] }
    fn handle(&mut self, _m: Message, _c: Ctx, _o: &mut Vec<Message>) -> Result<(), StageError> { Ok(()) }
}
