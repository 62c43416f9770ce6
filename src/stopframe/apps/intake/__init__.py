"""Victim side: hash media on the device and submit hashes only."""
