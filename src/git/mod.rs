//! git — laid down by its issue.
