"""The numba core: weekly processes 2 to 7 over the struct-of-arrays migrant state.

Every kernel is a pure function of its arguments (arrays, scalars and NamedTuples
of them): no globals, no Python objects, no hidden random state. It updates the
migrant columns it is given in place and writes its tallies into ``out`` arrays.

Randomness is counter-based: draw ``j`` of migrant ``i`` in a kernel is
``_uniform(key, i, j)``, a SplitMix64 hash of a per-(seed, week, process) ``key``.
Results therefore do not depend on iteration order, threads or executors, and
numba's own generator state is never used. Rare events visit only the rows a weekly
chance picks (``visits``), so a week does not cost a draw per row for them.

Hot loops are single functions over scalars and arrays on purpose: passing arrays to a
helper (inlined or not) or taking a row view (``arr[i]``) costs numba a reference count
per call, several times the work of a row (docs/performance.md).

One module per process (``status``, ``reception``, ``housing``, ``requests`` and ``services``,
``integration``, ``moves``, ``dims``, ``tallies``) over the shared random streams and blocks of rows
(``base``); every name is re-exported here, so callers write ``kernels.step_status``. Numba's
cache does not notice edits to jitted functions imported from another file (the helpers of
``base``), so importing this package first drops the package's numba cache whenever any of its
sources changed (``_drop_stale_cache``).

Work whose rows do not depend on each other runs on threads over fixed blocks of rows
(``sim.threads``): such a kernel is a Python function that runs a ``nogil`` numba
``_..._block(work, ...)`` once on each thread through ``_in_blocks``; each call takes blocks
(``next_block``) until none is left and runs ``_..._rows(lo, hi, ...)`` on each. Integer
tallies go to the thread's own part, float sums and listed rows by block, added up in block
order, so results are the same for any thread count. First come, first served stays
sequential, in row order (docs/performance.md section 10).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def _drop_stale_cache() -> None:
    """Delete this package's numba cache files if any source of the package changed since
    they were written (a digest of the sources is kept beside them). A read-only install
    keeps its cache as it is."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(here.glob("*.py"))))
    cache = here / "__pycache__"
    stamp = cache / "numba-sources.sha256"
    if stamp.is_file() and stamp.read_text() == digest.hexdigest():
        return
    try:
        for stale in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            stale.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass


_drop_stale_cache()

from sim.kernels.base import (
    _GAP_SLOT,
    _GOLDEN,
    _M1,
    _M2,
    _ODD,
    _S11,
    _S27,
    _S30,
    _S31,
    _TO_UNIT,
    NOTE_ROWS,
    PROC_AGEING,
    PROC_HOUSING,
    PROC_INTEGRATION,
    PROC_MOVES,
    PROC_RECEPTION,
    PROC_SERVICES,
    PROC_STATUS,
    _in_blocks,
    _listed,
    _mix,
    _served,
    _stream_key,
    _uniform,
    byte_is,
    next_block,
    noted_rows,
    row_words,
    stream_key,
    stream_keys,
    uniforms,
    visits,
    visits_between,
)
from sim.kernels.dims import (
    _HOUSED_BY_HOUSING,
    _JOB_LEVEL,
    _SAFETY_BY_HOUSING,
    CHUNK_SHIFT,
    KEY_FRESH,
    KEY_GONE,
    N_SUM,
    DimColumns,
    Settle,
    SettleOut,
    TargetTables,
    _ring_crossings,
    _weekly_dims_block,
    dims_now,
    kept_totals,
    settle_plan,
    settle_rows,
    situation_key,
    situation_of,
    take_changes,
    target_tables,
    targets,
    weekly_dims,
)
from sim.kernels.housing import (
    FirstStable,
    HousingParams,
    _household_income,
    _rent_needed,
    step_housing,
)
from sim.kernels.integration import (
    _PERMANENT,
    MF_AWF,
    MF_AWF_POLICE,
    MF_LABOUR,
    MF_NETWORK,
    MF_SENTIMENT,
    MF_SHELTER_QUALITY,
    MF_WELCOMING,
    N_MF,
    IntegrationParams,
    _integration_block,
    _job_chance_max,
    integration_tables,
    step_ageing,
    step_integration,
)
from sim.kernels.moves import (
    step_moves,
)
from sim.kernels.reception import (
    LossParams,
    _housing_losses,
    _place_seekers,
    _sleeping_block,
    step_reception,
)
from sim.kernels.requests import (
    _LAPSE_SLOT,
    _MATCH_SLOT,
    _REQUEST_SLOT,
    RequestParams,
    RequestsOut,
    _lapse_table,
    _requests_block,
)
from sim.kernels.services import (
    ServiceLists,
    _continuing,
    _funder_for,
    _open_pools,
    _pool_open,
    _serve_cities,
    _serve_waiting,
    _update_servable,
    agency_hours,
    city_groups,
    eligibility_classes,
    step_services,
)
from sim.kernels.status import (
    ClaimAcceptance,
    StatusParams,
    _decide_claims,
    _emigration,
    _status_block,
    claim_week,
    step_status,
)
from sim.kernels.tallies import (
    KeptCounts,
    TallyOut,
    TallyParams,
    _read_off,
    _tally_block,
    tally,
)
