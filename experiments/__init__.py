"""Experiments: parameter sweeps, sensitivity designs and scenario comparisons of ``sim``.

An experiment file (``experiments/*.toml``, see docs/sweeps.md) names a base scenario, a
design and replicates; ``reception sweep EXP.toml`` (or ``python -m experiments sweep``) runs
it on this machine, in this process, or on a dask cluster, and writes a Parquet dataset.
"""

from experiments.design import Plan, load_plan, run_seed
from experiments.schema import ExperimentError

# the driver is ``experiments.sweep.sweep`` (not re-exported: the name is its module's)
__all__ = ["ExperimentError", "Plan", "load_plan", "run_seed"]
