"""The one exception type for problems a user can fix."""


class MlopsError(Exception):
    """A problem the user can fix (missing table, no champion yet, failed gate ...).

    The CLI prints these as one `error: ...` line instead of a traceback.
    """
