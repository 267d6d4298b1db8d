"""``python -m bench.verify_process``: run ``audit_verify(record=False)`` in a fresh process and
print one JSON line (time, events, resident memory before and at the peak of the walk).

Started by ``bench.audit`` with ``DATABASE_URL`` pointing at the bench's database and
``VIHUB_AUDIT_PUBLIC_KEY`` set to the key that signed its checkpoint (and by ``bench.verify``,
optionally with ``VIHUB_BENCH_VERIFY_WORKERS``). A fresh process shows what
the walk itself costs in memory: the parent has already held bigger things (the seed), whose
freed memory the walk would reuse unseen.
"""

from __future__ import annotations

import json
import os
import re
import resource
import time
from pathlib import Path

STATUS = Path("/proc/self/status")


def _status_mb(name: str) -> float | None:
    try:
        match = re.search(rf"^{name}:\s+(\d+) kB", STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return round(int(match.group(1)) / 1024, 1) if match else None


def reset_peak() -> str:
    """Reset the kernel's high-water mark to the current RSS (Linux ``clear_refs`` 5), so the
    peak read afterwards is the walk's, not the imports'; else fall back to ``ru_maxrss``."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return "ru_maxrss"
    return "VmHWM"


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django  # noqa: PLC0415

    django.setup()
    from django.db import connection  # noqa: PLC0415

    from hub.models import AuditCheckpoint  # noqa: PLC0415
    from hub.services.audit_integrity import audit_verify  # noqa: PLC0415

    AuditCheckpoint.objects.count()  # connected, models loaded: the baseline
    method = reset_peak()
    before = _status_mb("VmRSS") if method == "VmHWM" else None
    if before is None:
        method, before = "ru_maxrss", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    workers = int(os.environ.get("VIHUB_BENCH_VERIFY_WORKERS", "0")) or None
    cpu_before = _cpu_s()
    start = time.perf_counter()
    result = audit_verify(record=False, workers=workers)
    seconds = time.perf_counter() - start
    cpu = _cpu_s() - cpu_before
    peak = _status_mb("VmHWM") if method == "VmHWM" else None
    if peak is None:
        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    connection.close()
    print(
        json.dumps(
            {
                "ok": result.ok,
                "events": result.events_checked,
                "checkpoints": result.checkpoints_checked,
                "message": result.message,
                "seconds": round(seconds, 2),
                "events_per_s": round(result.events_checked / seconds, 1) if seconds else None,
                "memory_method": method,
                "rss_before_mb": before,
                "rss_peak_mb": peak,
                "rss_peak_growth_mb": round(max(0.0, peak - before), 1),
                # Forked workers (PostgreSQL): the largest one's peak, shared pages included.
                "worker_rss_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
                # Python CPU (this process and its workers; not the database server's).
                "python_cpu_s": round(cpu, 2),
                "python_cpu_us_per_event": round(cpu * 1e6 / result.events_checked, 2)
                if result.events_checked
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
