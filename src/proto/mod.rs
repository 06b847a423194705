//! proto — laid down by its issue.
