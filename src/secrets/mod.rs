//! secrets — laid down by its issue.
