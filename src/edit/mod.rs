//! `edit`.
