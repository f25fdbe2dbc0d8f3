"""The token bucket."""

from __future__ import annotations

from quarantine.web.ratelimit import RateLimiter


def test_bucket_refills_over_time() -> None:
    t = [0.0]
    limiter = RateLimiter(60, clock=lambda: t[0])
    assert all(limiter.take("a") == 0 for _ in range(60))
    wait = limiter.take("a")
    assert 0.9 < wait <= 1.0
    assert limiter.take("b") == 0  # other clients unaffected
    t[0] += 1.0
    assert limiter.take("a") == 0
    assert RateLimiter.retry_after(0.2) == "1"


def test_bucket_memory_is_bounded() -> None:
    limiter = RateLimiter(10, max_keys=100)
    for i in range(1000):
        limiter.take(str(i))
    assert len(limiter._buckets) == 100
