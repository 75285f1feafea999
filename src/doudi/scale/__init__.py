"""Province and national batches: the same pure Polars rule functions, run per partition on Apache Spark.

Nothing here implements a rule. :mod:`doudi.scale.assess` runs :func:`doudi.policy.engine.evaluate_frames`,
:mod:`doudi.scale.monitor` runs :func:`doudi.monitoring.run.evaluate`, and :mod:`doudi.scale.linkage` runs
Splink with the linkage settings of :mod:`doudi.verification.linkage.model`, each on Spark partitions.
"""
