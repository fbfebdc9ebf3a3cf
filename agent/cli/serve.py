"""`interarec serve`: the recommendation service's HTTP API (agent/service/api.py, docs/service.md)."""

from __future__ import annotations

import argparse

from agent.cli.common import EXIT_OK, UsageError, common_options, settings_from
from agent.service.config import ServiceConfigError, load_service_config


def service_config(args: argparse.Namespace):
    try:
        return load_service_config(settings_from(args), redis_url=args.redis_url,
                                   keys_file=getattr(args, "keys_file", None),
                                   max_queue=getattr(args, "max_queue", None))
    except ServiceConfigError as exc:
        raise UsageError(str(exc)) from exc


def require_redis(redis_url: str) -> None:
    """One clear line (exit 2) instead of a traceback when the queue's Redis does not answer."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        where = f"{client.connection_pool.connection_kwargs.get('host')}:" \
                f"{client.connection_pool.connection_kwargs.get('port')}"  # never the password of the URL
        raise UsageError(f"Redis is not reachable at {where} ({type(exc).__name__}); start redis-server or "
                         "give --redis-url / INTERAREC_REDIS_URL") from exc
    finally:
        client.close()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from agent.service.api import create_app

    config = service_config(args)
    if not config.api_keys:
        raise UsageError("no API keys: set INTERAREC_SERVICE_KEYS='shop=key' (16 characters or more) or give "
                         "--keys-file FILE with one shop=key per line")
    require_redis(config.redis_url)
    uvicorn.run(create_app(settings_from(args), config), host=args.host, port=args.port, log_level="info"
                if args.verbose else "warning")
    return EXIT_OK


def redis_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--redis-url", help="the queue's Redis (default INTERAREC_REDIS_URL or "
                                             "redis://127.0.0.1:6379/0)")
    return options


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", parents=[common_options(), redis_options()],
                           help="the recommendation service's HTTP API (needs Redis and `interarec worker`)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--keys-file", help="the shops' API keys, one shop=key per line (default "
                                           "INTERAREC_SERVICE_KEYS_FILE or INTERAREC_SERVICE_KEYS)")
    serve.add_argument("--max-queue", type=int, help="frames waiting before POST answers 429 (default 1000)")
    serve.set_defaults(func=cmd_serve)
