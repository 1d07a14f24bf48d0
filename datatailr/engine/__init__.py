"""The engine: executing a run.

``scheduling`` is a pure state machine over a run's DAG (dask's local scheduler is the model);
``controller`` drives it with any executor and emits run events; ``local`` is the default
executor (a pool of forked worker processes); ``worker`` is what runs inside a worker.
Must not import ``datatailr.store``: results and logs go through the ``TaskIO`` object the
composition layer hands in, and rows are written by listeners of the run events.
"""
