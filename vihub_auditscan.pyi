# Types of the native module built from native/auditscan.c (see hub/services/audit_verify_pg.py).
from collections.abc import Callable, Iterable, Mapping
from typing import Any

class Scanner:
    accepted: int
    last: tuple[int, str] | None
    def __init__(
        self,
        pieces: Mapping[str, tuple[str, ...] | None],
        changes: Mapping[str, str],
        checkpoints: Iterable[int],
    ) -> None: ...
    def expect(self, seq: int, prev_hash: str, /) -> None: ...
    def feed(self, message: bytes | memoryview, /) -> bool: ...
    def drain(self, get: Callable[[int], tuple[int, Any]], /) -> tuple[int, Any]: ...
    def canonical(self, message: bytes | memoryview, /) -> bytes | None: ...
