"""Gather concurrent chat requests into model batches.

Request threads submit one chat each and wait; one worker thread takes what has arrived within
a few milliseconds (up to `max_batch`), groups it by (adapter, generation params) and answers
each group with one `generate` call. The model is only ever touched by the worker thread.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

from ladder.types import Chat, Generation, GenerationParams

_STOP = object()


class Batcher:
    def __init__(self, backend: Any, max_batch: int = 8, wait_s: float = 0.01):
        self.backend = backend
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, chat: Chat, params: GenerationParams, adapter: str | None) -> Generation:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="ladder-batcher", daemon=True)
                self._thread.start()
        future: Future[Generation] = Future()
        self._queue.put((chat, params, adapter, future))
        return future.result()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get(timeout=self.wait_s)
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(item)
            groups: dict[tuple[Any, ...], list[Any]] = {}
            for item in batch:
                groups.setdefault((item[2], item[1]), []).append(item)
            for (adapter, params), items in groups.items():
                try:
                    gens = self.backend.generate([i[0] for i in items], params, adapter)
                except Exception as e:  # a failure answers its requests, the loop lives on
                    for i in items:
                        i[3].set_exception(e)
                    continue
                for i, g in zip(items, gens):
                    i[3].set_result(g)
