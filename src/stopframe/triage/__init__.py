"""Investigator side: cluster a seized collection and cross-check it against lists."""
