"""Redis 7: a primary, its replicas and Sentinels (issue 14; the plugin: ``harness.systems.redis.plugin``)."""
from harness.systems.redis.system import RedisBinaries, RedisConfig, RedisSystem, find_redis, run_cli

__all__ = ["RedisBinaries", "RedisConfig", "RedisSystem", "find_redis", "run_cli"]
