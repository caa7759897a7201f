"""Every size limit on what providers send: files, records, fields, nesting, sheets, folders and API pages."""

from __future__ import annotations

# Files and records (every format and source)
MAX_FILE_BYTES = 20 * 1024 * 1024  # a delivered file or API page; a larger one is quarantined, never read whole
MAX_FIELD_CHARS = 64 * 1024  # one field in every format: an XML attribute or text, a CSV cell, a JSON string or key
MAX_RAW_RECORD_CHARS = 1024 * 1024  # what raw.quarantine keeps of a file or record's text
MAX_RECORDS_PER_FILE = 100_000  # CSV rows, JSON items or lines read from one file; the rest is one quarantine row

# Nesting
MAX_XML_DEPTH = 64  # MovieLabs documents (MEC, MMC, Avails): element levels
MAX_XML_NESTING = 256  # any XML document: element levels (a format may allow fewer, as MAX_XML_DEPTH)
MAX_XML_ELEMENTS = 250_000  # elements (tags) in one XML file, each costs memory as a tree node; more: quarantined
MAX_ASSET_DEPTH = 8  # ADI: Asset levels inside the package
MAX_JSON_DEPTH = 256  # JSON documents and items
MAX_JSON_CONTAINERS = 1_000_000  # objects and lists in one JSON file (each costs memory to build); more: quarantined

# JSON items
MAX_RAW_ITEM_CHARS = 100_000  # an item's delivered text kept as its record; a longer one is re-encoded

# CSV
MAX_CSV_COLUMNS = 1_000  # header columns; a wider file is one quarantine row (and its rows are not read)

# Spreadsheets (EMA Avails xlsx)
MAX_SHEET_ROWS = 50_000  # data rows read per sheet; the rest become one quarantine row saying so
MAX_SHEET_COLUMNS = 300
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # zip bombs: refuse a workbook that inflates beyond this
MAX_CELL_CHARS = 32_767  # Excel's own limit, below MAX_FIELD_CHARS; longer means a forged file

# Discovery
MAX_FOLDER_DEPTH = 12  # pick-by modified_time walks at most this many folder levels below the location
MAX_API_PAGES = 10_000  # default of --api-options max_pages
