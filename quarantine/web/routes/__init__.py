"""API routes and pages (thin: parse, call a service, shape the answer)."""
