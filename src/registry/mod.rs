//! `registry`.
