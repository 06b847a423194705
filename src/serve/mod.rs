//! serve — laid down by its issue.
