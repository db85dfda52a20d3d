"""The cities of the demo federation.

ORIs have the NCIC shape (two letters, seven characters); endpoints are on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    name: str
    label: str
    ori: str
    jurisdiction: str
    kind: str


CITIES: tuple[City, ...] = (
    City("santa-monica-pd", "Santa Monica PD", "CA0194200", "US-CA", "municipal"),
    City("culver-city-pd", "Culver City PD", "CA0191600", "US-CA", "municipal"),
    City("los-angeles-pd", "Los Angeles PD", "CA0194100", "US-CA", "municipal"),
)

#: A federal agency that asks a California city for data: California SB 34 refuses it.
FEDERAL = City("fbi-los-angeles", "FBI Los Angeles field office", "CAFBILA00", "US-CA", "federal")
