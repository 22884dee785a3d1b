//! Synthetic NEWS-like sets (STUB: helper fills).
