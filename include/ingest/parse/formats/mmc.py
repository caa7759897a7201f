"""MovieLabs Media Manifest Core (MMC): one record per Experience, with the tracks its presentations play."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from ingest.load.raw_tables import raw_table_ddl
from ingest.models import ParsedRecord, ParseOutcome, Rejected
from ingest.parse.formats import fields
from ingest.parse.formats.movielabs import (
    Converter,
    claims_eidr,
    each_record,
    eidr_columns,
    element_json,
    first,
    kids,
    record_hash,
    text_at,
    xml_document,
)
from ingest.parse.formats.safe_xml import local_name
from ingest.parse.formats.spec import FormatSpec

TRACK_KINDS = {"Audio": "AudioTrackID", "Video": "VideoTrackID", "Subtitle": "SubtitleTrackID"}

# Parsed columns of raw.mmc_manifests, in table order (the batch columns come first, added by the loader).
MMC_COLUMNS: tuple[str, ...] = (
    "manifest_id", "update_num", "spec_version", "profile", "experience_id", "experience_version", "content_id",
    "alids", "audiovisual_type", "audiovisual_subtype", "presentation_ids", "audio_languages", "subtitle_languages",
    "video_track_count", "metadata_location", "child_experiences", "eidr_id_provided", "eidr_id", "eidr_status",
    "eidr_invalid_reason", "record",
)  # fmt: skip


def parse_mmc_records(data: bytes, source_file: str, options: Mapping[str, Any] | None = None) -> list[ParseOutcome]:
    """The FormatSpec entry point: one outcome per Experience of a MediaManifest; never raises."""

    def read(root: Element) -> list[ParseOutcome]:
        if local_name(root.tag) != "MediaManifest":
            raise Rejected(f"not a Media Manifest: root element is <{local_name(root.tag)}>")
        experiences = [
            (experience, f"/MediaManifest/Experiences[1]/Experience[{n}]")
            for n, experience in enumerate(kids(first(root, "Experiences"), "Experience"), 1)
        ]
        if not experiences:
            raise Rejected("no Experience in the manifest", "/MediaManifest")
        manifest = _Manifest(root)
        return each_record(source_file, experiences, lambda e, location: manifest.record(e, source_file, location))

    return xml_document(data, source_file, read)


class _Manifest:
    """One parsed manifest: its inventory tracks and presentations by ID, to resolve what an Experience plays."""

    def __init__(self, root: Element):
        self.root = root
        self.json = element_json(root)
        inventory = first(root, "Inventory")
        self.tracks: dict[str, tuple[str, Element]] = {}
        self.metadata: dict[str, str | None] = {}
        if inventory is not None:
            for kind, id_attribute in TRACK_KINDS.items():
                for track in kids(inventory, kind):
                    if track_id := fields.text(track.attrib.get(id_attribute)):
                        self.tracks[track_id] = (kind, track)
            for metadata in kids(inventory, "Metadata"):
                if content_id := fields.text(metadata.attrib.get("ContentID")):
                    self.metadata[content_id] = text_at(metadata, "ContainerReference", "ContainerLocation")
        self.presentations = {
            presentation_id: presentation
            for presentation in kids(first(root, "Presentations"), "Presentation")
            if (presentation_id := fields.text(presentation.attrib.get("PresentationID")))
        }
        self.alids: dict[str, list[str]] = {}
        for mapping in kids(first(root, "ALIDExperienceMaps"), "ALIDExperienceMap"):
            alid = text_at(mapping, "ALID")
            for experience_id in (text_at(e) for e in kids(mapping, "ExperienceID")):
                if alid and experience_id:
                    self.alids.setdefault(experience_id, []).append(alid)

    def record(self, experience: Element, source_file: str, location: str) -> ParsedRecord:
        convert = Converter()
        experience_id = fields.text(experience.attrib.get("ExperienceID"))
        convert.require("ExperienceID", experience_id)
        audiovisuals = kids(experience, "Audiovisual")
        content_id = text_at(experience, "ContentID") or next(
            (cid for av in audiovisuals if (cid := fields.text(av.attrib.get("ContentID")))), None
        )
        presentation_ids = [pid for av in audiovisuals if (pid := text_at(av, "PresentationID"))]
        languages: dict[str, list[str]] = {"Audio": [], "Subtitle": []}
        video_tracks = 0
        for presentation_id in presentation_ids:
            presentation = self.presentations.get(presentation_id)
            if presentation is None:
                convert.errors.append(f"PresentationID {presentation_id!r} is not in Presentations")
                continue
            for track_id, wanted_kind in self._track_references(presentation):
                kind, track = self.tracks.get(track_id, (None, None))
                if track is None or kind != wanted_kind:
                    convert.errors.append(f"{wanted_kind} track {track_id!r} is not in the Inventory")
                elif kind == "Video":
                    video_tracks += 1
                elif (language := text_at(track, "Language")) and language not in languages[kind]:
                    languages[kind].append(language)
        update_num = fields.text(self.root.attrib.get("updateNum"))
        columns: dict[str, Any] = {
            "manifest_id": fields.text(self.root.attrib.get("ManifestID")),
            "update_num": convert("updateNum", update_num, fields.integer),
            "spec_version": text_at(self.root, "Compatibility", "SpecVersion"),
            "profile": text_at(self.root, "Compatibility", "Profile"),
            "experience_id": experience_id,
            "experience_version": fields.text(experience.attrib.get("version")),
            "content_id": content_id,
            "alids": self.alids.get(experience_id or "", []),
            "audiovisual_type": text_at(audiovisuals[0], "Type") if audiovisuals else None,
            "audiovisual_subtype": text_at(audiovisuals[0], "SubType") if audiovisuals else None,
            "presentation_ids": presentation_ids,
            "audio_languages": languages["Audio"],
            "subtitle_languages": languages["Subtitle"],
            "video_track_count": video_tracks,
            "metadata_location": self.metadata.get(content_id or ""),
            "child_experiences": [
                {"relationship": text_at(child, "Relationship"), "experience_id": text_at(child, "ExperienceID")}
                for child in kids(experience, "ExperienceChild")
            ],
            **eidr_columns(content_id if claims_eidr(content_id) else None),
        }
        convert.check()
        record = {"experience": element_json(experience), "manifest": self.json}
        columns["record"] = record
        return ParsedRecord(source_file, location, record_hash(record), columns)

    @staticmethod
    def _track_references(presentation: Element) -> list[tuple[str, str]]:
        references = []
        for metadata in kids(presentation, "TrackMetadata"):
            for kind in TRACK_KINDS:
                for reference in kids(metadata, f"{kind}TrackReference"):
                    for track_id in kids(reference, f"{kind}TrackID"):
                        if value := text_at(track_id):
                            references.append((value, kind))
        return references


DDL = raw_table_ddl(
    "mmc_manifests",
    """
    manifest_id text,
    update_num int,
    spec_version text,
    profile text,
    experience_id text not null,
    experience_version text,
    content_id text,
    alids jsonb not null,
    audiovisual_type text,
    audiovisual_subtype text,
    presentation_ids jsonb not null,
    audio_languages jsonb not null,
    subtitle_languages jsonb not null,
    video_track_count int not null,
    metadata_location text,
    child_experiences jsonb not null,
    eidr_id_provided text,
    eidr_id text,
    eidr_status text not null,
    eidr_invalid_reason text,
    record json not null
""",
)


FORMAT = FormatSpec("mmc", "mmc_manifests", MMC_COLUMNS, parse_mmc_records, DDL)
