"""Route modules, one per area: each defines ``router: APIRouter`` and is included automatically.

Put an area's pages in ``routes/<area>.py`` and its templates in ``templates/<area>/``; use the
dependencies of ``joinedup.web.deps``. Modules whose name starts with ``_`` are skipped.
"""
