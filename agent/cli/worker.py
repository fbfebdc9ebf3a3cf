"""`interarec worker`: one worker of the recommendation service (agent/service/worker.py, docs/service.md)."""

from __future__ import annotations

import argparse

from agent.cli.common import EXIT_OK, common_options, settings_from
from agent.cli.serve import redis_options, require_redis, service_config


def cmd_worker(args: argparse.Namespace) -> int:
    from agent.service.worker import make_worker

    config = service_config(args)
    require_redis(config.redis_url)
    worker = make_worker(settings_from(args), config, burst=args.burst)
    worker.run()
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    worker = sub.add_parser("worker", parents=[common_options(), redis_options()],
                            help="one worker of the recommendation service: queued frames -> recommendations")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=cmd_worker)
