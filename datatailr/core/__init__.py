"""The pure core: DAG nodes, tracing of workflow bodies, names, environments, states, schedules.

Imports nothing but the standard library and ``datatailr.errors``: no disk, database, thread
or display. Everything that runs, stores or shows builds on these plain values.
"""
