"""The recommendation service: an HTTP API (``interarec serve``) that takes shoppers' frames and workers
(``interarec worker``) that turn them into recommendations, joined by a Redis queue (arq) and shared stores.
See docs/service.md."""
