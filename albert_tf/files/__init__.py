"""File helpers: atomic writes (outputs appear only once complete) and comma-separated globs."""
