"""Cross-module constants."""

from __future__ import annotations

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key that serialises appends to the audit hash chain.
AUDIT_CHAIN_LOCK_KEY = 0x56494855_41554449  # "VIHUAUDI"
TOKEN_PREFIX = "vih_"
