//! `state`.
