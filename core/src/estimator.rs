//! Estimator stage (STUB: lead fills).
