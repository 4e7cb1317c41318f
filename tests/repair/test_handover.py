"""Handing a patch over (repair/present/handover.py): as it is when its files did not change, rebased and re-checked in a
sandbox when the person changed them elsewhere, refused when they changed its lines or the re-check fails. The
same policy serves the server (editor buffers) and `greenloop repair --apply` (files on disk)."""

from __future__ import annotations

import sys
from pathlib import Path

from repairkit import BUGGY, FIXED, PRICING, TARGETS

from greenloop import config
from greenloop.repair.present import handover
from greenloop.repair.records import FileEdit, Patch
from greenloop.repair.session import RepairSetup


def fix_of(root: Path) -> Patch:
    text = (root / PRICING).read_text()
    return Patch([FileEdit(root / PRICING, text, text.replace(BUGGY, FIXED))])


def setup_of(root: Path) -> RepairSetup:
    return RepairSetup(root, config.Settings(type_checker="off"), sys.executable)


async def test_a_patch_whose_files_did_not_change_is_handed_over_as_it_is(demo: Path) -> None:
    patch = fix_of(demo)
    assert await handover.fit(setup_of(demo), patch, TARGETS, handover.read_disk) is patch


async def test_a_patch_is_rebased_onto_changes_elsewhere_in_its_file_and_rechecked(demo: Path) -> None:
    patch = fix_of(demo)
    now = "# a note the person added meanwhile\n" + patch.edits[0].before

    fitted = await handover.fit(setup_of(demo), patch, TARGETS, lambda path: now)

    assert isinstance(fitted, Patch), fitted
    [edit] = fitted.edits
    assert (edit.before, edit.after) == (now, now.replace(BUGGY, FIXED))


async def test_a_patch_whose_lines_were_edited_is_refused(demo: Path) -> None:
    patch = fix_of(demo)
    now = patch.edits[0].before.replace(BUGGY, BUGGY.replace("10", "1_0"))

    assert await handover.fit(setup_of(demo), patch, TARGETS, lambda path: now) == \
        "the lines it changes were edited since the repair began"


async def test_a_rebased_patch_that_no_longer_makes_the_targets_pass_is_refused(demo: Path) -> None:
    """The person's change elsewhere breaks what the patch fixed: the re-check catches it before any edit."""
    patch = fix_of(demo)
    now = patch.edits[0].before.replace("return COUPONS.get(code.upper(), 0)", "return 2 * COUPONS.get(code.upper(), 0)")
    assert now != patch.edits[0].before

    reason = await handover.fit(setup_of(demo), patch, TARGETS, lambda path: now)

    assert isinstance(reason, str) and reason.startswith("with your latest changes the patch no longer makes"), reason
