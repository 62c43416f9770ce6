"""The registry's operations on the database; routes and the CLI call these, nothing else writes."""
