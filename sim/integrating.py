"""Process 6 of the week, integration: ageing, language and jobs, the city features they
and the integration dimensions' targets read, and the dimensions of any row now (a part of
``ReceptionModel``)."""

from __future__ import annotations

import numpy as np

from sim import kernels, response
from sim.codes import AGES
from sim.kernels import (
    MF_AWF,
    MF_AWF_POLICE,
    MF_LABOUR,
    MF_NETWORK,
    MF_SENTIMENT,
    MF_SHELTER_QUALITY,
    MF_WELCOMING,
    N_MF,
    PROC_AGEING,
    PROC_INTEGRATION,
)

NETWORK_SATURATION = 0.05  # assumption: a 5% newcomer share gives the full network effect
NETWORK_MAX = 0.3  # assumption: most a co-newcomer network adds to the networks target


class Integrating:
    """The model's integration step; mixed into ``ReceptionModel``, whose state it reads and
    writes (migrants, week_stats, tally, quality, dim_sums, targets_now)."""

    def integrate(self) -> None:
        """6. Ageing, language, employment and the five integration dimensions."""
        a = self.migrants
        aged = np.zeros(len(AGES), np.int64)
        kernels.step_ageing(a.age, a.housing, self._key(PROC_AGEING), self.ageing_p, aged)
        jobs = np.zeros((len(self.municipalities), 2), np.int64)
        features = self.city_features()
        kernels.step_integration(a.status, a.housing, a.muni, a.employment, a.skill, a.language,
                                 a.age, a.svc_state, self._key(PROC_INTEGRATION),
                                 self.integration_params, features, self.quality, self.by_age,
                                 jobs)
        self.week_stats.update(jobs=jobs, aged=aged)
        self.targets_now = kernels.target_tables(self.integration_params, features,
                                                 self.quality)

    def dimensions(self, rows: np.ndarray) -> np.ndarray:
        """float64[len(rows), N_DIM]: the integration dimensions of ``rows`` now (at the end
        of the last week stepped)."""
        return self.dim_sums.now(self.migrants.dim_columns(), rows, self.week - 1)

    def city_features(self) -> np.ndarray:
        """Per-city inputs of the integration step (columns ``kernels.MF_*``)."""
        features = self.settled_features(self.tally.present() * self.scale)
        occ = self.week_stats["occupancy"][:, 0]
        regular = np.minimum(occ, self.week_stats["beds"])
        features[:, MF_SHELTER_QUALITY] = response.quality_of_shelter(
            regular, self.week_stats["emergency_by_kind"], self.week_stats["overflow_occupancy"],
            self.scenario.response)
        return features

    def settled_features(self, present: np.ndarray) -> np.ndarray:
        """The city features with ``present`` newcomers (persons) and shelters of quality 1."""
        munis = self.municipalities
        labour, police, population = self.fixed("feature_constants", lambda: (
            np.array([m.params.labour_demand for m in munis], float),
            np.array([m.params.policies.awf_covers_police for m in munis], float),
            np.array([m.params.population for m in munis])))
        features = np.empty((len(munis), N_MF))
        features[:, MF_SHELTER_QUALITY] = 1.0
        features[:, MF_LABOUR] = labour
        share = present / population
        features[:, MF_NETWORK] = NETWORK_MAX * np.minimum(1.0, share / NETWORK_SATURATION)
        features[:, MF_SENTIMENT] = [m.sentiment for m in munis]
        features[:, MF_AWF] = self._policy_array("access_without_fear")
        features[:, MF_WELCOMING] = self._policy_array("welcoming_strategy")
        features[:, MF_AWF_POLICE] = police
        return features
