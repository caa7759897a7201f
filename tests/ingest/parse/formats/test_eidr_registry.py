"""The eidr_registry format: CSV and XML bulk exports, bad rows quarantined with reasons, loading into raw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg2.extras import RealDictCursor

from ingest.load import warehouse
from ingest.models import Batch, BatchStats, ParsedRecord, Quarantined
from ingest.parse.formats import format_names, get_format
from ingest.parse.formats.eidr_registry import REGISTRY_COLUMNS, parse_registry_records

GHOSTBUSTERS = "10.5240/7EC7-228A-510A-053E-CBB8-J"
VEEP_EPISODE = "10.5240/5783-D070-78E6-3AC5-E892-W"
COUNSELOR = "10.5240/AD07-310C-C59D-6785-C63A-G"

HEADER = (
    "ID,ResourceName,AlternateResourceName,ReferentType,StructuralType,ReleaseDate,ApproximateLength,"
    "CountryOfOrigin,Directors,ParentID,SeasonNumber,EpisodeNumber,Status"
)
CSV = f"""{HEADER}
{GHOSTBUSTERS},Ghostbusters,S.O.S. Fantômes|Cazafantasmas,Movie,Abstraction,1984-06-08,PT1H45M,US,Ivan Reitman,,,,valid
urn:eidr:10.5240:ad07310cc59d6785c63ag,The Counselor,,Movie,Abstraction,2013,PT117M,US;GB,Ridley Scott,,,,valid
{VEEP_EPISODE},Thanksgiving,,Episode,Abstraction,2016-05-15,00:28:00,US,,{GHOSTBUSTERS},5,5,valid
10.5240/0344-992B-DF0A-21A5-8BF9-R,Bad Check,,Movie,Abstraction,2001,PT1H,US,,,,,valid
10.5240/B752-5B47-DBBE-E5D4-5A3F-N,,,Movie,Abstraction,2005-13-01,ninety,GB,,not-an-id,,x,valid
10.5240/FB0D-0A93-CAD6-8E8D-80C2-4,Gone with the Wind,,Movie
""".encode()

XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<Export xmlns="http://www.eidr.org/schema" xmlns:md="http://www.movielabs.com/schema/md/v2.1/md">
  <FullMetadata>
    <BaseObjectData>
      <ID>{GHOSTBUSTERS}</ID>
      <StructuralType>Abstraction</StructuralType>
      <ReferentType>Movie</ReferentType>
      <ResourceName lang="en" titleClass="release">Ghostbusters</ResourceName>
      <AlternateResourceName lang="fr">S.O.S. Fantômes</AlternateResourceName>
      <ReleaseDate>1984</ReleaseDate>
      <CountryOfOrigin>US</CountryOfOrigin>
      <Status>valid</Status>
      <ApproximateLength>PT1H45M</ApproximateLength>
      <Credits><Director><md:DisplayName>Ivan Reitman</md:DisplayName></Director></Credits>
    </BaseObjectData>
  </FullMetadata>
  <FullMetadata>
    <BaseObjectData>
      <ID>{VEEP_EPISODE}</ID>
      <StructuralType>Abstraction</StructuralType>
      <ReferentType>Episode</ReferentType>
      <ResourceName>Thanksgiving</ResourceName>
      <ReleaseDate>2016-05-15</ReleaseDate>
    </BaseObjectData>
    <ExtraObjectMetadata>
      <EpisodeInfo><Parent>{COUNSELOR}</Parent><SequenceInfo><md:DistributionNumber>5</md:DistributionNumber></SequenceInfo></EpisodeInfo>
    </ExtraObjectMetadata>
  </FullMetadata>
  <FullMetadata><BaseObjectData><ID>10.5240/E6CA-AB58-E298-7BA0-E574-A</ID><ResourceName>X</ResourceName></BaseObjectData></FullMetadata>
</Export>
""".encode()


def _split(outcomes: list) -> tuple[list[ParsedRecord], list[Quarantined]]:
    return [o for o in outcomes if isinstance(o, ParsedRecord)], [o for o in outcomes if isinstance(o, Quarantined)]


def test_format_is_registered() -> None:
    spec = get_format("eidr_registry")
    assert "eidr_registry" in format_names()
    assert (spec.table, spec.columns) == ("eidr_registry", REGISTRY_COLUMNS)


