//! `watch`.
