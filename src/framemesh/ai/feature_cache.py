"""Feature caching across denoising steps.

diffusers 0.42's caches (First Block Cache, FasterCache, MagCache, TaylorSeer) hook
into transformer denoisers only; Stable Diffusion's and SVD's UNets are not covered.
For UNets this module does what DeepCache does: the deep features change slowly from
one step to the next, so on N-1 of every N steps only the outermost down block and the
outermost up block run, and everything deeper (the other down blocks, the mid block,
the other up blocks) returns what it returned on the last full step. For a transformer
denoiser it turns on diffusers' own First Block Cache.

    cache = enable_feature_cache(pipe, interval=3)   # None when interval == 1
    cache.reset()        # before each generation
    cache.skipped        # UNet passes that reused deep features
"""

from __future__ import annotations

from typing import Any

FIRST_BLOCK_CACHE_THRESHOLD = 0.1


class DeepFeatureCache:
    """Reuse a UNet's deep features on all but every `interval`-th call."""

    def __init__(self, unet: Any, interval: int) -> None:
        if interval < 2:
            raise ValueError(f"interval must be >= 2, got {interval}")
        self.interval = interval
        self.calls = 0
        self.skipped = 0
        self._reuse = False
        self._cache: dict[int, Any] = {}
        deep = [*unet.down_blocks[1:], *unet.up_blocks[:-1]]
        if unet.mid_block is not None:
            deep.append(unet.mid_block)
        for module in deep:
            self._wrap(module)
        unet.register_forward_pre_hook(self._on_unet_call)

    def reset(self) -> None:
        self.calls = 0
        self._cache.clear()

    def _on_unet_call(self, module: Any, args: Any) -> None:
        self._reuse = self.calls % self.interval != 0 and bool(self._cache)
        self.calls += 1
        if self._reuse:
            self.skipped += 1

    def _wrap(self, module: Any) -> None:
        original = module.forward
        key = id(module)

        def forward(*args: Any, **kwargs: Any) -> Any:
            if self._reuse and key in self._cache:
                return self._cache[key]
            out = original(*args, **kwargs)
            self._cache[key] = out
            return out

        module.forward = forward


def enable_feature_cache(pipe: Any, interval: int) -> DeepFeatureCache | None:
    """Turn feature caching on for `pipe`'s denoiser; None when off (interval 1)."""
    if interval <= 1:
        return None
    transformer = getattr(pipe, "transformer", None)
    if transformer is not None and hasattr(transformer, "enable_cache"):
        from diffusers import FirstBlockCacheConfig

        transformer.enable_cache(FirstBlockCacheConfig(threshold=FIRST_BLOCK_CACHE_THRESHOLD))
        return None
    return DeepFeatureCache(pipe.unet, interval)
