"""The pieces of ``benchmarks/orchestrated.py``, one concern per module.

* ``setup``: the customer model (trained, packaged, registered), the customer table in a
  SQLite file and in a PostgreSQL database made for the run, the sources files;
* ``load``: request bodies (score by id, and the joined record for predict) and the wrk
  Lua script that picks a random one per request;
* ``cpu``: who used the CPU during a run (server, PostgreSQL, wrk, anything else);
* ``report``: the Markdown tables and the targets.

Starting and stopping servers, running and parsing wrk, and pinning come from
``online_peers`` (``procs``, ``wrk``, ``paired``).
"""
