//! STUB until merge.
use crate::model::{ForestConfig, Target};
use crate::schema::{Message, Topic};
use crate::stage::{Ctx, Stage, StageError};
#[derive(Debug, Clone)]
pub struct LearnerConfig { pub features: Vec<String>, pub target: Target, pub min_samples: usize, pub retrain_growth: f64, pub min_retrain: usize, pub max_samples: usize, pub forest: ForestConfig }
impl Default for LearnerConfig { fn default() -> Self { Self { features: vec![], target: Target::LogGrowth, min_samples: 100, retrain_growth: 0.25, min_retrain: 50, max_samples: 5000, forest: ForestConfig::default() } } }
#[derive(Debug, Clone, Default)]
pub struct LearnerStats { pub models_trained: u64 }
#[derive(Debug)]
pub struct Learner { stats: LearnerStats }
impl Learner {
    pub fn new(_cfg: LearnerConfig) -> Self { Self { stats: LearnerStats::default() } }
    pub fn stats(&self) -> &LearnerStats { &self.stats }
}
impl Stage for Learner {
    fn name(&self) -> &'static str { "learner" }
    fn inputs(&self) -> &'static [Topic] { &[Topic::Samples] }
    fn handle(&mut self, _m: Message, _c: Ctx, _o: &mut Vec<Message>) -> Result<(), StageError> { Ok(()) }
}
