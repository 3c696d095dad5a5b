"""Benchmarks: one module per area, each timed against a fair baseline in the same run.

Each benchmark module (:mod:`~command.bench.route`, :mod:`~command.bench.recommend`) exposes
``register(sub)`` adding its ``cad bench <name>`` subcommand; the figures go to
``docs/benchmarks.md`` with the date, the command and the machine's load. Latency figures are
summarised by :mod:`command.bench.stats` only, so every benchmark's p95 means the same thing.
The other modules serve them: the pgRouting baseline (:mod:`~command.bench.baseline`),
a scratch database (:mod:`~command.bench.scratch`), seeded
places on the roads (:mod:`~command.bench.scenarios`), a city-sized road network
(:mod:`~command.bench.city`).
"""
