"""The command line's exit statuses, one definition for every command (check, repair, bench...).

0: everything passes (or a repair went green, or had nothing to do); 1: a test or type check fails, or a repair
did not go green; 2: greenloop could not do what was asked (no such path, a bad flag, no interpreter).
"""

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
