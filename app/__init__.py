"""The classroom and planner app: an interactive Mesa/Solara front end to ``sim``.

``app.model`` builds the model from a bundled preset, levers (``app.crisis``: the crisis
response's), city overrides and mid-run changes, ``app.words`` says settings and events in
plain words; ``app.lessons`` are the guided comparisons, ``app.outcomes`` what they measure;
``app.views`` and ``app.charts`` draw a model, ``app.compare`` and ``app.replicates``
compare two, ``app.export`` writes runs and settings, ``app.components`` and ``app.page``
are the page (``solara run app/page.py``), ``app.cli`` the ``reception app`` command and
``app.assets`` fetches Solara's browser files from the npm registry. See docs/app.md.
"""

import warnings

# UserWarnings that say nothing to a teacher, filtered out of the server's terminal:
QUIET = (
    # Mesa 3.3's own ComponentsView trips Solara's hook check when mesa.visualization is
    # imported; the warning is about Mesa's code, not this app's.
    ".*ComponentsView: `use_state` found despite",
    # Solara's, once per page load over http at 127.0.0.1: about embedding in iframes.
    "Cookies with samesite=none require https",
)


def quiet_warnings() -> None:
    """Ignore the ``QUIET`` warnings (and only those)."""
    for message in QUIET:
        warnings.filterwarnings("ignore", message=message, category=UserWarning)


quiet_warnings()

# The scenario file ``reception app FILE.toml`` was started with, passed to the Solara server
# process (app.cli sets it; app.model and app.page read it).
SCENARIO_ENV = "RECEPTION_APP_SCENARIO"
