"""HTTP routes of the matcher, one module per concern; each parses, calls the service, formats."""
