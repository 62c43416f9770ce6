"""Platform side: sync signed lists, match uploads, apply per-bank policy."""
