"""Files and folders to signals: `hash_file` for one file, `hash_paths` for many (worker pools)."""
