"""The store: the only code that touches disk or a database.

``metadata`` keeps workflows, versions, runs and task runs in SQL; ``blobs`` keeps results,
logs and frozen code under a folder or any fsspec URL; ``recorder`` turns the engine's run
events into rows. Must not import ``datatailr.engine``: run events connect the two.
"""
