//! model (STUB: helper fills).
