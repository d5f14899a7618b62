"""The pieces of ``benchmarks/online.py``, one concern per module.

* ``systems``: what runs (modelport, the bare app, the peers) and how each is started;
* ``venvs``: one virtual environment per peer, reused while its requirements are the same;
* ``procs``: server processes, readiness, memory sampling, stopping whole process trees;
* ``payloads``: request bodies in each system's format, and reading the answers back;
* ``wrk``: installing, scripting, running and parsing the load generator;
* ``report``: the Markdown tables and the targets;
* ``mlserver_config``: MLServer's settings files;
* loaded by a server or a peer's Python, never imported here: ``bare_app`` (the ASGI
  limit), ``flask_app``, ``bentoml_service``, ``mlflow_export`` (joblib to MLflow's format).
"""
