"""The registry service: cases, banks, entries, signed lists, audit."""
