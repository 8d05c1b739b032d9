"""joinedup: an open-source integrated care system.

Packages, left to right as data flows (see docs/architecture.md):
``feeds`` → ``identity`` → ``record`` → ``warehouse`` → ``risk`` → ``coordination``;
``governance`` wraps every read and write; ``web`` and ``cli`` are the edges.
"""

__version__ = "0.1.0"
