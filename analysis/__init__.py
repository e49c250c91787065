"""Analysis of saved sweep results: loading, comparisons, sensitivity, plots, reports, planning.

``analysis`` reads what ``reception sweep`` wrote (see ``analysis.load``); only the planner
(``analysis.plan``) runs the model, through ``sim.runner.simulate`` and
``sim.scenario.load_scenario``. Column names and methods: docs/analysis.md.
"""

from analysis.load import Results, ResultsError, load_runs, load_weekly, open_results

__all__ = ["Results", "ResultsError", "load_runs", "load_weekly", "open_results"]
