"""A repair's patch as an LSP WorkspaceEdit: versioned text-document edits, optionally annotated so that clients
with refactor preview ask the user before applying (`needsConfirmation`)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from lsprotocol import types

from greenloop.lsp.convert import uri
from greenloop.repair.records import FileEdit, Patch

ANNOTATION = "greenloop-repair"


def _text_edits(edit: FileEdit, annotated: bool) -> list[types.TextEdit | types.AnnotatedTextEdit]:
    """One edit per changed block of whole lines (positions at column 0: encoding-independent)."""
    before, after = edit.before.splitlines(keepends=True), edit.after.splitlines(keepends=True)
    result: list[types.TextEdit | types.AnnotatedTextEdit] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        end = types.Position(line=i2, character=0)
        if i2 == len(before) and before and not before[-1].endswith("\n"):  # the last line has no newline
            end = types.Position(line=i2 - 1, character=len(before[-1]))
        span = types.Range(start=types.Position(line=i1, character=0), end=end)
        new_text = "".join(after[j1:j2])
        if annotated:
            result.append(types.AnnotatedTextEdit(range=span, new_text=new_text, annotation_id=ANNOTATION))
        else:
            result.append(types.TextEdit(range=span, new_text=new_text))
    return result


def workspace_edit(patch: Patch, versions: Mapping[str, int | None], annotate: bool,
                   description: str) -> types.WorkspaceEdit:
    changes = []
    for edit in patch.edits:
        document = uri(edit.path)
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=document, version=versions.get(document)),
            edits=_text_edits(edit, annotate),
        ))
    annotations = None
    if annotate:
        annotations = {ANNOTATION: types.ChangeAnnotation(label="greenloop repair", needs_confirmation=True,
                                                          description=description)}
    return types.WorkspaceEdit(document_changes=changes, change_annotations=annotations)
