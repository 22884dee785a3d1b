//! predictor (STUB: helper fills).
