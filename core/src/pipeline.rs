//! In-process transport (STUB: lead fills).
