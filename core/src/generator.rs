//! Tweet sources (STUB: helper fills).