def test_csv_export_rows_become_records_in_canonical_form() -> None:
    records, quarantined = _split(parse_registry_records(CSV, "2026-11-01/registry.csv"))
    assert [r.columns["eidr_id"] for r in records] == [GHOSTBUSTERS, COUNSELOR, VEEP_EPISODE]
    ghost, counselor, episode = (r.columns for r in records)
    assert ghost["alternate_names"] == ["S.O.S. Fantômes", "Cazafantasmas"]
    assert (ghost["release_date"], ghost["release_year"], ghost["approximate_length_minutes"]) == (
        "1984-06-08",
        1984,
        105,
    )
    assert (counselor["release_date"], counselor["release_year"], counselor["approximate_length_minutes"]) == (
        None,
        2013,
        117,
    )
    assert (episode["parent_eidr_id"], episode["season_number"], episode["episode_number"]) == (GHOSTBUSTERS, 5, 5)
    assert episode["approximate_length_minutes"] == 28
    assert records[0].source_location == "2026-11-01/registry.csv:2"
    assert records[0].columns["record"]["ResourceName"] == "Ghostbusters"


def test_bad_csv_rows_are_quarantined_with_every_reason() -> None:
    _, quarantined = _split(parse_registry_records(CSV, "registry.csv"))
    reasons = {q.source_location: q.reason for q in quarantined}
    assert "check character should be Q" in reasons["registry.csv:5"]
    bad = reasons["registry.csv:6"]
    for part in ("no ResourceName", "bad ReleaseDate", "bad ApproximateLength", "bad ParentID", "bad EpisodeNumber"):
        assert part in bad
    assert "4 fields, the header has 13" in reasons["registry.csv:7"]
    assert all(q.raw_record for q in quarantined)


def test_xml_export_records() -> None:
    records, quarantined = _split(parse_registry_records(XML, "registry.xml"))
    ghost, episode = (r.columns for r in records)
    assert (ghost["eidr_id"], ghost["directors"], ghost["alternate_names"]) == (
        GHOSTBUSTERS, "Ivan Reitman", ["S.O.S. Fantômes"],
    )  # fmt: skip
    assert (episode["parent_eidr_id"], episode["episode_number"], episode["release_date"]) == (
        COUNSELOR,
        5,
        "2016-05-15",
    )
    [bad] = quarantined
    assert "check character should be V" in bad.reason and bad.source_location.endswith("FullMetadata[3]")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<Export><FullMetadata>", "malformed XML"),
        (b"", "empty CSV"),
        (b"Title,Year\nHeat,1995\n", "CSV header lacks ID"),
        (b"ID,Title,ProductionYear\n", "CSV header has unknown columns ['ProductionYear']"),
        (b"ID,Title,ResourceName\n", "CSV header gives ResourceName more than once"),
    ],
)
def test_broken_files_are_quarantined_never_raised(data: bytes, reason: str) -> None:
    [outcome] = parse_registry_records(data, "broken")
    assert isinstance(outcome, Quarantined) and reason in outcome.reason


@pytest.fixture()
def conn(warehouse_dsn: str) -> Any:
    connection = warehouse.connect(warehouse_dsn)
    warehouse.ensure_tables(connection, get_format("eidr_registry"))
    yield connection
    connection.rollback()
    with connection, connection.cursor() as cur:  # the pipeline tests match against raw.eidr_registry: leave it clean
        for table in ("eidr_registry", "ingest_batches", "quarantine"):
            cur.execute(f"delete from raw.{table} where provider_id = 'eidr_registry_test'")
    connection.close()


def test_loading_into_raw_keeps_columns_and_types(conn: Any) -> None:
    spec = get_format("eidr_registry")
    records, quarantined = _split(parse_registry_records(CSV, "registry.csv"))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    batch = Batch("eidr-reg-test-1", "eidr_registry_test", "eidr_registry", start, start + timedelta(days=1))
    stats = BatchStats(1, len(records) + len(quarantined), len(CSV), now, now)
    assert warehouse.replace_interval(conn, batch, spec, records, quarantined, stats) == (3, 3)
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'eidr_registry' order by ordinal_position"
        )
        assert tuple(r["column_name"] for r in cur.fetchall()) == warehouse.RECORD_META_COLUMNS + REGISTRY_COLUMNS
        cur.execute("select * from raw.eidr_registry where provider_id = 'eidr_registry_test' order by source_location")
        rows = cur.fetchall()
    conn.rollback()
    assert [r["eidr_id"] for r in rows] == [GHOSTBUSTERS, COUNSELOR, VEEP_EPISODE]
    assert rows[0]["alternate_names"] == ["S.O.S. Fantômes", "Cazafantasmas"]
    assert str(rows[0]["release_date"]) == "1984-06-08"
