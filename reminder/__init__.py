"""reminder: keeps open-government offices on schedule with their task-allocation plans."""

__version__ = "0.1.0"
