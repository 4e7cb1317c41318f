"""What a candidate patch must get through: the guards, the sandbox run, the screen, and the judge's verdict
against the baseline."""
