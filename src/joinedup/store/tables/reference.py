"""Reference data: organisations (ODS-style codes) and the neighbourhoods they sit in."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from joinedup.store.tables.base import Base


class Organisation(Base):
    """An organisation that sends data or delivers care: a GP practice, trust, council, charity."""

    __tablename__ = "organisation"

    org_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # gp_practice | acute_trust | community_provider | local_authority | voluntary | coordination_centre
    kind: Mapped[str] = mapped_column(String(40), index=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(80))
    postcode: Mapped[str | None] = mapped_column(String(10))
    parent_org_code: Mapped[str | None] = mapped_column(String(12))


class SmallArea(Base):
    """A lower-layer super output area (LSOA) and its deprivation decile (IMD, 1 = most deprived)."""

    __tablename__ = "small_area"

    lsoa_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(120))
    imd_decile: Mapped[int] = mapped_column()
    neighbourhood: Mapped[str | None] = mapped_column(String(80))
