"""The genotel collector service: a FastAPI app that stores telemetry records per licence.

Importing this package is cheap (nothing heavy at the top) so that the client can share
`genotel.service.protocol`, the request-signing scheme, without pulling in the web framework.
`genotel.service.app.create_app(settings)` builds the app; `genotel serve` runs it on uvicorn.
"""
