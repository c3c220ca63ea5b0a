"""The project's error type for bad input: the CLI prints it as one line instead of a traceback."""


class InputError(Exception):
    """Bad input or configuration; the message names the file or key and says what to do."""


class ConfigError(InputError, ValueError):
    """An unknown config key, a wrong type, a missing value or an unreadable config file."""
