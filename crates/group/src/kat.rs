//! Known-answer vectors (placeholder).
