"""Calls to the live accounts (AWS or the embedded emulator): sessions per account, the peering
handshake, adoption of what an interrupted apply left, inventory, verify, the journey, teardown."""
