//! scry — laid down by its issue.
