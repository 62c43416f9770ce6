"""Exact Hamming range search over 256-bit codes."""
