//! `state`.
pub mod commit;
