//! agent — laid down by its issue.
