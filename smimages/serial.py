"""An executor that runs each call inline, one at a time across threads: SQLite's one writer, without a thread hop."""

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class SerialExecutor(Executor):
    """Runs submitted calls in the caller's thread under one lock, returning completed futures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Calls fn(*args) when no other call is running, and returns its result."""
        with self._lock:
            return fn(*args)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(self.run(lambda: fn(*args, **kwargs)))
        except BaseException as exc:  # the future carries it, as a pool's would
            future.set_exception(exc)
        return future
