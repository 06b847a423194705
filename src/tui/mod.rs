//! tui — laid down by its issue.
