"""Encrypted containers: AES-256 ZIP (aeszip) and the sealed envelope (envelope)."""
