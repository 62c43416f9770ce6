"""Matching hashes against lists: video clips (vPDQ), robust picture sets, and the bank policy."""
