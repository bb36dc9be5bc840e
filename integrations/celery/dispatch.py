"""Publishing a job's message (the `Dispatcher` of toolkit.engine.distributed) through Celery.

The message carries the job id only; it is sent without kombu's publish retries, so a broker that is down
costs the enqueueing process one failed connection attempt, not a stall: the job is already in the store
and the trigger's sweep publishes it again.
"""

from __future__ import annotations

import threading

from integrations.celery.app import TASK, make_celery, queue_name
from toolkit.adapter_options import AdapterOptions
from toolkit.settings import Settings


class CeleryDispatcher:
    # No options of its own: everything it needs is `settings.engine` (the broker a SecretRef), which the
    # settings' own secret walk covers (tests/toolkit/test_settings_secrets.py).
    Options = AdapterOptions

    def __init__(self, *, settings: Settings) -> None:
        self._celery = make_celery(settings)
        self._lock = threading.Lock()  # kombu's producer pool is per app; one publisher at a time is plenty

    def publish(self, job_id: int, family: str, countdown: float = 0.0) -> None:
        with self._lock:
            self._celery.send_task(TASK, args=[int(job_id)], queue=queue_name(family),
                                   countdown=countdown or None, retry=False)

    def close(self) -> None:
        self._celery.close()
