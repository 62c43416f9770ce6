"""HTTP routes, one module per resource; each parses, calls a service, formats."""
