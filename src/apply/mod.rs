//! `apply`.
