"""The one exception type a user is meant to see.

The command line prints a ``ChainruleError`` as a single line and exits with status 2; anything else
is a bug. Messages name what the user gave and what was expected.
"""


class ChainruleError(ValueError):
    """Bad input from the user: a shape, a value, a file, a flag."""
