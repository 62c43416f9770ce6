"""The signed list protocol: canonical JSON, Ed25519 signing, snapshot and change documents, the
consumer client, a local list store and the partner formats. Installs without the server stack."""
