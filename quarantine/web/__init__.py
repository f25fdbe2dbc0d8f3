"""HTTP service: FastAPI app factory, API routes and pages.

``create_app(settings)`` builds the app; nothing happens at import time.
"""

from quarantine.web.app import create_app

__all__ = ["create_app"]
