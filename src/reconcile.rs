//! The pipeline: where definitions, policies, live state and registry observations meet.
