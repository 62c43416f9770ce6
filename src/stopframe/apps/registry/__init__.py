"""The registry service: cases, banks and entries of hashes, signed lists out, reports in, audit.

Start it with `stopframe serve`; platforms consume its lists with `stopframe.lists.client`.
"""
