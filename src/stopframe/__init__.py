"""stopframe: find known abuse recordings by perceptual hash, without ever sharing media.

Data flow: media (decode) -> signals (hashes) -> index (Hamming search) -> matcher/triage
(decisions), with the registry keeping and signing the hash lists in between.
"""

__version__ = "0.1.0"
