"""The platform matcher service: sync signed lists, match uploads, act."""
