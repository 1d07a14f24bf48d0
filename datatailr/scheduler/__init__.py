"""The composition layer: the public ``Workflow`` handle and ``@workflow``, deploys, local
runs, reruns and the agent. The one place that sees core, store and engine together."""
