"""A Spark session for the batch jobs: local mode (``local[*]``, only Java needed) or a cluster master.

Under ``spark-submit`` the master and resources come from the submit command; ``--master`` overrides.
Only the jars that PySpark and Splink ship are used (``spark.jars.packages`` would need Maven).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING

from doudi.core import allocator
from doudi.core.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


POLARS_THREADS = "POLARS_MAX_THREADS"


def java_missing() -> bool:
    """True when no Java runtime can be found (Spark's JVM needs one)."""
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is None and not (home and os.path.exists(os.path.join(home, "bin", "java")))


def spark_session(master: str | None = None, *, app: str = "doudi", partitions: int = 8) -> SparkSession:
    """The active Spark session, or a new one (local[*] when no master is given and none is configured)."""
    if java_missing():
        raise ValidationFailed([FieldError(field="--engine", message=(
            "Spark 需要 Java 运行环境：请安装 default-jre-headless（make system-deps），或设置 JAVA_HOME"))])
    try:
        # Imported here: PySpark is an optional extra, loaded only by the Spark engine.
        from pyspark.sql import SparkSession
    except ImportError:
        raise ValidationFailed([FieldError(field="--engine", message=(
            "未安装 PySpark：请 pip install 'doudi[spark]'"))]) from None
    if (master or "local").startswith("local") and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Python workers in local mode run this interpreter (with the same packages), not the system python.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (SparkSession.builder.appName(app)
               .config("spark.sql.shuffle.partitions", str(partitions))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               # The Python workers run partition after partition: they keep freed memory a while, as a batch
               # command does (doudi.core.allocator).
               .config(f"spark.executorEnv.{allocator.VARIABLE}", allocator.BATCH_CONF)
               # A task is one core's work (spark.task.cpus is 1 unless set): its Polars runs one thread, not one
               # per core of the machine, or n tasks on n cores would run n² threads (10M households on local[2]:
               # CPU 114.6 s against 120.5 s). A POLARS_MAX_THREADS of the driver's is passed on instead.
               .config(f"spark.executorEnv.{POLARS_THREADS}", os.environ.get(POLARS_THREADS, "1")))
    try:
        # Imported here: only to find the similarity functions' jar that Splink ships (linkage on Spark).
        from splink.backends.spark import similarity_jar_location

        builder = builder.config("spark.jars", similarity_jar_location())
    except ImportError:
        pass
    if master:
        builder = builder.master(master)
    elif not os.environ.get("PYSPARK_GATEWAY_PORT"):  # set by spark-submit, which brings its own master
        builder = builder.master("local[*]")
    if (master or "local").startswith("local"):
        # Local mode keeps no catalog tables: its warehouse folder goes to the temporary directory, not here.
        warehouse = os.path.join(tempfile.gettempdir(), "doudi-spark-warehouse")
        builder = builder.config("spark.sql.warehouse.dir", warehouse)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
