//! collector (STUB: helper fills).
