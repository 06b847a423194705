//! mother — laid down by its issue.
