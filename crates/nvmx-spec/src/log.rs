//! Placeholder: filled in by the spec work.
