"""Machinery of this machine: the embedded emulator, the environment lock, progress on the
terminal, and the CDK CLI's environment."""
