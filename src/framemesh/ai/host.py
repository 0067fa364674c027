"""ModelHost: what the orchestrator holds. It serves the models of an `AIConfig`,
each in its own worker processes, with an asyncio face.

    config = load_config("models.toml")
    async with ModelHost(config) as host:          # starts the warm models
        result = await host.run("text-to-image", "framemesh/tiny-sd", request)
        async for item in host.stream("llm", "framemesh/tiny-llm", request):
            ...                                    # str pieces as they are made, then the result
        host.status()                              # warm/cold, capacity, in use, price

`run` checks the request before it reaches a worker (InvalidRequest, UnknownModel),
answers from the exact-result cache when it can, starts a cold model on first use,
waits for a free worker of that model (capacity = worker processes), and when a
worker dies mid-job raises WorkerDied and starts a fresh process for the next job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from framemesh.ai.cache import ResultCache, cache_key
from framemesh.ai.config import AIConfig, ModelSpec
from framemesh.ai.errors import InvalidRequest, UnknownModel, WorkerDied
from framemesh.ai.requests import DEFAULT_LIMITS, REQUEST_TYPES, Limits
from framemesh.ai.worker import Worker


@dataclass(frozen=True)
class ModelStatus:
    """One served model, as the orchestrator advertises it."""

    pipeline: str
    model_id: str
    warm: bool  # a worker has the model loaded now
    capacity: int  # jobs at once
    in_use: int  # jobs running now
    price_per_unit: int  # wei
    default_frames: int | None = None  # image-to-video: frames made when a request does not say


class _Model:
    def __init__(self, spec: ModelSpec, limits: Limits, start_method: str) -> None:
        self.spec = spec
        self.workers = [Worker(spec, limits, start_method) for _ in range(spec.capacity)]
        self.idle: asyncio.Queue[Worker] = asyncio.Queue()
        for worker in self.workers:
            self.idle.put_nowait(worker)
        self.in_use = 0


class ModelHost:
    def __init__(
        self,
        config: AIConfig,
        limits: Limits = DEFAULT_LIMITS,
        start_method: str = "spawn",
        timeout: float | None = None,
    ) -> None:
        self.config = config
        self.limits = limits
        self.timeout = timeout
        self.cache = (
            ResultCache(config.cache_dir, max_bytes=config.cache_max_mb << 20) if config.cache_dir is not None else None
        )
        self._start_method = start_method
        self._models: dict[tuple[str, str], _Model] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=sum(s.capacity for s in config.models) + 4, thread_name_prefix="ai-host"
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> ModelHost:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Create every model's slot and start the warm ones' workers (in parallel)."""
        for spec in self.config.models:
            self._models[spec.key] = _Model(spec, self.limits, self._start_method)
        starts = [
            self._blocking(worker.start)
            for m in self._models.values()
            if m.spec.warm
            for worker in m.workers
        ]
        await asyncio.gather(*starts)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(
            *(self._blocking(w.stop) for m in self._models.values() for w in m.workers)
        )
        self._pool.shutdown(wait=False, cancel_futures=True)

    def status(self) -> list[ModelStatus]:
        return [
            ModelStatus(
                pipeline=m.spec.pipeline,
                model_id=m.spec.model_id,
                warm=any(w.alive for w in m.workers),
                capacity=m.spec.capacity,
                in_use=m.in_use,
                price_per_unit=m.spec.price_per_unit,
                default_frames=m.spec.default_frames,
            )
            for m in self._models.values()
        ]

    def worker_pids(self, pipeline: str, model_id: str) -> list[int]:
        return [w.pid for w in self._model(pipeline, model_id).workers if w.pid is not None]

    async def run(
        self, pipeline: str, model_id: str, request: Any, on_piece: Callable[[Any], None] | None = None
    ) -> Any:
        """Run `request` on the model; the work happens in a worker process. With
        `on_piece`, each piece of output is handed to it (from a thread) as it is made."""
        model = self._model(pipeline, model_id)
        expected = REQUEST_TYPES[pipeline]
        if not isinstance(request, expected):
            raise InvalidRequest(f"{pipeline} takes a {expected.__name__}, got {type(request).__name__}")
        await self._blocking(request.check, self.limits)
        key = cache_key(model.spec, request) if self.cache and model.spec.options.result_cache else None
        if key is not None:
            cached = await self._blocking(self.cache.get, key)  # type: ignore[union-attr]
            if cached is not None:
                return cached
        worker = await model.idle.get()
        model.in_use += 1
        # The job owns the worker until the process answers, even if the caller is
        # cancelled meanwhile: a worker is never handed on with a stale answer pending.
        job = asyncio.get_running_loop().create_task(self._use(model, worker, request, on_piece))
        self._tasks.add(job)
        job.add_done_callback(self._tasks.discard)
        job.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved if abandoned
        result = await asyncio.shield(job)
        if key is not None:
            await self._blocking(self.cache.put, key, result)  # type: ignore[union-attr]
        return result

    async def stream(self, pipeline: str, model_id: str, request: Any) -> AsyncGenerator[Any, None]:
        """Run `request`, yielding each piece of output (an LLM's text) as the worker
        makes it, then the result. Raises what `run` raises; a cached result comes as
        one piece."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[Any] = asyncio.Queue()
        def on_piece(piece: Any) -> None:  # called in a pool thread
            loop.call_soon_threadsafe(pieces.put_nowait, piece)

        job = loop.create_task(self.run(pipeline, model_id, request, on_piece))
        emitted = False
        try:
            while not job.done():
                getter = loop.create_task(pieces.get())
                await asyncio.wait({getter, job}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    emitted = True
                    yield getter.result()
                else:
                    getter.cancel()
            while not pieces.empty():
                emitted = True
                yield pieces.get_nowait()
            result = job.result()
            text = getattr(result, "text", None)
            if not emitted and text:
                yield text
            yield result
        finally:
            if not job.done():
                job.cancel()  # the worker itself finishes its job (run shields it)

    async def _use(self, model: _Model, worker: Worker, request: Any, on_piece: Callable[[Any], None] | None = None) -> Any:
        try:
            if not worker.alive:
                await self._blocking(worker.start)
            result = await self._blocking(worker.call, request, self.timeout, on_piece)
        except WorkerDied:
            self._restart_later(model, worker)
            raise
        except BaseException:
            model.idle.put_nowait(worker)
            raise
        else:
            model.idle.put_nowait(worker)
            return result
        finally:
            model.in_use -= 1

    def _model(self, pipeline: str, model_id: str) -> _Model:
        model = self._models.get((pipeline, model_id))
        if model is None:
            offered = ", ".join(f"{p} {m!r}" for p, m in sorted(self._models)) or "nothing"
            raise UnknownModel(f"no {pipeline} model {model_id!r} here; served: {offered}")
        return model

    def _restart_later(self, model: _Model, worker: Worker) -> None:
        async def restart() -> None:
            try:
                await self._blocking(worker.restart)
            except Exception:  # noqa: BLE001 - the next job's start() tries again and reports
                pass
            finally:
                model.idle.put_nowait(worker)

        task = asyncio.get_running_loop().create_task(restart())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _blocking(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
