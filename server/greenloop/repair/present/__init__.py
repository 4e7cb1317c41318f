"""Handing a finished repair to a person: the note, the fix awaiting their verdict, and the patch fitted to the
text as it is now."""
