"""Status security and access to public services: what access without fear can change.

Seed 004 (Paquet and Thayaalan): Canadian access-without-fear policies open municipal
services to residents "without considering or collecting data on immigration status", but
"do not extend to police services and do not restrict federal immigration enforcement".
So the policy acts here through two named channels: it opens the city's share of public
services to non-status residents (access), and it removes the part of their insecurity
that is fear of contact with city services (safety). Fear of police contact goes only where
a city's policy covers police (``policies.awf_covers_police``, off by default); fear of
federal enforcement stays whatever the city does.
"""

from __future__ import annotations

from pydantic import model_validator

from sim.params_base import A, P, Strict

SEED004_POLICE = ("seed 004: Canadian sanctuary policies 'do not extend to police services and "
                  "do not restrict federal immigration enforcement'")


class Security(Strict):
    """Status security, a factor of the safety-and-acceptance target (1 = no fear)."""

    permanent: float = P(1.0, "0-1", A, "Security of permanent residents", ge=0, le=1)
    temporary: float = P(0.7, "0-1", A, "Security of asylum claimants and permit holders",
                         ge=0, le=1)
    non_status: float = P(0.5, "0-1", A, "Security of non-status people, no city policy",
                          ge=0, le=1)
    fear_city_services: float = P(
        0.3, "share", "seed 004: policies provide services 'without considering or collecting "
        "data on immigration status'; share an assumption",
        "Share of non-status people's lost security (1 - non_status) that is fear of contact "
        "with city services; access without fear removes it", ge=0, le=1)
    fear_police: float = P(
        0.4, "share", SEED004_POLICE + "; share an assumption",
        "Share of it that is fear of police contact; removed only where the policy covers "
        "police (the rest is federal enforcement, which no city policy removes)", ge=0, le=1)

    @model_validator(mode="after")
    def _shares(self) -> Security:
        if self.fear_city_services + self.fear_police > 1 + 1e-9:
            raise ValueError("fear_city_services + fear_police must be <= 1, found "
                             f"{self.fear_city_services + self.fear_police:.6g}")
        return self

    def non_status_with_policy(self, covers_police: bool) -> float:
        """Non-status security under access without fear."""
        removed = self.fear_city_services + (self.fear_police if covers_police else 0.0)
        return self.non_status + (1.0 - self.non_status) * removed


class PublicAccess(Strict):
    """Access to public services other than settlement services: the access target's base."""

    with_status: float = P(0.4, "0-1", A,
                           "Base of the access target for anyone with a legal status", ge=0, le=1)
    non_status_open: float = P(
        0.25, "share", "seed 004: non-status people are 'ineligible for federal or provincial "
        "support'; the share still open (emergency care, schools) is an assumption",
        "Share of those services open to non-status people without a city policy", ge=0, le=1)
    municipal_share: float = P(
        0.5, "share", "seed 004: the policies open municipal services; the city's share of "
        "public services is an assumption", "Share of those services the city runs, which "
        "access without fear opens to non-status people", ge=0, le=1)

    def non_status(self, awf: bool) -> float:
        """Base access of a non-status person, with or without access without fear."""
        return self.with_status * min(1.0, self.non_status_open + self.municipal_share * awf)
