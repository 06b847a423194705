//! client — laid down by its issue.
