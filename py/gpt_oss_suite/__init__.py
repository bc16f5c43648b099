"""gpt-oss fast-path suite: the Python core behind the shell scripts."""

__version__ = "0.1.0"
