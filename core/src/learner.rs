//! learner (STUB: helper fills).
