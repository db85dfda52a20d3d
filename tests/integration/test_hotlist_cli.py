"""``accord hotlist``: import NCIC CSV and JSON, re-import, list, remove; no plate printed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import accord

PLATES = ("7QRS482", "8ABC123", "5NOC000")


def test_hotlist_import_list_and_remove(home: Path, tmp_path: Path) -> None:
    ncic = tmp_path / "ncic-2025-03-14.csv"
    ncic.write_text(
        "LIC,LIS,ORI,OCA,EXPIRY\n"
        f"{PLATES[0]},CA,CA0194200,24-00123,2099-12-31\n"
        f"{PLATES[0]},CA,CA0194200,24-00123,2099-12-31\n"
        f"{PLATES[1]},NV,,24-00999,2099-12-31T12:00:00Z\n"
        f"{PLATES[2]},CA,,,2099-12-31\n"
        f"{PLATES[2]},CA,,24-1,2001-01-01\n"
    )
    args = ["hotlist", "import", str(ncic), "--dir", str(home), "--id", "ncic-stolen"]
    defaults = ["--category", "stolen-vehicle", "--reason", "NCIC stolen vehicle file"]
    first = accord(*args, "--name", "NCIC stolen vehicles", "--source", "NCIC", *defaults)
    assert first.returncode == 0, first.stderr
    assert "hotlist ncic-stolen created" in first.stdout
    assert "2 entries stored, 1 already held, 2 skipped" in first.stdout
    assert "skipped row 5: no case number (in column 'OCA')" in first.stderr
    assert "skipped row 6: expired" in first.stderr
    again = accord(*args, *defaults)
    assert again.returncode == 0, again.stderr
    assert "0 entries stored, 3 already held, 2 skipped" in again.stdout

    wanted = tmp_path / "wanted.json"
    entry = {
        "plate": PLATES[2],
        "case_number": "24-7",
        "reason": "warrant",
        "category": "Felony Vehicle",
        "expires": "2099-01-01",
    }
    wanted.write_text(json.dumps({"entries": [entry, {"plate": PLATES[1]}]}))
    json_args = ["hotlist", "import", str(wanted), "--id", "wanted", "--name", "Wanted"]
    imported = accord(*json_args, "--dir", str(home))
    assert imported.returncode == 0, imported.stderr
    assert "1 entries stored, 0 already held, 1 skipped" in imported.stdout
    assert "skipped entry 2: no case number (in key case_number)" in imported.stderr

    listed = accord("hotlist", "list", "--dir", str(home))
    assert listed.returncode == 0, listed.stderr
    assert "ncic-stolen" in listed.stdout and "NCIC stolen vehicles" in listed.stdout
    assert "stolen-vehicle 2" in listed.stdout and "felony-vehicle 1" in listed.stdout
    for output in (first, again, imported, listed):
        for plate in PLATES:
            assert plate not in output.stdout + output.stderr

    bad = accord("hotlist", "import", str(ncic), "--dir", str(home), "--id", "x", "--map", "lic")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: column map item 'lic' is not key=column"
    removed = accord("hotlist", "remove", "ncic-stolen", "--dir", str(home))
    assert removed.returncode == 0, removed.stderr
    gone = accord("hotlist", "remove", "ncic-stolen", "--dir", str(home))
    assert (gone.returncode, gone.stderr.strip()) == (1, "error: no hotlist ncic-stolen")
    assert "ncic-stolen" not in accord("hotlist", "list", "--dir", str(home)).stdout

    # An Illinois node keeps entries of a category its law reserves, but says it will
    # never match or share them.
    illinois = tmp_path / "spd"
    init = ["--name", "springfield-pd", "--ori", "IL0160000", "--jurisdiction", "US-IL"]
    made = accord("node", "init", "--dir", str(illinois), *init, "--kind", "municipal")
    assert made.returncode == 0, made.stderr
    entry["category"] = "immigration-violator"
    wanted.write_text(json.dumps([entry]))
    reserved = accord(*json_args, "--dir", str(illinois))
    assert reserved.returncode == 0, reserved.stderr
    assert "1 entries stored" in reserved.stdout
    assert (
        "warning: legal profile us-il-2-130 excludes category immigration-violator "
        "(il-2-130-no-immigration-enforcement): its 1 entry is kept but never matched or shared"
    ) in reserved.stderr
    listed = accord("hotlist", "list", "--dir", str(illinois))
    assert "immigration-violator 1 (excluded by profile)" in listed.stdout
