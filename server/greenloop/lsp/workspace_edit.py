"""A repair's patch as an LSP WorkspaceEdit.

Where the client supports `documentChanges`, every file's edits name the document version they were made for, so
the client refuses them over newer text; annotated, they make clients with refactor preview ask the user first
(`needsConfirmation`). A client without `documentChanges` gets plain `changes`, which carry no version: the
caller must have compared the text right before sending. Whatever the client answers, `repair.fix.landed` is how
the server tells whether the text now holds the patch (Neovim answers `applied: true` even when its user declines).
"""

from __future__ import annotations

from collections.abc import Mapping

from lsprotocol import types

from greenloop.lsp.convert import uri
from greenloop.repair.records import FileEdit, Patch

ANNOTATION = "greenloop-repair"


def _replacements(edit: FileEdit) -> list[tuple[types.Range, str]]:
    """(range, new text) per changed block of whole lines (positions at column 0: encoding-independent)."""
    before, after = edit.before.splitlines(keepends=True), edit.after.splitlines(keepends=True)
    result = []
    for i1, i2, j1, j2 in edit.blocks():
        end = types.Position(line=i2, character=0)
        if i2 == len(before) and before and not before[-1].endswith("\n"):  # the last line has no newline
            end = types.Position(line=i2 - 1, character=len(before[-1]))
        result.append((types.Range(start=types.Position(line=i1, character=0), end=end), "".join(after[j1:j2])))
    return result


def _text_edits(edit: FileEdit) -> list[types.TextEdit]:
    return [types.TextEdit(range=span, new_text=text) for span, text in _replacements(edit)]


def _document_edits(edit: FileEdit, annotated: bool) -> list[types.TextEdit | types.AnnotatedTextEdit]:
    if not annotated:
        return list(_text_edits(edit))
    return [types.AnnotatedTextEdit(range=span, new_text=text, annotation_id=ANNOTATION)
            for span, text in _replacements(edit)]


def workspace_edit(patch: Patch, versions: Mapping[str, int | None], annotate: bool, description: str,
                   versioned: bool = True) -> types.WorkspaceEdit:
    """The patch as one WorkspaceEdit: versioned `documentChanges` (annotated if asked), or, for a client without
    `documentChanges` (`versioned=False`), plain `changes`, which can carry neither versions nor annotations."""
    if not versioned:
        return types.WorkspaceEdit(changes={uri(e.path): _text_edits(e) for e in patch.edits})
    changes = []
    for edit in patch.edits:
        document = uri(edit.path)
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=document, version=versions.get(document)),
            edits=_document_edits(edit, annotate),
        ))
    annotations = None
    if annotate:
        annotations = {ANNOTATION: types.ChangeAnnotation(label="greenloop repair", needs_confirmation=True,
                                                          description=description)}
    return types.WorkspaceEdit(document_changes=changes, change_annotations=annotations)
