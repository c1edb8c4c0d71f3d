"""The worker's side: the process a manager starts, and the API its tasks see.

``_main`` (start-up and the main thread, which runs the tasks), ``_control`` (the control thread),
``_driver`` (the glue, free of I/O), ``_core`` (the protocol's decisions, free of I/O), ``_port``
(sockets), ``_api`` (``proWorkerObject()``), ``_tasks`` (what each operation runs), ``_zygote``
(the fork server of warm starts).  Kept light: a worker imports only what it needs.
"""
